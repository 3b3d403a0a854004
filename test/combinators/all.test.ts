import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  all,
  checkpoint,
  currentTask,
  currentTime,
  isCancelled,
  run,
  sleep,
  sleepForever,
  suppressedErrors,
  wait,
  withCancelScope,
  withTaskGroup,
} from "../../src/index.js";
import { trellisTest } from "../../src/testing/index.js";

// Tests that sleep run in virtual time (trellisTest with autojump) and check exact times.

/** Timers of ours still armed (a leaked sleep would show here). */
function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout" || r === "Immediate").length;
}

describe("all()", () => {
  test("results come back in input order, whatever order the functions finish in", trellisTest(async () => {
    const result = await all([
      async () => {
        await sleep(6);
        return "slow";
      },
      async () => {
        await sleep(1);
        return "fast";
      },
      () => "sync",
    ]);
    assert.deepEqual(result, ["slow", "fast", "sync"]);
    assert.equal(currentTime(), 6);
  }, { autojump: true }));

  test("all([]) returns [] and is still a checkpoint", async () => {
    assert.deepEqual(await all([]), []);
    const record: string[] = [];
    await withCancelScope(async (scope) => {
      scope.cancel();
      await all([]);
      record.push("after all([])");
    });
    assert.deepEqual(record, []);
  });

  test("a cancelled caller raises Cancelled before any function runs", async () => {
    const record: string[] = [];
    const outcome = await withCancelScope(async (scope) => {
      scope.cancel();
      await all([() => record.push("ran")]);
      return "returned";
    });
    assert.equal(outcome, undefined);
    assert.deepEqual(record, []);
  });

  test("the first failure cancels the others, waits for their finally blocks, then is thrown as the same object", trellisTest(async () => {
    const record: string[] = [];
    const boom = new Error("boom");
    await assert.rejects(
      all([
        async () => {
          try {
            await sleepForever();
          } finally {
            await withCancelScope(() => sleep(2), { shield: true }); // a slow cleanup
            record.push("a: cleaned up");
          }
        },
        async () => {
          await sleep(1);
          throw boom;
        },
        async () => {
          try {
            await sleepForever();
          } catch (err) {
            record.push(`c: ${isCancelled(err) ? "cancelled" : "other"}`);
            throw err;
          }
        },
      ]).finally(() => record.push("all() settled")),
      (err) => err === boom,
    );
    assert.deepEqual(record, ["c: cancelled", "a: cleaned up", "all() settled"]);
    assert.equal(currentTime(), 1 + 2, "all() waited for a's shielded cleanup");
  }, { autojump: true }));

  test("later failures are kept in suppressedErrors() of the one thrown", async () => {
    const first = new Error("first");
    const second = new Error("second");
    const err = await all([
      async () => {
        await checkpoint();
        throw first;
      },
      async () => {
        try {
          await sleepForever();
        } finally {
          // eslint-disable-next-line no-unsafe-finally
          throw second;
        }
      },
    ]).catch((e: unknown) => e);
    assert.equal(err, first);
    assert.deepEqual(suppressedErrors(err), [second]);
  });

  test("cancelling the caller while the functions run cancels and awaits them, then raises Cancelled", trellisTest(async () => {
    const record: string[] = [];
    await withCancelScope(async (scope) => {
      try {
        await all([
          async () => {
            try {
              await sleepForever();
            } finally {
              record.push("child finally");
            }
          },
          async () => {
            await sleep(1);
            scope.cancel();
            await sleepForever();
          },
        ]);
        record.push("all() returned");
      } catch (err) {
        record.push(isCancelled(err) ? "Cancelled" : "other");
        throw err;
      }
    });
    assert.deepEqual(record, ["child finally", "Cancelled"]);
    assert.equal(currentTime(), 1);
  }, { autojump: true }));

  test("results complete before a cancellation arrives are returned", async () => {
    const record: unknown[] = [];
    await withCancelScope(async (scope) => {
      const result = await all([
        () => 1,
        async () => {
          await checkpoint();
          scope.cancel(); // the last function finishes normally after cancelling the caller
          return 2;
        },
      ]);
      record.push(result);
      await checkpoint();
      record.push("not reached");
    });
    assert.deepEqual(record, [[1, 2]]);
  });

  test("each function runs in its own task, named after the function or its index", async () => {
    const names = await withTaskGroup(() =>
      all([
        function fetchUser() {
          return currentTask()?.name;
        },
        () => currentTask()?.name,
      ]),
    );
    assert.deepEqual(names, ["fetchUser", "all() fns[1]"]);
  });

  test("a non-function entry is a TypeError naming its index", async () => {
    await assert.rejects(all([() => 1, () => 2, Promise.resolve(3)] as never), {
      name: "TypeError",
      message: /^all\(\): `fns\[2\]` must be a function, got \[object Promise\] \(object\)/,
    });
    await assert.rejects(all(42 as never), { name: "TypeError", message: /all\(\): `fns` must be an array of functions, got 42 \(number\)/ });
  });

  // Real clock on purpose: a MockClock arms no real timer, and real timers are what it counts.
  test("works inside run() and leaves no timer behind", async () => {
    const before = timers();
    const result = await run(() =>
      all([
        async () => {
          await sleep(2);
          return "a";
        },
        async () => {
          await sleep(1);
          throw new Error("b failed");
        },
      ]).catch((err: Error) => err.message),
    );
    assert.equal(result, "b failed");
    assert.equal(timers(), before);
  });
});

describe("seed 000: asyncio.gather does not cancel the other tasks when one fails", () => {
  // The article: gather propagates the first exception but leaves the other awaitables running.
  // Promise.all has the same flaw; all() cancels the others and waits for them first. The slow
  // fetches wait for `gate`, which the test opens only after the caller has seen the error.
  const fetchers = (record: string[], gate: Promise<void>) => [
    async () => {
      await wait(gate);
      record.push("fetch users finished");
      return "users";
    },
    async () => {
      await sleep(2);
      throw new Error("fetch orders failed");
    },
    async () => {
      try {
        await wait(gate);
        record.push("fetch prices finished");
        return "prices";
      } finally {
        record.push("fetch prices finally");
      }
    },
  ];

  // Real clock on purpose: plain promises outside run(), as people write them today.
  test("with Promise.all the siblings keep running after the rejection", async () => {
    const record: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const promises = fetchers(record, gate).map((f) => f());
    await assert.rejects(Promise.all(promises), /fetch orders failed/);
    record.push("caller sees the error");
    open();
    await Promise.allSettled(promises); // nobody can cancel them: all we can do is wait
    assert.deepEqual(record, ["caller sees the error", "fetch users finished", "fetch prices finished", "fetch prices finally"]);
  });

  test("with all() the siblings are cancelled, and have cleaned up before the caller sees the error", trellisTest(async () => {
    const record: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    await assert.rejects(all(fetchers(record, gate)), /fetch orders failed/);
    record.push("caller sees the error");
    open();
    await gate;
    assert.deepEqual(record, ["fetch prices finally", "caller sees the error"]);
    assert.equal(currentTime(), 2);
  }, { autojump: true }));
});
