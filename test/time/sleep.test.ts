// sleep, sleepUntil, sleepForever (API.md §1 "Time"), after Trio's test_timeouts.py (test_sleep,
// test_timeouts_raise_value_error). The process-lifetime rules (a pending sleep keeps the process
// alive, a cancelled one lets it exit) are checked on child processes in test/core/run-process.test.ts.
// Tests of when a sleep ends stay on the real clock (Node's timers may fire early; trellis must
// not); tests that only need time to pass run in virtual time (trellisTest with autojump).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CancelScope,
  currentTime,
  isCancelled,
  run,
  sleep,
  sleepForever,
  sleepUntil,
  withCancelScope,
  withTaskGroup,
} from "../../src/index.js";
import { trellisTest } from "../../src/testing/index.js";
import { thrown } from "../support/thrown.js";
import { mulberry32 as prng } from "../support/prng.js";

/** Ref'd Timeout handles: what keeps the process alive (trellis's one timer, or sleepForever's hold). */
function timerCount(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
}

/** Ref'd Timeout and Immediate handles. */
function handleCount(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout" || r === "Immediate").length;
}

describe("sleep", () => {
  // Real clock on purpose: Node's timers round and may fire early, and sleep must hide that.
  test("a sleep never returns before currentTime() has reached its deadline", async () => {
    const random = prng(7);
    for (let i = 0; i < 40; i++) {
      const ms = Math.floor(random() * 4) + random(); // fractional durations too
      const start = currentTime();
      await sleep(ms);
      const now = currentTime();
      assert.ok(now >= start + ms, `sleep(${ms}) returned at +${(now - start).toFixed(3)} ms`);
    }
  });

  // Real clock on purpose: many real timers behind the run's one timer, none may wake early.
  test("concurrent sleeps each wait until their own deadline", async () => {
    const random = prng(11);
    const late: string[] = [];
    await withTaskGroup((tg) => {
      for (let i = 0; i < 30; i++) {
        const ms = random() * 8;
        tg.spawn(async () => {
          const start = currentTime();
          await sleep(ms);
          if (currentTime() < start + ms) late.push(`sleep(${ms}) woke early`);
        });
      }
    });
    assert.deepEqual(late, []);
  });

  test("sleep(0) yields to other tasks", async () => {
    let yielded = false;
    queueMicrotask(() => {
      yielded = true;
    });
    await sleep(0);
    assert.equal(yielded, true);
  });

  test("sleep is a checkpoint: it raises Cancelled in a cancelled context, even sleep(0)", async () => {
    await withCancelScope(async (scope) => {
      scope.cancel();
      for (const ms of [0, 1, 10_000, Infinity]) {
        assert.ok(isCancelled(await thrown(() => sleep(ms))), `sleep(${ms})`);
      }
    });
  });

  test("a sleep in a scope whose deadline is now raises Cancelled", async () => {
    await withCancelScope(
      async () => {
        assert.ok(isCancelled(await thrown(() => sleep(0))));
      },
      { deadline: currentTime() },
    );
  });

  test("a cancelled sleep ends at once and releases its timer", async () => {
    const before = timerCount();
    const scope = new CancelScope();
    const done = scope.run(() => sleep(600_000));
    assert.ok(timerCount() > before, "the pending sleep has a timer");
    scope.cancel();
    await done;
    assert.equal(timerCount(), before);
    assert.equal(scope.cancelledCaught, true);
  });

  test("a negative or NaN duration throws RangeError naming ms", async () => {
    for (const ms of [-1, -0.5, NaN, -Infinity]) {
      const err = await thrown(() => sleep(ms));
      assert.ok(err instanceof RangeError, `sleep(${ms})`);
      assert.match((err as Error).message, /`ms`/);
    }
  });

  test("issue 9: a duration that is not a number is a TypeError naming ms and showing the value", async () => {
    for (const [ms, shown] of [["100", '"100" (string)'], [undefined, "undefined"], [null, "null"], [10n, "10 (bigint)"]] as const) {
      const err = await thrown(() => sleep(ms as never));
      assert.ok(err instanceof TypeError, `sleep(${String(ms)})`);
      assert.equal((err as Error).message, `sleep(): \`ms\` must be a number of milliseconds ≥ 0, got ${shown}`);
    }
  });

  test("sleep(Infinity) sleeps until cancelled", trellisTest(async () => {
    const scope = new CancelScope();
    let ended = false;
    const done = scope.run(() => sleep(Infinity)).finally(() => (ended = true));
    await sleep(3_600_000); // an hour of virtual time
    assert.equal(ended, false);
    scope.cancel();
    await done;
    assert.equal(scope.cancelledCaught, true);
    assert.equal(currentTime(), 3_600_000);
  }, { autojump: true }));
});

describe("sleepUntil", () => {
  // Real clock on purpose, as for sleep: the deadline must be reached on the real clock.
  test("sleepUntil never returns before currentTime() has reached the deadline", async () => {
    for (let i = 0; i < 20; i++) {
      const deadline = currentTime() + (i % 4) + 0.3;
      await sleepUntil(deadline);
      assert.ok(currentTime() >= deadline);
    }
  });

  test("sleepUntil with a past deadline only yields", async () => {
    let yielded = false;
    queueMicrotask(() => {
      yielded = true;
    });
    await sleepUntil(currentTime() - 1_000);
    await sleepUntil(-Infinity);
    assert.equal(yielded, true);
  });

  test("a NaN deadline throws RangeError naming deadline", async () => {
    const err = await thrown(() => sleepUntil(NaN));
    assert.ok(err instanceof RangeError);
    assert.match((err as Error).message, /`deadline`/);
  });

  test("issue 9: a deadline that is not a number is a TypeError naming deadline", async () => {
    const err = await thrown(() => sleepUntil("5" as never));
    assert.ok(err instanceof TypeError);
    assert.match((err as Error).message, /^sleepUntil\(\): `deadline` must be a number .*got "5" \(string\)$/);
  });
});

describe("sleepForever", () => {
  test("sleepForever waits until cancelled", trellisTest(async () => {
    const record: string[] = [];
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        try {
          await sleepForever();
          record.push("returned");
        } catch (err) {
          record.push(isCancelled(err) ? "cancelled" : "other");
          throw err;
        }
      });
      await sleep(3_600_000); // an hour of virtual time
      assert.deepEqual(record, []);
      tg.cancel();
    });
    assert.deepEqual(record, ["cancelled"]);
  }, { autojump: true }));

  test("a cancelled sleepForever releases what kept the process alive", async () => {
    const before = timerCount();
    const scope = new CancelScope();
    const done = scope.run(() => sleepForever());
    assert.ok(timerCount() > before, "a pending sleepForever keeps the process alive");
    scope.cancel();
    await done;
    assert.equal(timerCount(), before);
  });
});

describe("inside run()", () => {
  // Real clock on purpose: a MockClock arms no real timer, so there would be nothing to leak.
  test("sleeps inside run() use the run's clock and leave no timer behind", async () => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const before = handleCount();
    await run(
      async () => {
        const start = currentTime();
        await sleep(3);
        assert.ok(currentTime() >= start + 3);
        await withCancelScope(() => sleep(600_000), { deadline: currentTime() + 2 });
        await withCancelScope(() => sleepForever(), { deadline: currentTime() + 2 });
      },
      { handleSignals: false },
    );
    assert.equal(handleCount(), before);
  });
});
