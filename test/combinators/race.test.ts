import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkpoint, currentTime, isCancelled, race, run, sleep, sleepForever, withCancelScope } from "../../src/index.js";
import { trellisTest } from "../../src/testing/index.js";

// Tests that sleep run in virtual time (trellisTest with autojump) and check exact times.

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout" || r === "Immediate").length;
}

describe("race()", () => {
  test("the first to complete wins; the losers are cancelled and their finally blocks have run before race returns", trellisTest(async () => {
    const record: string[] = [];
    const winner = await race([
      async () => {
        try {
          await sleep(10_000);
          return "slow";
        } finally {
          record.push("slow: finally");
        }
      },
      async () => {
        await sleep(1);
        return "fast";
      },
      async () => {
        try {
          await sleepForever();
        } catch (err) {
          record.push(`forever: ${isCancelled(err) ? "cancelled" : "other"}`);
          throw err;
        }
      },
    ]);
    record.push(`race returned ${winner}`);
    assert.deepEqual([...record].sort(), ["forever: cancelled", "race returned fast", "slow: finally"]);
    assert.equal(record.at(-1), "race returned fast");
    assert.equal(currentTime(), 1);
  }, { autojump: true }));

  test("a loser with a slow cleanup is awaited before race returns", trellisTest(async () => {
    const record: string[] = [];
    await race([
      async () => {
        try {
          await sleepForever();
        } finally {
          await withCancelScope(() => sleep(3), { shield: true });
          record.push("loser cleaned up");
        }
      },
      () => "now",
    ]);
    record.push("race returned");
    assert.deepEqual(record, ["loser cleaned up", "race returned"]);
    assert.equal(currentTime(), 3);
  }, { autojump: true }));

  test("if the first to finish throws, race cancels the rest and throws that error", trellisTest(async () => {
    const record: string[] = [];
    const boom = new Error("boom");
    await assert.rejects(
      race([
        async () => {
          try {
            await sleep(10_000);
            return 1;
          } finally {
            record.push("loser finally");
          }
        },
        async () => {
          await sleep(1);
          throw boom;
        },
      ]),
      (err) => err === boom,
    );
    assert.deepEqual(record, ["loser finally"]);
    assert.equal(currentTime(), 1);
  }, { autojump: true }));

  test("a loser that completes in the same turn as the winner does not replace its value", async () => {
    const winner = await race([
      async () => {
        await checkpoint();
        return "first";
      },
      async () => {
        await checkpoint();
        return "second";
      },
    ]);
    assert.equal(winner, "first");
  });

  test("a loser that fails with a real error while being cancelled is not silenced", async () => {
    const cleanup = new Error("cleanup failed");
    await assert.rejects(
      race([
        async () => {
          try {
            await sleepForever();
          } finally {
            // eslint-disable-next-line no-unsafe-finally
            throw cleanup;
          }
        },
        () => "winner",
      ]),
      (err) => err === cleanup,
    );
  });

  // Real clock on purpose: a MockClock arms no real timer, and real timers are what it counts.
  test("nothing of a loser keeps the process alive once race returns", async () => {
    const before = timers();
    await run(() => race([() => sleep(60_000), () => sleep(1)]));
    assert.equal(timers(), before);
    await race([() => sleep(60_000), () => sleep(1)]); // also outside run()
    assert.equal(timers(), before);
  });

  test("cancelling the caller cancels and awaits every entry, then raises Cancelled", trellisTest(async () => {
    const record: string[] = [];
    const result = await withCancelScope(async (scope) => {
      await race([
        async () => {
          try {
            await sleepForever();
          } finally {
            record.push("a finally");
          }
        },
        async () => {
          await sleep(1);
          scope.cancel();
          await sleepForever();
        },
      ]);
      record.push("race returned");
    });
    assert.equal(result, undefined);
    assert.deepEqual(record, ["a finally"]);
    assert.equal(currentTime(), 1);
  }, { autojump: true }));

  test("a cancelled caller raises Cancelled before any entry runs", async () => {
    const record: string[] = [];
    await withCancelScope(async (scope) => {
      scope.cancel();
      await race([() => record.push("ran")]);
    });
    assert.deepEqual(record, []);
  });

  test("race([]) is a RangeError: a race of nothing would never finish", async () => {
    await assert.rejects(race([]), { name: "RangeError", message: /^race\(\): `fns` must hold at least one function/ });
  });

  test("a non-function entry is a TypeError naming its index", async () => {
    await assert.rejects(race([() => 1, "x"] as never), {
      name: "TypeError",
      message: /^race\(\): `fns\[1\]` must be a function, got "x" \(string\)/,
    });
  });
});
