// A seeded randomized test of cancellation (API.md §1 "Cancellation", "Task groups"): random
// trees of nested scopes, task groups and tasks, parked at leaves; then random cancels,
// deadlines, task cancels and shield changes. A small reference model says which leaves must
// see Cancelled (with which source and reason), whether a second checkpoint raises again
// (level-triggered), which scope absorbs each Cancelled (cancelledCaught on exactly those),
// and which tasks end "cancelled".
//
// Determinism: every operation is applied while all leaves are parked, either synchronously
// (a deadline op sets the deadline to currentTime(), which cancels at once), or — in "timer"
// mode — as deadlines all set to the same instant D, which the run's one deadline queue fires
// in one batch before the controller's own sleepUntil(D) wakes. Each case runs on a MockClock
// with autojump, so D arrives as soon as everything is parked, and no real stall can make a
// deadline fire early; waitAllTasksBlocked() tells when the cancelled leaves have finished.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CancelScope,
  checkpoint,
  currentTime,
  isCancelled,
  run,
  sleepUntil,
  wait,
  withTaskGroup,
  type Cancelled,
  type Task,
  type TaskGroup,
} from "../../src/index.js";
import { MockClock, waitAllTasksBlocked } from "../../src/testing/index.js";

const SEED = 42;
const NUM_RUNS = 150;

// ---- the shape of a test case ----------------------------------------------------------

type Shape =
  | { readonly kind: "leaf" }
  | { readonly kind: "scope"; readonly shield: boolean; readonly child: Shape }
  | { readonly kind: "group"; readonly body: Shape; readonly tasks: readonly Shape[] };

type OpKind = "cancel" | "deadline" | "shieldOn" | "shieldOff";
interface Op {
  readonly kind: OpKind;
  readonly target: number;
}

const shapeArb: fc.Arbitrary<Shape> = fc.letrec<{ shape: Shape }>((tie) => ({
  shape: fc.oneof(
    { maxDepth: 5, depthIdentifier: "tree" },
    fc.constant({ kind: "leaf" } as const),
    fc.record({ kind: fc.constant("scope" as const), shield: fc.boolean(), child: tie("shape") }),
    fc.record({
      kind: fc.constant("group" as const),
      body: tie("shape"),
      tasks: fc.array(tie("shape"), { maxLength: 3, depthIdentifier: "tree" }),
    }),
  ),
})).shape;

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom<OpKind>("cancel", "cancel", "deadline", "shieldOn", "shieldOff"),
  target: fc.nat({ max: 1000 }),
});

const caseArb = fc.record({
  shape: shapeArb,
  ops: fc.array(opArb, { minLength: 1, maxLength: 6 }),
  timer: fc.boolean(),
});

// ---- the model -------------------------------------------------------------------------

/** A "scope-like" place of the tree: a user scope, a group's scope, or a task's root scope. */
interface Place {
  readonly id: number;
  readonly kind: "scope" | "group" | "task";
  readonly parent: Place | undefined;
  shield: boolean;
  cancelCalled: boolean;
  source: string | undefined;
  reason: unknown;
  /** Model results. */
  caught: boolean;
  taskCancelled: boolean;
}

interface Leaf {
  readonly id: number;
  readonly place: Place;
  /** Model results. */
  cancelled: boolean;
  source: string | undefined;
  reason: unknown;
}

function cause(p: Place): Place | null {
  if (!p.shield && p.parent !== undefined) {
    const up = cause(p.parent);
    if (up !== null) return up;
  }
  return p.cancelCalled ? p : null;
}

/** Applies one cancel to the model, then delivers it to every parked leaf it now reaches. */
function modelCancel(p: Place, source: string, reason: unknown, leaves: Leaf[]): void {
  if (p.cancelCalled) return;
  p.cancelCalled = true;
  p.source = source;
  p.reason = reason;
  deliver(leaves);
}

function deliver(leaves: Leaf[]): void {
  for (const leaf of leaves) {
    if (leaf.cancelled) continue;
    const c = cause(leaf.place);
    if (c === null) continue;
    leaf.cancelled = true;
    leaf.source = c.source;
    leaf.reason = c.reason;
  }
}

/** Follows a leaf's Cancelled outward, in the final state, to the place that absorbs it. */
function propagate(leaf: Leaf): void {
  let x: Place | undefined = leaf.place;
  while (x !== undefined) {
    const c = cause(x);
    if (x.kind === "task") {
      x.taskCancelled = true;
      // A task's own cancel ends it quietly; a task whose context is not cancelled any more
      // ends "cancelled" and its group is not told; otherwise the group passes it on.
      if (c === x || c === null) return;
      x = x.parent;
      continue;
    }
    if (c === x) {
      x.caught = true;
      return;
    }
    x = x.parent;
  }
}

// ---- building and running a case -------------------------------------------------------

