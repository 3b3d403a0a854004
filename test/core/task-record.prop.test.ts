// The task record's shortcuts (issue 10), each against a model, in random seeded programs:
// - core/flags.ts: a task's state, its root scope's phase, shield and cancel bits, and the count
//   of its parked waits share one int; floating waits (parked and woken in any order, also after
//   the task ended) never disturb the other bits;
// - a task reads its spawner from its owner (TaskOwner.spawner) unless it records its own: the
//   parent is always the task that called spawn()/start(), whichever group it spawned into;
// - a task's details share the slot of its body and outcome: details made before the body
//   starts, while it runs or after it ended keep the body, the value and the error;
// - checkpoints are counted only once a task's count has been read (countCheckpoint): every
//   comparison of two reads sees exactly the checkpoints passed between them.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CancelScope, checkpoint, isCancelled, run, withTaskGroup, type TaskGroup } from "../../src/index.js";
import { assertCheckpoints } from "../../src/testing/index.js";
import { checkpointsPassed, currentTaskImpl, park, wake, type AnyParked, type TaskImpl } from "../../src/core/index.js";

const SEED = 1010;

/** One step of a task's body. */
type Op =
  | { kind: "park"; n: number } // n floating waits (parked, not awaited)
  | { kind: "wake"; n: number } // wakes n of the task's floating waits
  | { kind: "checkpoint" }
  | { kind: "shield"; on: boolean } // toggles the shield of an inner scope
  | { kind: "details" }; // makes the task's details while it runs

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("park" as const), n: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant("wake" as const), n: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant("checkpoint" as const) }),
  fc.record({ kind: fc.constant("shield" as const), on: fc.boolean() }),
  fc.record({ kind: fc.constant("details" as const) }),
);

interface TaskPlan {
  ops: Op[];
  end: "return" | "throw" | "cancel";
  /** Cancel the task before its body starts (its details are made while the slot holds the body). */
  cancelEarly: boolean;
  /** Floating waits left to wake after the group has ended. */
  wakeLate: boolean;
}

const taskPlan: fc.Arbitrary<TaskPlan> = fc.record({
  ops: fc.array(op, { maxLength: 8 }),
  end: fc.constantFrom("return" as const, "throw" as const, "cancel" as const),
  cancelEarly: fc.boolean(),
  wakeLate: fc.boolean(),
});

test("a task's state, scope bits and park count share one int without disturbing each other; its details keep its body and outcome", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(taskPlan, { minLength: 1, maxLength: 5 }), async (plans) => {
      const left: AnyParked[][] = [];
      const handles: TaskImpl<unknown>[] = [];
      await run(async () => {
        await withTaskGroup(async (tg) => {
          plans.forEach((plan, i) => {
            const floating: AnyParked[] = [];
            left.push(floating);
            const task = tg.spawn(async () => {
              const self = currentTaskImpl()!;
              assert.equal(self, task, "the body runs as its task");
              assert.equal(self.body, undefined, "the slot no longer holds the body once it runs");
              const inner = new CancelScope();
              await inner.run(async () => {
                let shield = false;
                for (const step of plan.ops) {
                  if (step.kind === "park") {
                    for (let k = 0; k < step.n; k++) void park<void>("floating", (p) => void floating.push(p), false).catch(() => {});
                  } else if (step.kind === "wake") {
                    for (let k = 0; k < step.n && floating.length > 0; k++) wake(floating.shift()!, undefined);
                  } else if (step.kind === "checkpoint") {
                    await checkpoint().catch((err: unknown) => {
                      if (!isCancelled(err)) throw err;
                    });
                  } else if (step.kind === "shield") {
                    inner.shield = shield = step.on;
                  } else {
                    self.attemptHooks = self.attemptHooks; // the details are made now
                  }
                  assert.equal(self.parks, floating.length, "the park count is the number of waits left");
                  assert.equal(self.state, "running");
                  assert.equal(inner.shield, shield, "the shield bit survives the park count");
                  assert.equal(inner.cancelCalled, false);
                }
              });
              if (plan.end === "throw") throw new Error(`task ${i}`);
              if (plan.end === "cancel") {
                self.cancel();
                await checkpoint();
              }
              return i;
            }, { name: `t${i}` }) as TaskImpl<unknown>;
            handles.push(task);
            assert.notEqual(task.body, undefined, "until it starts, the slot holds the body");
            // Details made while the slot holds the body: the body still runs (and sees Cancelled).
            if (plan.cancelEarly) task.cancel("early");
          });
        }).catch(() => {}); // the failures are checked below, task by task
      });
      plans.forEach((plan, i) => {
        const task = handles[i]!;
        const floating = left[i]!;
        // Every body catches the Cancelled of its checkpoints, so it ends as its plan says,
        // whether it, its group or nobody was cancelled.
        const expected = plan.end === "return" ? "done" : plan.end === "throw" ? "failed" : "cancelled";
        assert.equal(task.state, expected, `task ${i}`);
        assert.equal(task.parks, 0, "a task that ended counts no parked wait");
        if (task.state === "done") {
          assert.equal(task.value, i);
          assert.equal(task.error, undefined);
        } else {
          assert.equal(task.value, undefined);
          if (task.state === "failed") assert.equal((task.error as Error).message, `task ${i}`);
          else assert.ok(isCancelled(task.error));
        }
        assert.equal(task.body, undefined);
        // Waits woken after the end leave the state and the count alone.
        const state = task.state;
        if (plan.wakeLate) while (floating.length > 0) wake(floating.shift()!, undefined);
        assert.equal(task.state, state);
        assert.equal(task.parks, 0);
      });
    }),
    { seed: SEED, numRuns: 60 },
  );
});

