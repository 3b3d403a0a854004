// Cancellation of pool calls in both directions: cooperative (through shared memory), grace then
// terminate, terminate, abandon; the call's scope in the worker; callMain inside the calling task.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { WorkerPool, type RunOptions } from "trellis/threads";
import {
  CancelScope,
  currentEffectiveDeadline,
  currentTask,
  isCancelled,
  moveOnAfter,
  run,
  sleep,
  withCancelScope,
  currentTime,
  Event,
  withTaskGroup,
} from "trellis";
import { eventually, fixture, threadHandles } from "./support.js";
import { thrown } from "../support/thrown.js";

const records: string[] = [];
const handlerSeen: { taskId?: number; deadline?: number; cancelled?: boolean }[] = [];
const pool = new WorkerPool(fixture(), {
  size: 2,
  handlers: {
    record: (message: string) => void records.push(message),
    whoAmI: async () => {
      handlerSeen.push({ taskId: currentTask()?.id, deadline: currentEffectiveDeadline() });
      return currentTask()?.id;
    },
    waitLong: async () => {
      try {
        await sleep(10_000);
      } catch (err) {
        handlerSeen.push({ cancelled: isCancelled(err) });
        throw err;
      }
    },
    failing: () => {
      throw new RangeError("from the main thread");
    },
    add: (a: number, b: number) => a + b,
  },
});
after(() => pool.close());

test("a synchronous loop in the worker sees the caller's cancellation through checkpointIfCancelled()", async () => {
  const before = pool.statistics().replaced;
  const result = await moveOnAfter(30, () => pool.run("spin", [10_000], { graceMs: 5_000 }));
  assert.equal(result, undefined);
  assert.equal(pool.statistics().replaced, before, "the call ended by itself: no worker was terminated");
  assert.equal(await pool.run("add", [1, 2]), 3);
});

test("the caller's Cancelled is its own (source and scope)", async () => {
  await run(async () => {
    const scope = new CancelScope({ deadline: currentTime() + 20 });
    let seen: unknown;
    await scope.run(async () => {
      try {
        await pool.run("spin", [10_000]);
      } catch (err) {
        seen = err;
        throw err;
      }
    });
    assert.ok(isCancelled(seen));
    assert.equal((seen as { source: string }).source, "deadline");
    assert.ok(scope.cancelledCaught);
  });
});

test("the call runs as a trellis task in the worker: sleep() and checkpoint() are cancelled, currentSignal() aborts", async () => {
  assert.equal(await moveOnAfter(20, () => pool.run("nap", [10_000], { graceMs: 5_000 })), undefined);
  assert.equal(await moveOnAfter(20, () => pool.run("loopCheckpoints", [10_000], { graceMs: 5_000 })), undefined);
  assert.equal(await pool.run("signalAborted"), false);
  assert.equal(await pool.run("taskName"), "taskName", "each call is a task named after its export");
});

test("currentSignal() in the worker aborts when the caller is cancelled", async () => {
  records.length = 0;
  assert.equal(await moveOnAfter(30, () => pool.run("awaitSignal", [], { graceMs: 5_000 })), "aborted");
  assert.deepEqual(records, ["signal aborted: Cancelled"]);
});

test("a call that ignores cancellation is terminated after graceMs, and Cancelled comes once the worker is gone", async () => {
  await withSizeOne(async (one) => {
    const started = performance.now();
    const result = await cancelOnceStarted(one, "spinDeaf", [10_000], { graceMs: 30 });
    assert.equal(result, undefined);
    assert.ok(performance.now() - started < 5_000);
    const s = one.statistics();
    assert.equal(s.workers, 0, "the worker has exited before the caller got Cancelled");
    assert.equal(s.replaced, 1);
    assert.equal(s.cancelled, 1);
    assert.equal(await one.run("add", [2, 2]), 4, "a new worker takes the next call");
  });
});

test('cancel: "terminate" terminates the worker at once', async () => {
  await withSizeOne(async (one) => {
    assert.equal(await cancelOnceStarted(one, "nap", [10_000], { cancel: "terminate" }), undefined);
    assert.equal(one.statistics().workers, 0);
    assert.equal(one.statistics().replaced, 1);
  });
});

test('cancel: "abandon" raises Cancelled at once and lets the worker finish unobserved', async () => {
  await withSizeOne(async (one) => {
    assert.equal(await cancelOnceStarted(one, "spinDeaf", [150], { cancel: "abandon" }), undefined);
    const s = one.statistics();
    assert.equal(s.busy, 1, "the worker still runs the abandoned call");
    assert.equal(s.replaced, 0);
    assert.equal(await one.run("add", [1, 1]), 2, "the next call runs once the abandoned one ended");
    assert.equal(one.statistics().completed, 1);
  });
});

test("a queued call that is cancelled leaves the queue", async () => {
  await withSizeOne(async (one) => {
    const first = one.run("nap", [50]);
    assert.equal(await moveOnAfter(10, () => one.run("add", [1, 2])), undefined);
    assert.equal(one.statistics().waiting, 0);
    assert.equal(await first, "slept");
    assert.equal(one.statistics().completed, 1);
  });
});

test("run() in a cancelled scope raises Cancelled without starting the call", async () => {
  await withCancelScope(async (scope) => {
    scope.cancel();
    const before = pool.statistics();
    const err = await thrown(() => pool.run("add", [1, 2]));
    assert.ok(isCancelled(err));
    assert.equal(pool.statistics().cancelled, before.cancelled + 1, "counted once, as cancelled");
    assert.equal(pool.statistics().completed, before.completed);
  });
});

