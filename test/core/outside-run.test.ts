// API.md §1 "Running" → outside `run`: every API also works without run() (in a request
// handler, a test, a script); the caller then has no enclosing cancel scope and uses the real
// clock. These tests run in node:test's own async context, outside any run() and any task, so
// their few short sleeps are real: a MockClock exists only inside run().
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CancelScope,
  TimeoutError,
  cancelOnAbort,
  checkpoint,
  currentEffectiveDeadline,
  currentSignal,
  currentTask,
  currentTime,
  failAfter,
  isCancelled,
  moveOnAfter,
  run,
  sleep,
  sleepForever,
  wait,
  withCancelScope,
  withTaskGroup,
} from "../../src/index.js";
import { MockClock } from "../../src/testing/index.js";

describe("outside run()", () => {
  // Real clock on purpose: outside run() there is no other.
  test("code outside every scope is never cancelled: checkpoints and sleeps never raise", async () => {
    await checkpoint();
    await sleep(0);
    await sleep(1);
    assert.equal(await wait(Promise.resolve(3)), 3);
    assert.equal(currentEffectiveDeadline(), Infinity);
    assert.equal(currentSignal().aborted, false);
  });

  test("there is no current task outside run() and outside task groups", () => {
    assert.equal(currentTask(), undefined);
  });

  test("currentTime outside run() is the real clock", async () => {
    const a = currentTime();
    const b = performance.now();
    assert.ok(Math.abs(a - b) < 50);
  });

  // Real clock on purpose: outside run() there is no other.
  test("task groups work outside run(): children run, failures propagate, the group waits", async () => {
    const record: string[] = [];
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await sleep(2);
        record.push("child");
      });
    });
    record.push("after");
    assert.deepEqual(record, ["child", "after"]);
    const boom = new Error("boom");
    await assert.rejects(
      withTaskGroup((tg) => {
        tg.spawn(() => sleepForever());
        tg.spawn(() => {
          throw boom;
        });
      }),
      (err) => err === boom,
    );
  });

  test("a task spawned outside run() is a task, with no parent", async () => {
    await withTaskGroup((tg) => {
      tg.spawn(
        () => {
          assert.equal(currentTask()?.name, "standalone");
          assert.equal(currentTask()?.parent, undefined);
        },
        { name: "standalone" },
      );
    });
  });

  test("a scope opened outside run() has no enclosing scope: only its own deadline applies", async () => {
    const d = currentTime() + 100_000;
    await withCancelScope(() => assert.equal(currentEffectiveDeadline(), d), { deadline: d });
  });

  // Real clock on purpose: the real clock is what it tests.
  test("timeouts work outside run() on the real clock", async () => {
    const start = currentTime();
    assert.equal(await moveOnAfter(3, () => sleepForever()), undefined);
    assert.ok(currentTime() >= start + 3);
    await assert.rejects(failAfter(2, () => sleep(60_000)), TimeoutError);
  });

  // Real timer on purpose: the abort comes from a plain timer callback, as a client's would.
  test("cancelOnAbort works outside run(), as in an HTTP handler given req.signal", async () => {
    const controller = new AbortController();
    const result = await cancelOnAbort(controller.signal, async () => {
      setTimeout(() => controller.abort(), 2);
      await sleepForever();
    });
    assert.equal(result, undefined);
  });

  test("a scope can be cancelled from outside any task, and run twice only once", async () => {
    const scope = new CancelScope();
    const done = scope.run(() => sleepForever());
    scope.cancel();
    assert.equal(await done, undefined);
    await assert.rejects(scope.run(() => 1));
  });

  test("a cancellation inside a run() does not reach code outside it, nor the other way round", async () => {
    const outside = new CancelScope();
    await outside.run(async () => {
      const inner = run(
        async () => {
          await sleep(3);
          return "run unaffected";
        },
        { handleSignals: false, clock: new MockClock({ autojumpThreshold: 0 }) },
      );
      outside.cancel();
      // run() is a separate tree: its root task has no parent scope
      assert.equal(await inner, "run unaffected");
      await assert.rejects(checkpoint(), (err) => isCancelled(err));
    });
  });
});