interface Built {
  places: Place[];
  leaves: Leaf[];
  /** Runtime handles, by place id. */
  scopes: Map<number, CancelScope>;
  groups: Map<number, TaskGroup>;
  tasks: Map<number, Task<unknown>>;
  exec: () => Promise<void>;
  treePlace: Place;
}

interface LeafRun {
  release: () => void;
  promise: Promise<void>;
  outcome: "pending" | "released" | "cancelled" | "error";
  error: unknown;
  recheck: "none" | "raised" | "passed";
}

function build(shape: Shape): Built & { leafRuns: LeafRun[]; allParked: Promise<void> } {
  const places: Place[] = [];
  const leaves: Leaf[] = [];
  const leafRuns: LeafRun[] = [];
  const scopes = new Map<number, CancelScope>();
  const groups = new Map<number, TaskGroup>();
  const tasks = new Map<number, Task<unknown>>();
  let parked = 0;
  let allParkedResolve!: () => void;
  const allParked = new Promise<void>((resolve) => (allParkedResolve = resolve));

  const place = (kind: Place["kind"], parent: Place | undefined, shield = false): Place => {
    const p: Place = { id: places.length, kind, parent, shield, cancelCalled: false, source: undefined, reason: undefined, caught: false, taskCancelled: false };
    places.push(p);
    return p;
  };

  // Compiles a shape into a function that runs it, creating the model's places as it goes.
  const compile = (s: Shape, at: Place): (() => Promise<void>) => {
    if (s.kind === "leaf") {
      const leaf: Leaf = { id: leaves.length, place: at, cancelled: false, source: undefined, reason: undefined };
      leaves.push(leaf);
      let release!: () => void;
      const promise = new Promise<void>((resolve) => (release = resolve));
      const lr: LeafRun = { release, promise, outcome: "pending", error: undefined, recheck: "none" };
      leafRuns.push(lr);
      return async () => {
        if (++parked === leafRuns.length) allParkedResolve();
        try {
          await wait(lr.promise);
          lr.outcome = "released";
        } catch (err) {
          lr.outcome = isCancelled(err) ? "cancelled" : "error";
          lr.error = err;
          try {
            await checkpoint();
            lr.recheck = "passed";
          } catch (again) {
            lr.recheck = isCancelled(again) ? "raised" : "passed";
          }
          throw err;
        }
      };
    }
    if (s.kind === "scope") {
      const p = place("scope", at, s.shield);
      const scope = new CancelScope({ shield: s.shield });
      scopes.set(p.id, scope);
      const child = compile(s.child, p);
      return async () => {
        await scope.run(child);
      };
    }
    const g = place("group", at);
    const body = compile(s.body, g);
    const children = s.tasks.map((t) => {
      const tp = place("task", g);
      return { tp, fn: compile(t, tp) };
    });
    return async () => {
      await withTaskGroup(async (tg) => {
        groups.set(g.id, tg);
        for (const { tp, fn } of children) tasks.set(tp.id, tg.spawn(fn));
        await body();
      });
    };
  };

  const treePlace = place("task", undefined);
  const exec = compile(shape, treePlace);
  return { places, leaves, leafRuns, scopes, groups, tasks, exec, treePlace, allParked };
}

function describeShape(s: Shape): string {
  if (s.kind === "leaf") return "leaf";
  if (s.kind === "scope") return `scope${s.shield ? "[shield]" : ""}(${describeShape(s.child)})`;
  return `group(body: ${describeShape(s.body)}${s.tasks.map((t) => `, task: ${describeShape(t)}`).join("")})`;
}

