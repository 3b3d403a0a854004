// tg.spawn(fn, { limiter }): tasks that belong to their group from spawn on, and start only
// once they hold a token of a CapacityLimiter (src/core/limited-spawn.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import {
  CapacityLimiter,
  ClosedResourceError,
  Event,
  isCancelled,
  RuntimeError,
  run,
  Semaphore,
  TaskGroupError,
  withSupervisor,
  withTaskGroup,
  currentTask,
  type Task,
  type TaskGroup,
} from "../../src/index.js";
import { formatTaskTree, taskTree } from "../../src/debug/index.js";
import { thrown } from "../support/thrown.js";
import { assertNoTimersLeft, settle } from "../support/tasks.js";
import { mulberry32 } from "../support/prng.js";

test("`limiter` must be a CapacityLimiter; null and undefined mean not given", async () => {
  await run(() =>
    withTaskGroup(async (tg) => {
      for (const bad of [5, "limiter", {}, new Semaphore(2), { totalTokens: 1, borrowedTokens: 0 }]) {
        assert.throws(() => tg.spawn(() => {}, { limiter: bad as never }), {
          name: "TypeError",
          message: /^spawn\(\): `options\.limiter` must be a CapacityLimiter, got /,
        });
      }
      assert.throws(() => tg.spawn(() => {}, { limiter: 5 as never }), { message: "spawn(): `options.limiter` must be a CapacityLimiter, got 5 (number)" });
      const ran: string[] = [];
      tg.spawn(() => void ran.push("null"), { limiter: null as never });
      tg.spawn(() => void ran.push("undefined"), { limiter: undefined });
      await settle();
      assert.deepEqual(ran, ["null", "undefined"]);
      const err = await thrown(() => tg.start(() => {}, { limiter: new CapacityLimiter(1) }));
      assert.ok(err instanceof TypeError);
      assert.match(err.message, /^start\(\): `options\.limiter` is not supported by start\(\)/);
    }),
  );
  await run(() =>
    withSupervisor(async (sup) => {
      assert.throws(() => sup.spawn(() => {}, { limiter: 7 as never }), { name: "TypeError", message: /^sup\.spawn\(\): `options\.limiter` must be a CapacityLimiter, got 7/ });
    }),
  );
});

test("tasks admitted at spawn start at once, in spawn order with the group's other children", async () => {
  const limiter = new CapacityLimiter(3);
  const order: string[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      tg.spawn(() => void order.push("plain 1"));
      tg.spawn(() => void order.push("limited 1"), { limiter });
      tg.spawn(() => void order.push("plain 2"));
      tg.spawn(() => void order.push("limited 2"), { limiter });
      tg.spawn(() => void order.push("limited 3"), { limiter });
      tg.spawn(() => void order.push("plain 3"));
      assert.deepEqual(order, [], "no body runs inside spawn");
      assert.equal(limiter.borrowedTokens, 3, "the tokens are taken at spawn");
    }),
  );
  assert.deepEqual(order, ["plain 1", "limited 1", "plain 2", "limited 2", "limited 3", "plain 3"]);
  assert.equal(limiter.borrowedTokens, 0);
});

test("a queued task runs nothing until a token is free; admission is FIFO with acquire() callers", async () => {
  const limiter = new CapacityLimiter(1);
  const order: string[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      const gate = new Event();
      const holder = tg.spawn(async () => {
        order.push("holder");
        await gate.wait();
      }, { name: "holder", limiter });
      await settle();
      const a = tg.spawn(() => void order.push("a"), { name: "a", limiter });
      tg.spawn(async () => {
        await limiter.acquire();
        order.push("b (acquire)");
        limiter.release();
      }, { name: "b" });
      await settle();
      const c: Task<void> = tg.spawn(async (): Promise<void> => {
        order.push("c");
        assert.equal(currentTask(), c, "the handle is the task");
      }, { name: "c", limiter });
      await settle();
      assert.deepEqual(order, ["holder"]);
      const stats = limiter.statistics();
      assert.deepEqual(stats.borrowers, [holder]);
      assert.equal(stats.tasksWaiting, 3);
      assert.equal(a.state, "running");
      gate.set();
      await settle();
      assert.equal(limiter.statistics().tasksWaiting, 0);
    }),
  );
  assert.deepEqual(order, ["holder", "a", "b (acquire)", "c"]);
  assert.deepEqual(limiter.statistics(), { borrowedTokens: 0, totalTokens: 1, borrowers: [], tasksWaiting: 0 });
});

