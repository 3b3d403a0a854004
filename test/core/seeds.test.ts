// The seed scenarios (/work/shared/seeds) as tests: each shows the plain-promise failure, then
// the trellis behaviour that prevents it.
//   seed 001: the forgotten task (a floating promise vanishes; its failure is lost)
//   seed 002: the `finally` that sleeps after a cancel (edge- vs level-triggered cancellation)
//   seed 000: the timeout race (Promise.race leaves the loser running; asyncio.wait_for)
// The plain-promise versions use real timers (Node's own, which no MockClock reaches); the
// trellis versions run in virtual time (trellisTest with autojump) and check exact times.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import {
  currentTime,
  isCancelled,
  moveOnAfter,
  run,
  sleep,
  sleepForever,
  withCancelScope,
  withTaskGroup,
} from "../../src/index.js";
import { MockClock, trellisTest, waitAllTasksBlocked } from "../../src/testing/index.js";

describe("seed 001: the forgotten task", () => {
  // Real timers on purpose: plain promises on Node's own timers, which no MockClock reaches.
  test("plain promises: a floating background promise is still running when its caller has returned", async () => {
    const record: string[] = [];
    let background: Promise<void> | undefined;
    const main = async () => {
      background = (async () => {
        await delay(5);
        record.push("background finished");
      })(); // not awaited: nothing ties it to main
      return "main returned";
    };
    record.push(await main());
    assert.deepEqual(record, ["main returned"]); // the caller cannot know work is still going on
    await background;
    assert.deepEqual(record, ["main returned", "background finished"]);
  });

  // Real timers on purpose: plain promises on Node's own timers, which no MockClock reaches.
  test("plain promises: the failure of a floating promise reaches nobody", async () => {
    let caughtByCaller: unknown;
    const lost = new Error("lost failure");
    let floating: Promise<void> | undefined;
    try {
      await (async () => {
        floating = (async () => {
          await delay(1);
          throw lost;
        })();
        floating.catch(() => {}); // (only so that this test process does not crash)
      })();
    } catch (err) {
      caughtByCaller = err;
    }
    await delay(5);
    assert.equal(caughtByCaller, undefined); // the caller returned normally; the error went nowhere
  });

  test("trellis: the group does not return before its task, so the caller knows the work is done", trellisTest(async () => {
    const record: string[] = [];
    const main = () =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          await sleep(5);
          record.push("background finished");
        });
        return "main returned";
      });
    record.push((await main()) ?? "");
    assert.deepEqual(record, ["background finished", "main returned"]);
    assert.equal(currentTime(), 5);
  }, { autojump: true }));

  test("trellis: the failure of a background task surfaces from the group, and cancels the rest", async () => {
    const failure = new Error("background failure");
    const record: string[] = [];
    const err = await run(
      async () => {
        try {
          await withTaskGroup(async (tg) => {
            tg.spawn(async () => {
              await sleep(1);
              throw failure;
            });
            try {
              await sleepForever();
            } catch (e) {
              record.push(isCancelled(e) ? "main's wait cancelled" : "other");
              throw e;
            }
          });
        } catch (e) {
          return e;
        }
        return undefined;
      },
      { handleSignals: false, clock: new MockClock({ autojumpThreshold: 0 }) },
    );
    assert.equal(err, failure);
    assert.deepEqual(record, ["main's wait cancelled"]);
  });
});

describe("seed 002: the finally that sleeps after a cancel", () => {
  // Real timers on purpose: plain promises on Node's own timers, which no MockClock reaches.
  test("plain promises: after abort(), the cleanup's own wait runs to its end", async () => {
    const controller = new AbortController();
    const record: string[] = [];
    const task = (async () => {
      try {
        await delay(60_000, undefined, { signal: controller.signal });
      } catch {
        record.push("aborted");
      } finally {
        await delay(10); // "send QUIT and wait for the ack": nothing can interrupt it
        record.push("cleanup slept the whole time");
      }
    })();
    await delay(1);
    controller.abort();
    await task;
    assert.deepEqual(record, ["aborted", "cleanup slept the whole time"]);
  });

  test("trellis: inside a cancelled scope, the cleanup's sleep is cancelled at once", trellisTest(async () => {
    const record: string[] = [];
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        try {
          await sleep(60_000);
        } finally {
          try {
            await sleep(60_000); // would hang for a minute if cancellation were edge-triggered
            record.push("cleanup slept");
          } catch (err) {
            record.push(isCancelled(err) ? "cleanup's sleep raised Cancelled" : "other");
          }
        }
      });
      await waitAllTasksBlocked();
      tg.cancel();
    });
    assert.deepEqual(record, ["cleanup's sleep raised Cancelled"]);
    assert.equal(currentTime(), 0, "no virtual time passed: nothing slept");
  }, { autojump: true }));

  test("trellis: a cleanup that must wait opens a shielded scope, bounded by its own timeout", trellisTest(async () => {
    const record: string[] = [];
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        try {
          await sleepForever();
        } finally {
          await withCancelScope(
            async () => {
              await sleep(3); // the goodbye message's ack
              record.push("shielded cleanup completed");
            },
            { shield: true },
          );
          const bounded = await moveOnAfter(2, () => sleepForever(), { shield: true });
          record.push(`bounded cleanup gave up: ${String(bounded)}`);
        }
      });
      await waitAllTasksBlocked();
      tg.cancel();
    });
    assert.deepEqual(record, ["shielded cleanup completed", "bounded cleanup gave up: undefined"]);
    assert.equal(currentTime(), 3 + 2);
  }, { autojump: true }));
});

describe("seed 000: the timeout race", () => {
  // Real timers on purpose: plain promises on Node's own timers, which no MockClock reaches.
  test("plain promises: a Promise.race timeout returns while the loser keeps running", async () => {
    const record: string[] = [];
    const work = async () => {
      try {
        await delay(20);
        record.push("work finished after the timeout");
      } finally {
        record.push("work finally");
      }
    };
    const loser = work();
    const winner = await Promise.race([loser.then(() => "work"), delay(2).then(() => "timeout")]);
    record.push(`race returned ${winner}`);
    assert.deepEqual(record, ["race returned timeout"]);
    await loser;
    assert.deepEqual(record, ["race returned timeout", "work finished after the timeout", "work finally"]);
  });

  test("trellis: moveOnAfter cancels the work, whose finally runs before moveOnAfter returns", trellisTest(async () => {
    const record: string[] = [];
    const result = await moveOnAfter(2, async () => {
      try {
        await sleep(60_000);
        record.push("work finished after the timeout");
      } finally {
        record.push("work finally");
      }
      return "work";
    });
    record.push(`moveOnAfter returned ${String(result)}`);
    assert.equal(currentTime(), 2);
    await sleep(5);
    assert.deepEqual(record, ["work finally", "moveOnAfter returned undefined"]);
  }, { autojump: true }));

  test("trellis: a timeout around a group cancels and awaits every task of the group", trellisTest(async () => {
    const record: string[] = [];
    const result = await moveOnAfter(2, () =>
      withTaskGroup((tg) => {
        for (const name of ["a", "b"]) {
          tg.spawn(async () => {
            try {
              await sleep(60_000);
            } finally {
              record.push(`${name} finally`);
            }
          });
        }
      }),
    );
    record.push(`moveOnAfter returned ${String(result)}`);
    assert.deepEqual(record, ["a finally", "b finally", "moveOnAfter returned undefined"]);
    assert.equal(currentTime(), 2);
  }, { autojump: true }));
});