/** Runs one case and checks it against the model; returns false if the case had to be discarded. */
async function checkCase(c: { shape: Shape; ops: Op[]; timer: boolean }): Promise<boolean> {
  let discarded = false;
  const b = build(c.shape);
  const { places, leaves, leafRuns } = b;
  const scopeOf = (p: Place): CancelScope | undefined => b.scopes.get(p.id) ?? b.groups.get(p.id)?.cancelScope;

  await run(
    async () => {
      await withTaskGroup(async (top) => {
        b.tasks.set(b.treePlace.id, top.spawn(b.exec));
        await wait(b.allParked);

        const shieldable = places.filter((p) => p.kind !== "task");
        const isShieldOp = (op: Op) => op.kind === "shieldOn" || op.kind === "shieldOff";
        const applyShield = (op: Op) => {
          const p = shieldable[op.target % shieldable.length];
          if (p === undefined) return;
          const value = op.kind === "shieldOn";
          scopeOf(p)!.shield = value;
          p.shield = value;
          deliver(leaves);
        };
        if (!c.timer) {
          c.ops.forEach((op, k) => {
            if (isShieldOp(op)) return applyShield(op);
            const p = places[op.target % places.length]!;
            const reason = `op${k}`;
            if (op.kind === "deadline" && p.kind !== "task") {
              scopeOf(p)!.deadline = currentTime(); // reached at once: cancels now
              modelCancel(p, "deadline", "deadline exceeded", leaves);
            } else {
              if (p.kind === "task") b.tasks.get(p.id)!.cancel(reason);
              else scopeOf(p)!.cancel(reason);
              modelCancel(p, "explicit", reason, leaves);
            }
          });
        } else {
          // Shield changes first, then every cancel becomes the same deadline D on a user or
          // group scope; they fire in one batch, before the controller's sleepUntil(D).
          c.ops.filter(isShieldOp).forEach(applyShield);
          const deadline = currentTime() + 10;
          let anyTimer = false;
          for (const op of c.ops) {
            if (isShieldOp(op)) continue;
            const p = shieldable[op.target % shieldable.length];
            if (p === undefined) continue;
            scopeOf(p)!.deadline = deadline;
            modelCancel(p, "deadline", "deadline exceeded", leaves);
            anyTimer = true;
          }
          // Had time moved while setting them, some would fire early, one by one, instead of in
          // one batch: such a case would prove nothing and is discarded (virtual time stands
          // still while the controller runs, so this does not happen).
          if (currentTime() >= deadline) discarded = true;
          if (anyTimer) await sleepUntil(deadline);
        }
        // Let the cancelled leaves run their handlers, then release the others.
        await waitAllTasksBlocked();
        for (const lr of leafRuns) lr.release();
      });
    },
    { handleSignals: false, clock: new MockClock({ autojumpThreshold: 0 }) },
  );

  if (discarded) return false;
  for (const leaf of leaves) if (leaf.cancelled) propagate(leaf);

  const where = `case ${describeShape(c.shape)}; ops ${JSON.stringify(c.ops)}; timer ${c.timer}`;
  for (const leaf of leaves) {
    const lr = leafRuns[leaf.id]!;
    assert.equal(lr.outcome, leaf.cancelled ? "cancelled" : "released", `leaf ${leaf.id} outcome; ${where}`);
    if (!leaf.cancelled) continue;
    const err = lr.error as Cancelled;
    assert.equal(err.source, leaf.source, `leaf ${leaf.id} source; ${where}`);
    assert.equal(err.reason, leaf.reason, `leaf ${leaf.id} reason; ${where}`);
    const stillCancelled = cause(leaf.place) !== null;
    assert.equal(lr.recheck, stillCancelled ? "raised" : "passed", `leaf ${leaf.id} second checkpoint; ${where}`);
  }
  for (const p of places) {
    if (p.kind === "task") {
      const state = b.tasks.get(p.id)!.state;
      assert.equal(state, p.taskCancelled ? "cancelled" : "done", `task place ${p.id} state; ${where}`);
      continue;
    }
    const scope = scopeOf(p)!;
    assert.equal(scope.cancelCalled, p.cancelCalled, `place ${p.id} (${p.kind}) cancelCalled; ${where}`);
    assert.equal(scope.cancelledCaught, p.caught, `place ${p.id} (${p.kind}) cancelledCaught; ${where}`);
  }
  return true;
}

test("random trees of scopes, groups and tasks are cancelled exactly as the reference model says", { timeout: 60_000 }, async (t) => {
  t.diagnostic(`fast-check seed ${SEED}, ${NUM_RUNS} runs`);
  console.log(`scope-model: fast-check seed ${SEED}, ${NUM_RUNS} runs`);
  const property = fc.asyncProperty(caseArb, async (c) => {
    let kept: boolean;
    try {
      kept = await checkCase(c);
    } catch (err) {
      // node:test shows only fast-check's summary; the model's complaint is worth seeing too.
      console.error(`scope-model: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
    fc.pre(kept);
  });
  await fc.assert(property, { seed: SEED, numRuns: NUM_RUNS });
});

test("the reference model agrees with hand-written cases", async () => {
  // outer(scope) > inner(scope, shielded) > leaf; cancel outer: nothing reaches the leaf.
  const shielded: Shape = { kind: "scope", shield: false, child: { kind: "scope", shield: true, child: { kind: "leaf" } } };
  await checkCase({ shape: shielded, ops: [{ kind: "cancel", target: 1 }], timer: false });
  // the same, then the shield is removed: the leaf is cancelled, the outer scope absorbs.
  await checkCase({
    shape: shielded,
    ops: [
      { kind: "cancel", target: 1 },
      { kind: "shieldOff", target: 1 },
    ],
    timer: false,
  });
  // a group with a task; cancel the task alone: the group absorbs nothing.
  const group: Shape = { kind: "group", body: { kind: "leaf" }, tasks: [{ kind: "leaf" }] };
  await checkCase({ shape: group, ops: [{ kind: "cancel", target: 2 }], timer: false });
  // a deadline (through the run's deadline queue) on the group's scope.
  await checkCase({ shape: group, ops: [{ kind: "deadline", target: 0 }], timer: true });
});