test("the task holds its token for its whole life and gives it back however it ends", async () => {
  const limiter = new CapacityLimiter(2);
  for (const ending of ["return", "throw 42", "throw undefined", "cancel", "release by hand"] as const) {
    const err = await thrown(() =>
      run(() =>
        withTaskGroup(async (tg) => {
          const gate = new Event();
          const t = tg.spawn(async () => {
            if (ending === "release by hand") limiter.release();
            await gate.wait();
            if (ending === "throw 42") throw 42;
            if (ending === "throw undefined") throw undefined;
          }, { limiter });
          await settle();
          assert.deepEqual(limiter.statistics().borrowers, ending === "release by hand" ? [] : [t]);
          if (ending === "cancel") t.cancel();
          else gate.set();
          await settle();
          assert.equal(limiter.borrowedTokens, 0, ending);
          if (ending === "throw 42" || ending === "throw undefined") return;
          throw "done";
        }),
      ),
    );
    assert.equal(err, ending === "throw 42" ? 42 : ending === "throw undefined" ? undefined : "done", ending);
    assert.equal(limiter.borrowedTokens, 0);
  }
});

test("a queued task cancelled before admission ends cancelled without running and never takes a token", async () => {
  const limiter = new CapacityLimiter(1);
  const ran: string[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      const gate = new Event();
      tg.spawn(() => gate.wait(), { name: "holder", limiter });
      const a = tg.spawn(() => void ran.push("a"), { name: "a", limiter });
      const b = tg.spawn(() => void ran.push("b"), { name: "b", limiter });
      await settle();
      a.cancel("not needed");
      assert.equal(limiter.statistics().tasksWaiting, 1);
      const err = await thrown(() => a.result());
      assert.ok(isCancelled(err));
      assert.equal(a.state, "cancelled");
      gate.set();
      await b.result();
      assert.equal(b.state, "done");
    }),
  );
  assert.deepEqual(ran, ["b"]);
  assert.equal(limiter.borrowedTokens, 0);
});

test("group cancellation ends queued tasks without running them; a failure reaches the group", async () => {
  const limiter = new CapacityLimiter(1);
  const ran: number[] = [];
  const handles: Task<void>[] = [];
  const err = await thrown(() =>
    run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          await settle();
          throw "boom";
        }, { name: "fails", limiter });
        for (let i = 0; i < 5; i++) handles.push(tg.spawn(() => void ran.push(i), { limiter }));
      }),
    ),
  );
  assert.equal(err, "boom");
  assert.deepEqual(ran, []);
  assert.deepEqual(handles.map((t) => t.state), Array(5).fill("cancelled"));
  assert.deepEqual(limiter.statistics(), { borrowedTokens: 0, totalTokens: 1, borrowers: [], tasksWaiting: 0 });
  // tg.cancel() alike, and a spawn into the cancelled group that finds no token ends at once.
  const late: string[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      const holder = tg.spawn(() => new Event().wait(), { limiter });
      const queued = tg.spawn(() => void late.push("queued"), { limiter });
      await settle();
      tg.cancel();
      const after = tg.spawn(() => void late.push("after"), { limiter });
      await settle();
      assert.equal(queued.state, "cancelled");
      assert.equal(after.state, "cancelled");
      assert.equal(holder.state, "cancelled");
    }),
  );
  assert.deepEqual(late, []);
  assert.equal(limiter.borrowedTokens, 0);
});

