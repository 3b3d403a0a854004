import { test, describe } from "node:test";
import assert, { AssertionError } from "node:assert/strict";
import {
  run,
  sleep,
  checkpoint,
  checkpointIfCancelled,
  wait,
  withTaskGroup,
  CancelScope,
  isCancelled,
  Lock,
  openChannel,
  Semaphore,
  CapacityLimiter,
  Event,
} from "../../src/index.js";
import { schedulePoint } from "../../src/core/index.js";
import { assertCheckpoints, assertNoCheckpoints, waitAllTasksBlocked } from "../../src/testing/index.js";

/** Runs each case twice: inside run() and from plain async code (no run, no scope). */
function bothWays(title: string, body: () => Promise<void>): void {
  test(`${title} (inside run())`, () => run(body));
  test(`${title} (outside run())`, body);
}

describe("assertCheckpoints", () => {
  bothWays("passes for checkpoint(), sleep(0), sleep(10) and wait()", async () => {
    await assertCheckpoints(() => checkpoint());
    await assertCheckpoints(() => sleep(0));
    await assertCheckpoints(() => sleep(10));
    await assertCheckpoints(() => wait(Promise.resolve(1)));
    await assertCheckpoints(async () => {
      await checkpoint();
    });
  });

  bothWays("fails for a plain sync function, naming it", async () => {
    await assert.rejects(
      assertCheckpoints(function addUp() {
        return 1 + 1;
      }),
      (err: unknown) => {
        assert.ok(err instanceof AssertionError);
        assert.match(err.message, /^assertCheckpoints\(\): `addUp` finished without passing a checkpoint \(it returned 2 \(number\)\)/);
        return true;
      },
    );
  });

  bothWays("fails for `await Promise.resolve()`: a plain await is not a cancel point", async () => {
    await assert.rejects(
      assertCheckpoints(async () => {
        await Promise.resolve();
      }),
      AssertionError,
    );
  });

  bothWays("fails for a sync cancel point alone, and for a schedule point alone", async () => {
    await assert.rejects(assertCheckpoints(() => checkpointIfCancelled()), {
      name: "AssertionError",
      message: /finished without passing a checkpoint/,
    });
    await assert.rejects(assertCheckpoints(() => schedulePoint()), AssertionError);
  });

  bothWays("a plain await followed by checkpointIfCancelled() is not counted as a checkpoint: await checkpoint()", async () => {
    await assert.rejects(
      assertCheckpoints(async () => {
        await Promise.resolve();
        checkpointIfCancelled();
      }),
      AssertionError,
    );
  });

  bothWays("issue 9: assertCheckpoints runs fn for real: a lock acquired inside stays acquired, a value sent is sent", async () => {
    const record: string[] = [];
    await assertCheckpoints(async () => {
      record.push("before");
      await checkpoint();
      record.push("after");
    });
    assert.deepEqual(record, ["before", "after"]);
    const lock = new Lock();
    await assertCheckpoints(() => lock.acquire());
    assert.equal(lock.locked(), true);
    lock.release();
    const [send, receive] = openChannel<string>(1);
    await assertCheckpoints(() => send.send("sent"));
    assert.equal(send.statistics().currentBufferUsed, 1);
    assert.equal(receive.tryReceive(), "sent");
  });

  test("issue 9: every async operation of the primitives is counted, on its fast path and when it waits", async () => {
    await run(() =>
      withTaskGroup(async (tg) => {
        const lock = new Lock();
        await assertCheckpoints(() => lock.acquire()); // free: fast path
        const waiting = tg.spawn(() => assertCheckpoints(() => lock.acquire())); // held: waits
        await waitAllTasksBlocked();
        lock.release();
        await waiting.result();
        const semaphore = new Semaphore(1);
        await assertCheckpoints(() => semaphore.acquire());
        semaphore.release();
        const limiter = new CapacityLimiter(1);
        await assertCheckpoints(() => limiter.acquire());
        limiter.release();
        const event = new Event();
        event.set();
        await assertCheckpoints(() => event.wait());
        const [send, receive] = openChannel<number>(2);
        await assertCheckpoints(() => send.send(1));
        await assertCheckpoints(() => send.send(2));
        await assertCheckpoints(async () => assert.equal(await receive.receive(), 1));
        send.close();
        await assertCheckpoints(async () => {
          for await (const value of receive) assert.equal(value, 2); // one value, then the end
        });
      }),
    );
  });

  test("issue 9: checkpoints are counted per task: another task's checkpoints meanwhile are not fn's", async () => {
    await run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          for (let i = 0; i < 200; i++) await checkpoint();
        });
        await assertNoCheckpoints(async () => {
          for (let i = 0; i < 100; i++) await Promise.resolve(); // the sibling runs meanwhile
        });
      }),
    );
  });

  bothWays("lets fn's own errors through unchanged", async () => {
    const boom = new Error("boom");
    await assert.rejects(
      assertCheckpoints(() => {
        throw boom;
      }),
      (err) => err === boom,
    );
    await assert.rejects(
      assertCheckpoints(async () => {
        throw boom;
      }),
      (err) => err === boom,
    );
  });

  test("a cancellation of the caller is not mistaken for fn's checkpoint: it propagates", async () => {
    const outer = new CancelScope();
    outer.cancel("caller cancelled");
    let reached = false;
    await outer.run(async () => {
      await assertCheckpoints(() => checkpoint());
      reached = true;
    });
    assert.equal(reached, false);
    assert.equal(outer.cancelledCaught, true);
  });

  test("throws TypeError for a non-function", async () => {
    await assert.rejects(assertCheckpoints(42 as unknown as () => void), {
      name: "TypeError",
      message: "assertCheckpoints(): `fn` must be a function, got 42 (number)",
    });
  });
});

