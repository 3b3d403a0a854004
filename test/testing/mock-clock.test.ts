import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  run,
  sleep,
  sleepForever,
  currentTime,
  withTaskGroup,
  failAfter,
  moveOnAfter,
  wait,
  TimeoutError,
  withSupervisor,
} from "../../src/index.js";
import { Runtime, type ClockHost, type TimerEntry } from "../../src/core/index.js";
import { MockClock, waitAllTasksBlocked } from "../../src/testing/index.js";
import { assertNoTimersLeft } from "../support/tasks.js";

/** Runs `fn` in a run on `clock`; afterwards none of its Timeout/Immediate handles may be left. */
async function runOn<T>(clock: MockClock, fn: () => Promise<T>): Promise<T> {
  const result = await run(fn, { clock });
  await assertNoTimersLeft();
  return result;
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("MockClock outside a run", () => {
  test("a new clock stands at 0 and moves only when jumped", () => {
    const clock = new MockClock();
    assert.equal(clock.rate, 0);
    assert.equal(clock.autojumpThreshold, Infinity);
    assert.equal(clock.now(), 0);
    clock.jump(1.5);
    assert.equal(clock.now(), 1.5);
    clock.jump(0);
    assert.equal(clock.now(), 1.5);
  });

  test("jump() with a negative, NaN, infinite or non-number ms throws RangeError and leaves time alone", () => {
    const clock = new MockClock();
    clock.jump(10);
    assert.throws(() => clock.jump(-1), { name: "RangeError", message: /MockClock\.jump\(\): `ms` must be ≥ 0, got -1 \(number\); virtual time cannot go backwards/ });
    assert.throws(() => clock.jump(NaN), { name: "RangeError", message: /`ms`.*NaN \(number\)/ });
    assert.throws(() => clock.jump(Infinity), { name: "RangeError", message: /`ms` must be finite/ });
    assert.throws(() => clock.jump("5" as unknown as number), { name: "RangeError", message: /"5" \(string\)/ });
    assert.equal(clock.now(), 10);
  });

  test("deadlineToSleepTime() is 0 for a reached deadline and Infinity while time stands still", () => {
    const clock = new MockClock();
    clock.jump(1.2);
    assert.equal(clock.deadlineToSleepTime(1.1), 0);
    assert.equal(clock.deadlineToSleepTime(1.2), 0);
    assert.equal(clock.deadlineToSleepTime(1.3), Infinity);
  });

  test("with a rate, virtual time runs that many times as fast as real time", () => {
    const clock = new MockClock({ rate: 2 });
    assert.equal(clock.rate, 2);
    const realStart = performance.now();
    const virtualStart = clock.now();
    const sleepTime = clock.deadlineToSleepTime(virtualStart + 10);
    const meanwhile = performance.now() - realStart; // real time that passed between the two reads, at most
    assert.ok(sleepTime <= 5 && sleepTime >= 5 - meanwhile, `10 virtual ms at rate 2 is 5 real ms, got ${sleepTime}`);
    const busyUntil = performance.now() + 3;
    while (performance.now() < busyUntil); // 3 real ms
    const elapsedVirtual = clock.now() - virtualStart;
    const elapsedReal = performance.now() - realStart;
    assert.ok(elapsedVirtual >= 6 && elapsedVirtual <= 2 * elapsedReal, `expected 6..${2 * elapsedReal} virtual ms, got ${elapsedVirtual}`);
  });

  test("changing the rate keeps the current time and changes only the pace", () => {
    const clock = new MockClock();
    clock.jump(100);
    const realStart = performance.now();
    clock.rate = 0.5;
    const now = clock.now();
    assert.ok(now >= 100 && now <= 100 + 0.5 * (performance.now() - realStart), `got ${now}`);
    clock.rate = 0;
    const stopped = clock.now();
    assert.ok(stopped >= 100);
    assert.equal(clock.now(), stopped);
    assert.equal(clock.deadlineToSleepTime(stopped + 1), Infinity);
    clock.jump(0.8);
    assert.equal(clock.now(), stopped + 0.8);
  });

  test("bad options and bad assignments throw and change nothing", () => {
    assert.throws(() => new MockClock({ rate: -1 }), { name: "RangeError", message: /new MockClock\(\): `rate` must be a finite number ≥ 0.*got -1 \(number\)/ });
    assert.throws(() => new MockClock({ rate: NaN }), RangeError);
    assert.throws(() => new MockClock({ rate: Infinity }), RangeError);
    assert.throws(() => new MockClock({ autojumpThreshold: -1 }), { name: "RangeError", message: /`autojumpThreshold`.*got -1 \(number\)/ });
    assert.throws(() => new MockClock({ autojumpThreshold: NaN }), RangeError);
    assert.throws(() => new MockClock({ autojumpThreshold: 2 ** 31 }), RangeError);
    assert.throws(() => new MockClock(5 as unknown as object), { name: "TypeError", message: /`options` must be an object, got 5 \(number\)/ });
    const clock = new MockClock({ rate: 0, autojumpThreshold: 5 });
    assert.throws(() => (clock.rate = -1), { name: "RangeError", message: /MockClock\.rate/ });
    assert.throws(() => (clock.autojumpThreshold = NaN), { name: "RangeError", message: /MockClock\.autojumpThreshold/ });
    assert.equal(clock.rate, 0);
    assert.equal(clock.autojumpThreshold, 5);
  });
});

describe("MockClock in a run", () => {
  test("autojump: sleep(3_600_000) finishes in well under a second of real time", async () => {
    const clock = new MockClock({ autojumpThreshold: 0 });
    const realStart = performance.now();
    await runOn(clock, async () => {
      let virtualStart = currentTime();
      for (let i = 0; i < 10; i++) {
        await sleep(10_000 * i);
        assert.equal(currentTime(), virtualStart + 10_000 * i);
        virtualStart = currentTime();
      }
      await sleep(3_600_000);
      assert.equal(currentTime(), 450_000 + 3_600_000);
    });
    assert.ok(performance.now() - realStart < 1_000, "virtual sleeps took real time");
  });

  test("with rate 0, time stands still until jump(), whatever real time does", async () => {
    const clock = new MockClock();
    const record: string[] = [];
    await runOn(clock, () =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          await sleep(100);
          record.push(`woke at ${currentTime()}`);
        });
        await waitAllTasksBlocked();
        // 15 real ms pass; the virtual clock does not move.
        await wait(new Promise((resolve) => setTimeout(resolve, 15)));
        assert.equal(currentTime(), 0);
        clock.jump(99);
        await waitAllTasksBlocked();
        assert.deepEqual(record, []);
        clock.jump(1);
        await waitAllTasksBlocked();
        assert.deepEqual(record, ["woke at 100"]);
      }));
  });

  test("a jump fires the sleeps it passes in deadline order, ties in the order they began", async () => {
    const clock = new MockClock();
    const record: string[] = [];
    await runOn(clock, () =>
      withTaskGroup(async (tg) => {
        for (const [name, ms] of [["c", 30], ["a", 10], ["b", 20], ["b2", 20], ["late", 1_000]] as const) {
          tg.spawn(async () => {
            await sleep(ms);
            record.push(`${name}@${currentTime()}`);
          });
        }
        await waitAllTasksBlocked();
        clock.jump(100);
        await waitAllTasksBlocked();
        assert.deepEqual(record, ["a@100", "b@100", "b2@100", "c@100"]);
        clock.jump(900);
      }));
    assert.deepEqual(record.at(-1), "late@1000");
  });

  test("failAfter and moveOnAfter follow virtual time", async () => {
    const clock = new MockClock({ autojumpThreshold: 0 });
    await runOn(clock, async () => {
      await assert.rejects(
        failAfter(1_000, () => sleep(2_000)),
        TimeoutError,
      );
      assert.equal(currentTime(), 1_000);
      const result = await moveOnAfter(500, () => sleepForever());
      assert.equal(result, undefined);
      assert.equal(currentTime(), 1_500);
      assert.equal(await failAfter(1_000, async () => (await sleep(999), "in time")), "in time");
      assert.equal(currentTime(), 2_499);
    });
  });

  test("a deadline does not pass while time stands still, however long the body takes in real time", async () => {
    const clock = new MockClock();
    await runOn(clock, async () => {
      const result = await moveOnAfter(5, () => wait(new Promise((resolve) => setTimeout(() => resolve("done"), 20))));
      assert.equal(result, "done");
    });
  });

  test("a supervisor's restart backoff follows virtual time", async () => {
    const clock = new MockClock({ autojumpThreshold: 0 });
    const starts: number[] = [];
    await runOn(clock, () =>
      withSupervisor(
        async (sup) => {
          sup.spawn(
            async () => {
              starts.push(currentTime());
              if (starts.length < 4) throw new Error("flaky");
            },
            { restart: "on-failure", maxRestarts: 5, backoffMs: 60_000, restartWindowMs: 3_600_000 },
          );
        },
        { onError: () => {} },
      ));
    assert.deepEqual(starts, [0, 60_000, 180_000, 420_000]);
  });

  test("with rate > 0, virtual time advances with real time and sleeps wake by themselves", async () => {
    const clock = new MockClock({ rate: 1_000 });
    const realStart = performance.now();
    await runOn(clock, async () => {
      const start = currentTime();
      await sleep(5_000); // 5 real ms
      assert.ok(currentTime() >= start + 5_000);
    });
    assert.ok(performance.now() - realStart < 1_000);
  });

  test("setting the rate during a run re-arms the run's timer: a stopped sleep starts running", async () => {
    const clock = new MockClock();
    await runOn(clock, () =>
      withTaskGroup(async (tg) => {
        const sleeper = tg.spawn(async () => {
          await sleep(2_000);
          return currentTime();
        });
        await waitAllTasksBlocked();
        assert.equal(sleeper.state, "running");
        clock.rate = 1_000; // 2 real ms to go
        const wokeAt = await sleeper.result();
        assert.ok(wokeAt >= 2_000);
        clock.rate = 0;
      }));
  });

  test("the autojump threshold can be set before the run and changed during it", async () => {
    const clock = new MockClock({ autojumpThreshold: 100 });
    clock.autojumpThreshold = 0; // picked up when the run attaches the clock
    const realStart = performance.now();
    await runOn(clock, async () => {
      await sleep(10_000);
      clock.autojumpThreshold = 20;
      const t = currentTime();
      // These wake before the autojump threshold triggers, so time does not change.
      await waitAllTasksBlocked();
      assert.equal(currentTime(), t);
      await waitAllTasksBlocked(10);
      assert.equal(currentTime(), t);
      // A watcher that would wait a long time must be replaced at once by the new threshold.
      clock.autojumpThreshold = 100_000;
      await waitAllTasksBlocked();
      clock.autojumpThreshold = 0;
      await sleep(100_000);
      clock.autojumpThreshold = Infinity;
      clock.autojumpThreshold = 0;
      await sleep(1);
    });
    assert.ok(performance.now() - realStart < 1_000);
  });

  test("a clock that no run uses does not autojump anything", async () => {
    const clock = new MockClock({ autojumpThreshold: 20 });
    const other = new MockClock();
    other.autojumpThreshold = 1; // not installed in the run: no effect
    await runOn(clock, async () => {
      // If the other clock's threshold of 1 ms applied, the run would autojump first.
      await waitAllTasksBlocked(10);
      await sleep(100_000);
    });
    assert.equal(other.now(), 0);
  });

  test("autojump waits for a pending waitAllTasksBlocked() with cushion 0", async () => {
    const clock = new MockClock({ autojumpThreshold: 0 });
    const record: string[] = [];
    await runOn(clock, () =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          await sleep(100);
          record.push("yawn");
        });
        tg.spawn(async () => {
          await waitAllTasksBlocked();
          record.push("waiter woke");
          await sleep(1_000);
          record.push("waiter done");
        });
      }));
    assert.deepEqual(record, ["waiter woke", "yawn", "waiter done"]);
  });

  test("autojump waits for a pending waitAllTasksBlocked() with a cushion longer than its threshold", async () => {
    const clock = new MockClock({ autojumpThreshold: 0 });
    const record: string[] = [];
    await runOn(clock, () =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          await sleep(100);
          record.push("yawn");
        });
        tg.spawn(async () => {
          await waitAllTasksBlocked(20);
          record.push("waiter done");
        });
      }));
    assert.deepEqual(record, ["waiter done", "yawn"]);
  });

  test("a task awaiting a foreign promise is not blocked, so autojump waits for it", async () => {
    const clock = new MockClock({ autojumpThreshold: 0 });
    const record: string[] = [];
    await runOn(clock, () =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          await new Promise((resolve) => setTimeout(resolve, 15));
          record.push(`foreign done at ${currentTime()}`);
        });
        tg.spawn(async () => {
          await sleep(1_000);
          record.push(`sleeper woke at ${currentTime()}`);
        });
      }));
    assert.deepEqual(record, ["foreign done at 0", "sleeper woke at 1000"]);
  });

  test("with nothing to jump to, autojump stays dormant until a deadline appears", async () => {
    // Counts how often autojump's watcher fires: a busy loop of idle checks would fire it on
    // every turn of the event loop while the run waits for the foreign promise.
    let firings = 0;
    class CountingClock extends MockClock {
      override attach(host: ClockHost): void {
        const whenAllBlocked = host.whenAllBlocked.bind(host);
        host.whenAllBlocked = (cushion, callback, lowPriority) =>
          whenAllBlocked(cushion, () => (firings++, callback()), lowPriority);
        super.attach(host);
      }
    }
    const clock = new CountingClock({ autojumpThreshold: 0 });
    await runOn(clock, async () => {
      // Every task blocked, no deadline: nothing to jump to for 30 real ms.
      await wait(new Promise((resolve) => setTimeout(resolve, 30)));
      await sleep(1_000); // a deadline again: autojump takes us there
      assert.equal(currentTime(), 1_000);
    });
    assert.ok(firings <= 2, `autojump fired ${firings} times`);
  });

  test("the runtime keeps a low-priority watcher dormant while it has no deadline (core)", async () => {
    const runtime = new Runtime(new MockClock());
    let fired = 0;
    // No tasks: every task (none) is blocked.
    runtime.whenAllBlocked(0, () => fired++, true);
    assert.ok(!process.getActiveResourcesInfo().includes("Immediate"), "an idle check was scheduled with nothing to jump to");
    const entry: TimerEntry = { deadline: 5, keepAlive: true, fire() {} };
    runtime.addTimer(entry);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(fired, 1);
    runtime.close();
    await assertNoTimersLeft();
  });

  test("a task that ended with a trellis wait left floating no longer counts as blocked (core)", async () => {
    const clock = new MockClock({ autojumpThreshold: 0 });
    await runOn(clock, async () => {
      await withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          // The race leaves the sleep parked after the task has ended.
          await Promise.race([sleep(1_000), Promise.resolve()]);
        });
      });
      // Main awaits a foreign promise: not blocked, so autojump must not move time.
      await new Promise((resolve) => setTimeout(resolve, 15));
      assert.equal(currentTime(), 0);
      await sleep(2_000); // blocked now: autojump fires the floating sleep, then this one
      assert.equal(currentTime(), 2_000);
    });
  });

  test("attach and detach register one autojump watcher per run and withdraw it", () => {
    const calls: string[] = [];
    const host: ClockHost = {
      nextDeadline: () => Infinity,
      timeChanged: () => calls.push("timeChanged"),
      whenAllBlocked: (cushion, _cb, lowPriority) => {
        calls.push(`watch ${cushion} ${lowPriority}`);
        return () => calls.push("withdraw");
      },
    };
    const clock = new MockClock({ autojumpThreshold: 3 });
    clock.attach(host);
    clock.autojumpThreshold = 7;
    clock.jump(1);
    clock.detach(host);
    clock.jump(1);
    clock.autojumpThreshold = 0;
    assert.deepEqual(calls, ["watch 3 true", "withdraw", "watch 7 true", "timeChanged", "withdraw"]);
  });

  test("a run with a mock clock leaves no timer behind, also when its sleeps were cut short", async () => {
    const clock = new MockClock({ rate: 1 });
    await runOn(clock, () =>
      withTaskGroup(async (tg) => {
        tg.spawn(() => sleep(60_000));
        tg.spawn(() => sleepForever());
        await waitAllTasksBlocked();
        tg.cancel();
      }));
  });
});