test("two groups share a limiter: FIFO across both, and cancelling one ends only its queued tasks", async () => {
  const limiter = new CapacityLimiter(1);
  const order: string[] = [];
  await run(() =>
    withTaskGroup(async (outer) => {
      const gate = new Event();
      outer.spawn(() => gate.wait(), { name: "holder", limiter });
      const groups: TaskGroup[] = [];
      const done = new Event();
      for (const name of ["a", "b"]) {
        outer.spawn(() =>
          withTaskGroup(async (tg) => {
            groups.push(tg);
            await done.wait();
          }),
        );
      }
      await settle();
      const [a, b] = groups as [TaskGroup, TaskGroup];
      for (let i = 0; i < 3; i++) {
        a.spawn(() => void order.push(`a${i}`), { limiter });
        b.spawn(() => void order.push(`b${i}`), { limiter });
      }
      await settle();
      assert.equal(limiter.statistics().tasksWaiting, 6);
      a.cancel();
      await settle();
      assert.equal(limiter.statistics().tasksWaiting, 3);
      gate.set();
      await settle();
      done.set();
    }),
  );
  assert.deepEqual(order, ["b0", "b1", "b2"]);
  assert.equal(limiter.borrowedTokens, 0);
});

test("raising totalTokens admits queued tasks at once, in order", async () => {
  const limiter = new CapacityLimiter(0);
  const order: number[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      for (let i = 0; i < 4; i++) tg.spawn(() => void order.push(i), { limiter });
      await settle();
      assert.deepEqual(order, []);
      limiter.totalTokens = 2;
      await settle();
      assert.deepEqual(order, [0, 1, 2, 3]);
    }),
  );
});

test("the body runs with the spawner's AsyncLocalStorage values, queued or not", async () => {
  const als = new AsyncLocalStorage<string>();
  const limiter = new CapacityLimiter(1);
  const seen: string[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      for (const value of ["one", "two", "three"]) {
        als.run(value, () => {
          tg.spawn(async () => {
            seen.push(`${value}: ${als.getStore()}`);
            await settle();
            seen.push(`${value} after a wait: ${als.getStore()}`);
          }, { limiter });
        });
      }
      assert.equal(als.getStore(), undefined, "the spawner's own context is untouched");
    }),
  );
  assert.deepEqual(seen, ["one: one", "one after a wait: one", "two: two", "two after a wait: two", "three: three", "three after a wait: three"]);
});

