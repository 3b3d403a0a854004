import { test } from "node:test";
import assert from "node:assert/strict";
import { run, sleep, checkpoint, withTaskGroup, wait, isCancelled, currentTime } from "../../src/index.js";
import { MockClock, waitAllTasksBlocked, assertCheckpoints } from "../../src/testing/index.js";

async function assertNoHandlesLeft(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  const left = process.getActiveResourcesInfo().filter((kind) => kind === "Timeout" || kind === "Immediate");
  assert.deepEqual(left, [], "run() left timers behind");
}

function realDelay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test("waitAllTasksBlocked() returns once a busy task has finished its checkpoints, to every waiter", async () => {
  const record: string[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        for (let i = 0; i < 10; i++) await checkpoint();
        record.push("busy bee exhausted");
      });
      for (let i = 0; i < 2; i++) {
        tg.spawn(async () => {
          await waitAllTasksBlocked();
          record.push("quiet at last!");
        });
      }
    }),
  );
  assert.deepEqual(record, ["busy bee exhausted", "quiet at last!", "quiet at last!"]);
  await assertNoHandlesLeft();
});

test("a cancelled waitAllTasksBlocked() raises Cancelled and withdraws its request", async () => {
  const record: string[] = [];
  const clock = new MockClock({ autojumpThreshold: 0 });
  await run(
    async () => {
      await withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          try {
            await waitAllTasksBlocked();
          } catch (err) {
            if (isCancelled(err)) record.push("ok");
            throw err;
          }
        });
        tg.cancel();
      });
      // A withdrawn request would stand in autojump's way for ever: this sleep would hang.
      await sleep(1_000);
      record.push(`slept to ${currentTime()}`);
    },
    { clock },
  );
  assert.deepEqual(record, ["ok", "slept to 1000"]);
  await assertNoHandlesLeft();
});

test("waitAllTasksBlocked() is a checkpoint: a cancelled caller gets Cancelled at once", async () => {
  await run(async () => {
    await assertCheckpoints(() => waitAllTasksBlocked());
    await assertCheckpoints(() => waitAllTasksBlocked(5));
  });
  await assertNoHandlesLeft();
});

test("with a mock clock, a sleeping task counts as blocked until a jump wakes it", async () => {
  const clock = new MockClock();
  const record: string[] = [];
  await run(
    () =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          record.push("tt start");
          await sleep(5);
          record.push("tt finished");
        });
        await waitAllTasksBlocked();
        assert.deepEqual(record, ["tt start"]);
        clock.jump(10);
        await waitAllTasksBlocked();
        assert.deepEqual(record, ["tt start", "tt finished"]);
      }),
    { clock },
  );
  await assertNoHandlesLeft();
});

test("with several waiters the smallest cushion returns first, whatever order they came in", async () => {
  const record: string[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      const waiter = (name: string, cushion: number) => async () => {
        await waitAllTasksBlocked(cushion);
        record.push(name);
      };
      tg.spawn(waiter("big cushion", 15));
      tg.spawn(waiter("small cushion 1", 5));
      tg.spawn(async () => {
        // Not blocked while it awaits foreign promises: nobody may return before it ends.
        record.push("blink start");
        for (let i = 0; i < 3; i++) await realDelay(5);
        record.push("blink end");
      });
      tg.spawn(waiter("small cushion 2", 5));
      tg.spawn(waiter("no cushion", 0));
    }),
  );
  assert.deepEqual(record, ["blink start", "blink end", "no cushion", "small cushion 1", "small cushion 2", "big cushion"]);
  await assertNoHandlesLeft();
});

test("a task awaiting a foreign promise is not blocked; the same promise through wait() is", async () => {
  const record: string[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await realDelay(15);
        record.push("foreign await done");
      });
      await waitAllTasksBlocked();
      record.push("all blocked");

      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      tg.spawn(async () => {
        await wait(gate);
        record.push("wait() done");
      });
      await waitAllTasksBlocked();
      record.push("all blocked again");
      release();
    }),
  );
  assert.deepEqual(record, ["foreign await done", "all blocked", "all blocked again", "wait() done"]);
  await assertNoHandlesLeft();
});

test("a cushion counts real idle time: the waiter returns no sooner than the cushion after the last wake-up", async () => {
  const wakes: number[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        // Blocked (in wait()) for one turn of the event loop at a time, waking in between.
        for (let i = 0; i < 20; i++) {
          await wait(new Promise((resolve) => setImmediate(resolve)));
          wakes.push(performance.now());
        }
      });
      const start = performance.now();
      await waitAllTasksBlocked(12);
      const idle = performance.now() - (wakes.at(-1) ?? start);
      // Node may fire a timer up to 1 ms early (whole-millisecond rounding).
      assert.ok(idle >= 11, `returned ${idle} ms after the last wake-up, before the 12 ms cushion`);
    }),
  );
  assert.equal(wakes.length, 20);
  await assertNoHandlesLeft();
});

test("waitAllTasksBlocked() rejects a negative, NaN, infinite or non-number cushion with RangeError", async () => {
  await run(async () => {
    for (const bad of [-1, NaN, Infinity, 2 ** 31, "5"]) {
      await assert.rejects(waitAllTasksBlocked(bad as number), {
        name: "RangeError",
        message: /^waitAllTasksBlocked\(\): `cushion` must be a finite number of real milliseconds ≥ 0/,
      });
    }
  });
  await assertNoHandlesLeft();
});

test("outside run(), waitAllTasksBlocked() waits for the tasks of task groups opened from plain code", async () => {
  const record: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  await withTaskGroup(async (tg) => {
    tg.spawn(async () => {
      await checkpoint();
      await wait(gate);
      record.push("child done");
    });
    await waitAllTasksBlocked();
    record.push("child blocked in wait()");
    release();
  });
  assert.deepEqual(record, ["child blocked in wait()", "child done"]);
  await assertNoHandlesLeft();
});
