// Reading the ambient context: currentSignal (API.md §1 "Cancellation"), currentTime,
// currentTask and currentEffectiveDeadline (§1 "Time"); after Trio's
// test_current_effective_deadline and test_current_task.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CancelScope,
  currentEffectiveDeadline,
  currentSignal,
  currentTask,
  currentTime,
  isCancelled,
  run,
  sleep,
  sleepForever,
  withCancelScope,
  withTaskGroup,
  type Clock,
} from "../../src/index.js";
import { trellisTest, waitAllTasksBlocked } from "../../src/testing/index.js";

describe("currentSignal", () => {
  test("outside every scope, currentSignal returns a signal that never aborts", async () => {
    const signal = currentSignal();
    assert.ok(signal instanceof AbortSignal);
    assert.equal(signal.aborted, false);
    await withCancelScope(async (scope) => {
      scope.cancel();
    });
    assert.equal(signal.aborted, false);
    assert.equal(currentSignal().aborted, false);
  });

  test("currentSignal aborts once the calling context is cancelled", async () => {
    await withCancelScope(async (scope) => {
      const signal = currentSignal();
      assert.equal(signal.aborted, false);
      scope.cancel("stop");
      assert.equal(signal.aborted, true);
      assert.ok(isCancelled(signal.reason));
    });
  });

  test("currentSignal in a task aborts when the task's group is cancelled", trellisTest(async () => {
    let signal: AbortSignal | undefined;
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        signal = currentSignal();
        await sleepForever();
      });
      await waitAllTasksBlocked();
      assert.equal(signal?.aborted, false);
      tg.cancel();
    });
    assert.equal(signal?.aborted, true);
  }, { autojump: true }));

  test("currentSignal respects shields", async () => {
    await withCancelScope(async (outer) => {
      await withCancelScope(
        async () => {
          const signal = currentSignal();
          outer.cancel();
          assert.equal(signal.aborted, false);
        },
        { shield: true },
      );
      assert.equal(currentSignal().aborted, true);
    });
  });

  test("currentSignal works with APIs that take an AbortSignal", async () => {
    const { setTimeout: delay } = await import("node:timers/promises");
    const err = await withCancelScope(async (scope) => {
      setImmediate(() => scope.cancel());
      try {
        await delay(60_000, undefined, { signal: currentSignal() });
      } catch (e) {
        return e;
      }
      return undefined;
    });
    // the abort reached timers/promises; the scope absorbed nothing (no trellis checkpoint ran)
    assert.equal((err as Error | undefined)?.name, "AbortError");
  });
});

describe("currentTime", () => {
  // Real clock on purpose: what currentTime() reads outside run() is the point.
  test("outside run, currentTime is the real monotonic clock in milliseconds", async () => {
    const a = currentTime();
    const before = performance.now();
    assert.ok(Math.abs(a - before) < 50, `currentTime ${a} vs performance.now ${before}`);
    await sleep(2);
    assert.ok(currentTime() >= a + 2);
  });

  test("inside run, currentTime reads the run's clock", async () => {
    const fixed: Clock = { now: () => 1_000_000, deadlineToSleepTime: (d) => d - 1_000_000 };
    const t = await run(() => currentTime(), { clock: fixed, handleSignals: false });
    assert.equal(t, 1_000_000);
  });

  test("currentTime never goes backwards", async () => {
    let last = currentTime();
    for (let i = 0; i < 1000; i++) {
      const now = currentTime();
      assert.ok(now >= last);
      last = now;
    }
  });
});

describe("currentTask", () => {
  test("currentTask is undefined outside every task", () => {
    assert.equal(currentTask(), undefined);
  });

  test("currentTask is the running task, with its id, name and parent", async () => {
    await run(
      async function main() {
        const root = currentTask();
        assert.equal(root?.name, "main");
        assert.equal(typeof root?.id, "number");
        assert.equal(root?.parent, undefined);
        await withTaskGroup((tg) => {
          const handle: { readonly id: number } = tg.spawn(
            () => {
              const me = currentTask();
              assert.equal(me?.id, handle.id);
              assert.equal(me?.name, "child");
              assert.equal(me?.parent, root);
            },
            { name: "child" },
          );
        });
        // scopes do not change the task
        await withCancelScope(() => assert.equal(currentTask(), root));
      },
      { handleSignals: false },
    );
  });
});

describe("currentEffectiveDeadline", () => {
  test("currentEffectiveDeadline is Infinity outside every scope and in scopes without deadline", async () => {
    assert.equal(currentEffectiveDeadline(), Infinity);
    await withCancelScope(() => assert.equal(currentEffectiveDeadline(), Infinity));
  });

  test("currentEffectiveDeadline is the earliest deadline, cut off at shields, -Infinity once cancelled", async () => {
    const base = currentTime() + 100_000;
    const s1 = new CancelScope({ deadline: base + 5 });
    const s2 = new CancelScope({ deadline: base + 10 });
    await s1.run(async () => {
      await s2.run(async () => {
        assert.equal(currentEffectiveDeadline(), base + 5);
        s2.deadline = base + 3;
        assert.equal(currentEffectiveDeadline(), base + 3);
        s2.deadline = base + 10;
        assert.equal(currentEffectiveDeadline(), base + 5);
        s2.shield = true;
        assert.equal(currentEffectiveDeadline(), base + 10);
        s2.shield = false;
        assert.equal(currentEffectiveDeadline(), base + 5);
        s1.cancel();
        assert.equal(currentEffectiveDeadline(), -Infinity);
        s2.shield = true;
        assert.equal(currentEffectiveDeadline(), base + 10);
      });
      assert.equal(currentEffectiveDeadline(), -Infinity);
    });
    assert.equal(currentEffectiveDeadline(), Infinity);
  });

  test("a shielded scope without a deadline hides outer deadlines", async () => {
    await withCancelScope(
      () => withCancelScope(() => assert.equal(currentEffectiveDeadline(), Infinity), { shield: true }),
      { deadline: currentTime() + 100_000 },
    );
  });

  test("a task sees the deadlines of scopes around its group", async () => {
    const d = currentTime() + 100_000;
    await withCancelScope(
      () =>
        withTaskGroup((tg) => {
          tg.spawn(() => assert.equal(currentEffectiveDeadline(), d));
        }),
      { deadline: d },
    );
  });
});