test("the debug task tree shows a queued task and what it waits for", async () => {
  const limiter = new CapacityLimiter(1);
  await run(() =>
    withTaskGroup(async (tg) => {
      const gate = new Event();
      tg.spawn(() => gate.wait(), { name: "holder", limiter });
      const queued = tg.spawn(() => {}, { name: "queued", limiter });
      await settle();
      const root = taskTree().root!;
      const node = root.children.find((c) => c.id === queued.id)!;
      assert.equal(node.state, "blocked");
      assert.equal(node.waitingOn, "waiting for a token of CapacityLimiter (1/1 in use)");
      assert.equal(node.parent, root.id);
      assert.match(formatTaskTree(), /#\d+ "queued" blocked on waiting for a token of CapacityLimiter \(1\/1 in use\)/);
      gate.set();
    }),
  );
});

test("a limited task holds a token: withToken inside it is a double borrow", async () => {
  const limiter = new CapacityLimiter(4);
  await run(() =>
    withTaskGroup(async (tg) => {
      const t = tg.spawn(() => limiter.withToken(() => "never"), { limiter });
      const err = await thrown(() => t.result());
      assert.ok(err instanceof RuntimeError);
      assert.match(err.message, /already holds a token of this CapacityLimiter/);
    }),
  ).catch((err: unknown) => assert.ok(err instanceof RuntimeError));
  assert.equal(limiter.borrowedTokens, 0);
});

test("a supervisor's child holds its token across restarts", async () => {
  const limiter = new CapacityLimiter(1);
  let attempts = 0;
  const others: string[] = [];
  await run(() =>
    withSupervisor(
      async (sup) => {
        sup.spawn(async () => {
          if (++attempts < 3) throw new Error(`attempt ${attempts}`);
          assert.equal(others.length, 0, "the queued task waits across restarts");
        }, { restart: "on-failure", backoffMs: 0, limiter });
        sup.spawn(() => void others.push("other"), { limiter });
      },
      { onError: () => {} },
    ),
  );
  assert.equal(attempts, 3);
  assert.deepEqual(others, ["other"]);
  assert.equal(limiter.borrowedTokens, 0);
});

// ---- seeded randomized test ---------------------------------------------------------------

type Plan = "return" | "throw";
const THROWABLES = [undefined, 42, "a string", null] as const;

interface Requester {
  readonly id: number;
  readonly group: Group;
  readonly kind: "spawn" | "acquire" | "withToken";
  state: "waiting" | "admitted" | "dropped";
  handle: Task<unknown> | undefined;
  readonly gate: Event;
  started: number;
  ended: number;
  /** Cancelled while it still waited for its token (neither admitted nor granted). */
  cancelledQueued: boolean;
}

interface Group {
  tg: TaskGroup | undefined;
  readonly close: Event;
  readonly thrown: unknown[];
  error: unknown;
  readonly members: Requester[];
  cancelled: boolean;
}

async function randomProgram(seed: number): Promise<void> {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const limiter = new CapacityLimiter(1 + Math.floor(random() * 3));
  let maxTotal = limiter.totalTokens;
  let running = 0;
  const requesters: Requester[] = [];
  const groups: Group[] = [];
  const problems: string[] = [];
  const trace: string[] = [];

  const observeAdmission = (r: Requester): void => {
    // FIFO: everyone who asked before r and still waits must have been granted a token.
    const borrowers = limiter.statistics().borrowers;
    for (const earlier of requesters) {
      if (earlier.id >= r.id) break;
      if (earlier.state !== "waiting" || borrowers.includes(earlier.handle) || earlier.handle!.state !== "running") continue;
      // A failure in its group cancelled it (its group's scope is cancelled): it left the line.
      if (earlier.group.tg!.cancelScope.cancelCalled) continue;
      problems.push(`#${r.id} admitted before #${earlier.id}`);
    }
    r.state = "admitted";
    trace.push(`admitted #${r.id}`);
    running++;
    if (running > limiter.borrowedTokens) problems.push(`${running} bodies run on ${limiter.borrowedTokens} tokens`);
    if (limiter.borrowedTokens > maxTotal) problems.push(`${limiter.borrowedTokens} tokens borrowed, total never above ${maxTotal}`);
  };

  const body = (r: Requester, group: Group, plan: Plan, value: unknown) => async () => {
    if (r.kind === "withToken") {
      // withToken's release reactions find the borrower in the caller's context (capacity-limiter.ts).
      let ran = false;
      try {
        await limiter.withToken(async () => {
          ran = true;
          await held(r, group, plan, value, false);
        });
      } finally {
        if (!ran) r.state = "dropped";
      }
      return;
    }
    if (r.kind === "acquire") {
      try {
        await limiter.acquire();
      } catch (err) {
        r.state = "dropped";
        throw err;
      }
    }
    await held(r, group, plan, value, r.kind === "acquire");
  };

  const held = async (r: Requester, group: Group, plan: Plan, value: unknown, release: boolean) => {
    r.started++;
    if (r.cancelledQueued) problems.push(`#${r.id} ran although it was cancelled while queued`);
    observeAdmission(r);
    try {
      await r.gate.wait();
    } finally {
      running--;
      r.ended++;
      if (release) limiter.release();
    }
    if (plan === "throw") {
      group.thrown.push(value);
      throw value;
    }
  };

  const live = () => requesters.filter((r) => r.handle !== undefined && r.handle.state === "running");
  const openGroups = () => groups.filter((g) => g.tg !== undefined && !g.cancelled);
  // Called just before a cancellation: who still waits for a token leaves the line now.
  const markCancelled = (rs: Requester[]) => {
    const borrowers = limiter.statistics().borrowers;
    for (const r of rs) {
      if (r.state !== "waiting" || r.handle!.state !== "running" || borrowers.includes(r.handle)) continue;
      r.state = "dropped";
      if (r.kind === "spawn") r.cancelledQueued = true;
    }
  };

  await run(() =>
    withTaskGroup(async (outer) => {
      const openGroup = async () => {
        const group: Group = { tg: undefined, close: new Event(), thrown: [], error: undefined, members: [], cancelled: false };
        groups.push(group);
        outer.spawn(async () => {
          try {
            await withTaskGroup(async (tg) => {
              group.tg = tg;
              await group.close.wait();
            }, { errors: "aggregate" });
          } catch (err) {
            group.error = err;
          }
        });
        await settle();
      };
      await openGroup();
      for (let step = 0; step < 60; step++) {
        const op = random();
        const group = pick(openGroups().length > 0 ? openGroups() : groups);
        if (op < 0.35 && group.tg !== undefined && !group.cancelled) {
          const roll = random();
          const kind = roll < 0.6 ? "spawn" : roll < 0.8 ? "acquire" : "withToken";
          const r: Requester = { id: requesters.length, group, kind, state: "waiting", handle: undefined, gate: new Event(), started: 0, ended: 0, cancelledQueued: false };
          const plan: Plan = random() < 0.3 ? "throw" : "return";
          const value = random() < 0.5 ? pick(THROWABLES) : new Error(`task #${r.id}`);
          try {
            r.handle = group.tg.spawn(body(r, group, plan, value), kind === "spawn" ? { name: `#${r.id}`, limiter } : { name: `#${r.id}` });
          } catch (err) {
            // A failure has ended the group meanwhile.
            assert.ok(err instanceof ClosedResourceError);
            group.cancelled = true;
            continue;
          }
          requesters.push(r);
          group.members.push(r);
          trace.push(`${kind} #${r.id} in group ${groups.indexOf(group)} (total ${limiter.totalTokens}, borrowed ${limiter.borrowedTokens})`);
          if (kind !== "spawn") await settle(); // its request is made when its body starts
        } else if (op < 0.55) {
          const admitted = live().filter((r) => r.state === "admitted");
          if (admitted.length > 0) {
            const r = pick(admitted);
            trace.push(`finish #${r.id}`);
            r.gate.set();
          }
        } else if (op < 0.65) {
          const candidates = live();
          if (candidates.length > 0) {
            const r = pick(candidates);
            markCancelled([r]);
            trace.push(`cancel #${r.id} (${r.state})`);
            r.handle!.cancel();
          }
        } else if (op < 0.7 && group.tg !== undefined && !group.cancelled) {
          markCancelled(group.members);
          group.cancelled = true;
          trace.push(`cancel group ${groups.indexOf(group)}`);
          group.tg.cancel();
        } else if (op < 0.8) {
          limiter.totalTokens = Math.floor(random() * 4);
          trace.push(`total = ${limiter.totalTokens}`);
          maxTotal = Math.max(maxTotal, limiter.totalTokens);
        } else if (op < 0.85) {
          await openGroup();
        }
        if (random() < 0.5) await settle();
      }
      // Wind down: enough tokens, every gate open, every group closed.
      limiter.totalTokens = 4;
      maxTotal = Math.max(maxTotal, 4);
      for (const r of requesters) r.gate.set();
      for (const g of groups) g.close.set();
    }),
  );

  assert.deepEqual(problems, [], `seed ${seed}:\n${trace.join("\n")}`);
  for (const r of requesters) {
    assert.notEqual(r.handle!.state, "running", `seed ${seed}: #${r.id} never ended`);
    assert.ok(r.started <= 1 && r.ended === r.started, `seed ${seed}: #${r.id} started ${r.started}, ended ${r.ended}`);
    if (r.cancelledQueued) assert.equal(r.started, 0);
  }
  for (const g of groups) {
    // Every value thrown by a task of the group (undefined included) reaches the group, once.
    const reached = g.error === undefined ? [] : (g.error as TaskGroupError).errors;
    assert.equal(reached.length, g.thrown.length, `seed ${seed}: errors lost or duplicated`);
    const left = [...reached]; // the same values, in any order (tasks end in their own time)
    for (const value of g.thrown) {
      const i = left.findIndex((e) => Object.is(e, value));
      assert.ok(i >= 0, `seed ${seed}: ${String(value)} did not reach its group`);
      left.splice(i, 1);
    }
  }
  assert.deepEqual(limiter.statistics().borrowers, [], `seed ${seed}: a token leaked`);
  assert.equal(limiter.statistics().tasksWaiting, 0);
}

test("randomized (seeded): limited spawns, acquires, releases, failures, cancellations and total changes", async () => {
  const base = 0x5c17;
  for (let i = 0; i < 100; i++) await randomProgram(base + i);
  await assertNoTimersLeft();
});