describe("assertNoCheckpoints", () => {
  bothWays("passes for a sync function and returns its value", async () => {
    assert.equal(await assertNoCheckpoints(() => 1 + 1), 2);
    const lock = new Lock();
    await assertNoCheckpoints(() => lock.tryAcquire());
    assert.equal(lock.locked(), true);
    await assertNoCheckpoints(() => lock.release());
  });

  bothWays("passes for `await Promise.resolve()` (not a checkpoint) and returns the awaited value", async () => {
    assert.equal(
      await assertNoCheckpoints(async () => {
        await Promise.resolve();
        return "done";
      }),
      "done",
    );
  });

  bothWays("fails for checkpoint(), sleep(0) and wait()", async () => {
    for (const fn of [() => checkpoint(), () => sleep(0), () => wait(Promise.resolve())]) {
      await assert.rejects(assertNoCheckpoints(fn), {
        name: "AssertionError",
        message: /^assertNoCheckpoints\(\): the function passed a checkpoint, so a cancelled caller would get Cancelled there/,
      });
    }
  });

  bothWays("fails for a sync cancel point that raises Cancelled, keeping the Cancelled as cause", async () => {
    const scope = new CancelScope();
    scope.cancel();
    await scope.run(async () => {
      await assert.rejects(assertNoCheckpoints(() => checkpointIfCancelled()), (err: unknown) => {
        assert.ok(err instanceof AssertionError);
        assert.match(err.message, /passed a checkpoint/);
        assert.ok(isCancelled(err.cause));
        return true;
      });
    });
  });

  bothWays("passes for checkpointIfCancelled() in a context that is not cancelled (a cancel point, not a checkpoint)", async () => {
    await assertNoCheckpoints(() => checkpointIfCancelled());
  });

  bothWays("passes for a schedule point alone (every await is one in trellis)", async () => {
    await assertNoCheckpoints(() => schedulePoint());
  });

  bothWays("entering and leaving a task group is not a cancel point, as the contract says", async () => {
    const ran = await assertNoCheckpoints(() => withTaskGroup(async () => "body ran"));
    assert.equal(ran, "body ran");
  });

  test("sync primitives of trellis are never checkpoints; their async twins always are", async () => {
    await run(async () => {
      const [send, receive] = openChannel<number>(1);
      await assertNoCheckpoints(() => send.trySend(1));
      assert.equal(await assertNoCheckpoints(() => receive.tryReceive()), 1);
      await assertCheckpoints(() => send.send(2)); // room in the buffer: done at once, still a checkpoint
      await assertCheckpoints(() => receive.receive());
      await assertNoCheckpoints(() => send.close());
    });
  });

  test("a Cancelled that fn raises itself is reported as a checkpoint of fn, not swallowed silently", async () => {
    await assert.rejects(
      assertNoCheckpoints(async () => {
        try {
          await checkpoint();
        } catch (err) {
          assert.ok(isCancelled(err));
          throw err;
        }
      }),
      AssertionError,
    );
  });
});