/** A spawn tree: each node is spawned by its parent task into the group of one of its ancestors. */
interface Node {
  /** How many levels up the group spawned into is (0: the parent's own group). */
  up: number;
  /** tg.start instead of tg.spawn. */
  start: boolean;
  children: Node[];
}

const nodeOfDepth: fc.Memo<Node> = fc.memo((depth) =>
  fc.record({
    up: fc.nat(3),
    start: fc.boolean(),
    children: depth <= 1 ? fc.constant([]) : fc.array(nodeOfDepth(depth - 1), { maxLength: 3 }),
  }),
);
const node = nodeOfDepth(4);

test("a task's parent is the task that spawned or started it, whichever group it went into", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(node, { minLength: 1, maxLength: 4 }), async (roots) => {
      const seen: [TaskImpl<unknown>, TaskImpl<unknown> | undefined][] = [];
      await run(async () => {
        // Each task opens a group for its own children; `groups` are the groups around it, from the top.
        const runNode = async (n: Node, groups: TaskGroup[]): Promise<void> => {
          await withTaskGroup(async (own) => {
            const chain = [...groups, own];
            for (const child of n.children) {
              // The child lives in `target`: the groups open as long as it runs are those up to it.
              const at = Math.max(0, chain.length - 1 - child.up);
              const target = chain[at]!;
              const open = chain.slice(0, at + 1);
              const spawner = currentTaskImpl();
              if (child.start) {
                await target.start(async (status) => {
                  seen.push([currentTaskImpl()!, spawner]);
                  status.started();
                  await runNode(child, open);
                });
              } else {
                const t = target.spawn(() => runNode(child, open)) as TaskImpl<unknown>;
                seen.push([t, spawner]);
              }
            }
          });
        };
        await withTaskGroup(async (top) => {
          for (const r of roots) {
            const spawner = currentTaskImpl();
            const t = top.spawn(() => runNode(r, [top])) as TaskImpl<unknown>;
            seen.push([t, spawner]);
          }
        });
      });
      for (const [task, spawner] of seen) assert.equal(task.parent, spawner, `parent of task "${task.name}" #${task.id}`);
    }),
    { seed: SEED, numRuns: 80 },
  );
});

test("checkpoints are counted from the first read of a task's count: every later comparison is exact", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.oneof(fc.constant("checkpoint" as const), fc.constant("read" as const), fc.constant("assert" as const)), { maxLength: 30 }),
      fc.nat(3),
      async (steps, siblings) => {
        await run(() =>
          withTaskGroup(async (tg) => {
            // Siblings pass checkpoints meanwhile: they must not count for the task under test.
            for (let s = 0; s < siblings; s++) tg.spawn(async () => { for (let k = 0; k < 20; k++) await checkpoint(); });
            tg.spawn(async () => {
              let last: number | undefined;
              let since = 0;
              for (const step of steps) {
                if (step === "checkpoint") {
                  await checkpoint();
                  since++;
                } else if (step === "assert") {
                  await assertCheckpoints(() => checkpoint());
                  since++;
                } else {
                  const now = checkpointsPassed();
                  if (last !== undefined) assert.equal(now - last, since, "the checkpoints between two reads");
                  last = now;
                  since = 0;
                }
              }
            });
          }),
        );
      },
    ),
    { seed: SEED, numRuns: 100 },
  );
});