test("callMain runs the handler inside the calling task: its task and its deadline", async () => {
  await run(async () => {
    const me = currentTask()!.id;
    await withCancelScope(
      async () => {
        handlerSeen.length = 0;
        const id = await pool.run("askMain", ["whoAmI"]);
        assert.equal(id, me);
        assert.equal(handlerSeen[0]!.taskId, me);
        assert.equal(handlerSeen[0]!.deadline, currentEffectiveDeadline());
        assert.notEqual(handlerSeen[0]!.deadline, Infinity);
      },
      { deadline: currentTime() + 60_000 },
    );
  });
});

test("callMain: the handler's result and errors reach the worker; an unknown handler is a TypeError", async () => {
  assert.equal(await pool.run("askMain", ["add", 2, 3]), 5);
  const err = (await thrown(() => pool.run("askMain", ["failing"]))) as RangeError;
  assert.ok(err instanceof RangeError, "thrown in main, rethrown in the worker, rebuilt in main");
  assert.equal(err.message, "from the main thread");
  const unknown = (await thrown(() => pool.run("askMain", ["nope"]))) as TypeError;
  assert.match(unknown.message, /callMain\("nope"\): the pool .* has no handler named "nope"; its handlers are "record"/);
});

test("cancelling the caller cancels the callMain handler, and the worker's callMain throws Cancelled", async () => {
  handlerSeen.length = 0;
  records.length = 0;
  const result = await moveOnAfter(30, () => pool.run("askMainAndReport", ["waitLong"], { graceMs: 5_000 }));
  assert.equal(result, undefined);
  assert.deepEqual(handlerSeen, [{ cancelled: true }]);
  assert.deepEqual(records, ["worker saw Cancelled"]);
  assert.equal(pool.statistics().replaced, 0);
});

test("callMainSync blocks the worker until the handler settles, and returns its result", async () => {
  assert.equal(await pool.run("askMainSync", ["add", 20, 22]), 42);
  const err = (await thrown(() => pool.run("askMainSync", ["failing"]))) as RangeError;
  assert.ok(err instanceof RangeError);
});

test("callMainSync: cancelling the caller cancels the handler and unblocks the worker with Cancelled", async () => {
  handlerSeen.length = 0;
  records.length = 0;
  const result = await moveOnAfter(30, () => pool.run("askMainSyncAndReport", ["waitLong"], { graceMs: 5_000 }));
  assert.equal(result, undefined);
  assert.deepEqual(handlerSeen, [{ cancelled: true }]);
  assert.deepEqual(records, ["worker saw Cancelled"]);
  assert.equal(pool.statistics().replaced, 0);
});

test("callMain outside a pool worker is an error that says where it works", async () => {
  const { callMain, callMainSync } = await import("trellis/threads");
  assert.match(((await thrown(() => callMain("x"))) as Error).message, /not in a pool worker/);
  assert.throws(() => callMainSync("x"), /not in a pool worker/);
});

test("a call sent to a worker that has not started it yet is withdrawn at once when cancelled", async () => {
  await withSizeOne(async (one) => {
    const first = one.run("startedThen", ["nap", 200]);
    await one.started.wait();
    // The second call is sent ahead to the busy worker; cancelling it takes it back.
    assert.equal(await moveOnAfter(10, () => one.run("spinDeaf", [10_000])), undefined);
    assert.equal(one.statistics().replaced, 0);
    assert.equal(await first, "slept");
    assert.equal(await one.run("add", [1, 2]), 3, "the withdrawn call never ran: the worker is free");
  });
});

interface TestPool extends WorkerPool {
  started: Event;
}

/** Runs `name(...args)` through startedThen and cancels it once the worker has started it. */
function cancelOnceStarted(pool: TestPool, name: string, args: unknown[], options: RunOptions) {
  return withCancelScope(async (scope) => {
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await pool.started.wait();
        scope.cancel();
      });
      await pool.run("startedThen", [name, ...args], options);
    });
  });
}

async function withSizeOne(fn: (pool: TestPool) => Promise<void>): Promise<void> {
  const started = new Event();
  const one = Object.assign(new WorkerPool(fixture(), { size: 1, handlers: { started: () => started.set() } }), { started });
  try {
    await fn(one);
  } finally {
    await one.close();
  }
}

test("terminating for a call the worker has just finished does not break the next one it started meanwhile", async () => {
  // The race: the worker ends call A and starts B (sent ahead) before the main thread has read
  // A's result; A's caller is then cancelled with cancel: "terminate". Terminating the worker
  // then would kill B, a call nobody cancelled.
  const pool = new WorkerPool(fixture(), { size: 1 });
  const flag = new Int32Array(new SharedArrayBuffer(4));
  let a: unknown = "unset";
  let b: unknown = "unset";
  await run(async () => {
    await pool.run("add", [0, 0]); // the worker is up: it starts A as soon as it gets it
    const scope = new CancelScope();
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        a = await scope.run(() => pool.run("add", [1, 2], { cancel: "terminate" }));
      });
      tg.spawn(async () => {
        try {
          b = await pool.run("flagThenNap", [flag, 20]);
        } catch (err) {
          b = err;
        }
      });
      // Both calls sent (B ahead of A), with no turn of the event loop that could read A's result.
      for (let i = 0; i < 1000 && pool.statistics().busy + pool.statistics().waiting < 2; i++) await Promise.resolve();
      assert.equal(pool.statistics().busy + pool.statistics().waiting, 2);
      // Block the main thread until the worker has started B (so A's result waits, unread).
      assert.notEqual(Atomics.wait(flag, 0, 0, 10_000), "timed-out");
      scope.cancel();
    });
    await pool.close();
  });
  assert.equal(b, "slept", `B: ${String(b)}`);
  assert.ok(a === 3 || a === undefined, `A: ${String(a)}`);
  assert.equal(pool.statistics().replaced, 0);
  assert.ok(await eventually(() => threadHandles().length === 0));
});
