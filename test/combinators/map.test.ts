import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { checkpoint, currentTime, isCancelled, map, run, sleep, sleepForever, withCancelScope } from "../../src/index.js";
import { trellisTest } from "../../src/testing/index.js";

// Tests that sleep run in virtual time (trellisTest with autojump) and check exact times.

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout" || r === "Immediate").length;
}

/** Counts calls running at once. */
function gauge() {
  let active = 0;
  let max = 0;
  return {
    enter() {
      max = Math.max(max, ++active);
    },
    leave() {
      active--;
    },
    get max() {
      return max;
    },
  };
}

describe("map()", () => {
  test("fn gets each item and its index; results keep the input order", trellisTest(async () => {
    const results = await map(
      [30, 10, 20],
      async (ms, i) => {
        await sleep(ms / 10);
        return `${i}:${ms}`;
      },
      { concurrency: 2 },
    );
    assert.deepEqual(results, ["0:30", "1:10", "2:20"]);
    assert.equal(currentTime(), 3, "item 2 started when item 1 ended, at 1, and ended with item 0, at 3");
  }, { autojump: true }));

  test("runs at most `concurrency` calls at once, and reaches it", async () => {
    const g = gauge();
    await map(
      Array.from({ length: 20 }, (_, i) => i),
      async () => {
        g.enter();
        await checkpoint();
        await checkpoint();
        g.leave();
      },
      { concurrency: 3 },
    );
    assert.equal(g.max, 3);
  });

  test("the default concurrency is Infinity: every item runs at once", trellisTest(async () => {
    const g = gauge();
    await map(new Set([1, 2, 3, 4, 5]), async () => {
      g.enter();
      await sleep(1);
      g.leave();
    });
    assert.equal(g.max, 5);
    assert.equal(currentTime(), 1);
  }, { autojump: true }));

  test("no task is made per pending item: 1,000 items with concurrency 4 use 4 tasks", async () => {
    let spawned = 0;
    await run(
      () =>
        map(
          Array.from({ length: 1_000 }, (_, i) => i),
          async (x) => {
            await checkpoint();
            return x;
          },
          { concurrency: 4 },
        ),
      { instruments: [{ taskSpawned: () => void spawned++ }] },
    );
    assert.equal(spawned, 1 + 4); // the root task of run(), and 4 workers
  });

  test("an infinite async generator with concurrency 4 is read at most 4 items ahead", trellisTest(async () => {
    let pulled = 0;
    let finished = 0;
    let maxAhead = 0;
    let closed = false;
    async function* naturals() {
      try {
        for (let i = 0; ; i++) {
          await checkpoint();
          pulled++;
          maxAhead = Math.max(maxAhead, pulled - finished);
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    const stop = new Error("enough");
    await assert.rejects(
      map(
        naturals(),
        async (i) => {
          await sleep(i % 3);
          if (i === 40) throw stop;
          finished++;
        },
        { concurrency: 4 },
      ),
      (err) => err === stop,
    );
    assert.equal(maxAhead, 4);
    assert.equal(closed, true, "the generator was closed (its finally ran)");
  }, { autojump: true }));

  test("async iterables keep their order with several workers reading", trellisTest(async () => {
    async function* slowly() {
      for (let i = 0; i < 12; i++) {
        await sleep(i % 2);
        yield i;
      }
    }
    const results = await map(slowly(), async (x, i) => {
      await sleep((12 - x) % 4);
      return [x, i];
    }, { concurrency: 5 });
    assert.deepEqual(results, Array.from({ length: 12 }, (_, i) => [i, i]));
  }, { autojump: true }));

  test("fails fast: the first error cancels the running calls, awaits them, starts no more and closes the input", trellisTest(async () => {
    const record: string[] = [];
    let closed = false;
    function* items() {
      try {
        for (let i = 0; i < 100; i++) yield i;
      } finally {
        closed = true;
      }
    }
    const boom = new Error("boom");
    await assert.rejects(
      map(
        items(),
        async (i) => {
          record.push(`start ${i}`);
          try {
            if (i === 2) {
              await sleep(1);
              throw boom;
            }
            await sleepForever();
          } finally {
            record.push(`end ${i}`);
          }
        },
        { concurrency: 3 },
      ).finally(() => record.push("map settled")),
      (err) => err === boom,
    );
    assert.deepEqual(record.slice(0, 3), ["start 0", "start 1", "start 2"]);
    assert.deepEqual(record.slice(3).sort(), ["end 0", "end 1", "end 2", "map settled"].sort());
    assert.equal(record.at(-1), "map settled");
    assert.equal(closed, true);
  }, { autojump: true }));

  test("an error thrown by the iterator itself fails the map, and the iterator is not closed", async () => {
    let returned = false;
    const failing: Iterable<number> = {
      [Symbol.iterator]() {
        let i = 0;
        return {
          next: () => {
            if (i === 3) throw new Error("source broke");
            return { value: i++, done: false };
          },
          return: () => {
            returned = true;
            return { value: undefined, done: true };
          },
        };
      },
    };
    await assert.rejects(map(failing, (x) => x, { concurrency: 2 }), /source broke/);
    assert.equal(returned, false);
  });

  test("cancelling the caller cancels the running calls, closes the input and raises Cancelled", async () => {
    const record: string[] = [];
    async function* ticks() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        record.push("input closed");
      }
    }
    await withCancelScope(async (scope) => {
      try {
        await map(
          ticks(),
          async (i) => {
            if (i === 5) scope.cancel();
            await sleepForever();
          },
          { concurrency: 8 },
        );
      } catch (err) {
        record.push(isCancelled(err) ? "Cancelled" : "other");
        throw err;
      }
    });
    assert.deepEqual(record, ["input closed", "Cancelled"]);
  });

  test("a cancelled caller raises Cancelled before reading anything", async () => {
    let read = false;
    const items = {
      *[Symbol.iterator]() {
        read = true;
        yield 1;
      },
    };
    await withCancelScope(async (scope) => {
      scope.cancel();
      await map(items, (x) => x);
    });
    assert.equal(read, false);
  });

  test("an empty input gives [] and sync functions work", async () => {
    assert.deepEqual(await map([], (x) => x), []);
    assert.deepEqual(await map("abc", (c) => c.toUpperCase(), { concurrency: 1 }), ["A", "B", "C"]);
  });

  test("concurrency 1 runs the calls one after another in input order", trellisTest(async () => {
    const record: string[] = [];
    await map(
      [1, 2, 3],
      async (x) => {
        record.push(`start ${x}`);
        await sleep(1);
        record.push(`end ${x}`);
      },
      { concurrency: 1 },
    );
    assert.deepEqual(record, ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]);
    assert.equal(currentTime(), 3);
  }, { autojump: true }));

  test("bad arguments name themselves", async () => {
    for (const concurrency of [0, -1, 1.5, NaN, "4", -Infinity]) {
      await assert.rejects(map([1], (x) => x, { concurrency: concurrency as number }), {
        name: typeof concurrency === "number" ? "RangeError" : "TypeError",
        message: new RegExp("^map\\(\\): `options.concurrency` must be an integer ≥ 1 or Infinity, got "),
      });
    }
    await assert.rejects(map(5 as never, (x) => x), { name: "TypeError", message: /`items` must be an iterable or an async iterable, got 5 \(number\)/ });
    await assert.rejects(map([1], "f" as never), { name: "TypeError", message: /map\(\): `fn` must be a function/ });
    await assert.rejects(map([1], (x) => x, 3 as never), { name: "TypeError", message: /map\(\): `options` must be an object/ });
  });

  // Real clock on purpose: a MockClock arms no real timer, and real timers are what it counts.
  test("leaves no timer behind after a failure inside run()", async () => {
    const before = timers();
    await run(() =>
      map([1, 2, 3], async (x) => {
        if (x === 2) throw new Error("x");
        await sleep(60_000);
      }).catch(() => "failed"),
    );
    assert.equal(timers(), before);
  });

  test("property: same results as a sequential loop, never more than `concurrency` at once (fast-check seed 42)", async () => {
    const seed = 42;
    console.log(`# map property test: fast-check seed ${seed}`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 6 }),
        fc.boolean(),
        async (steps, concurrency, asAsync) => {
          const g = gauge();
          async function* gen() {
            yield* steps;
          }
          const input = asAsync ? gen() : steps;
          const results = await map(
            input,
            async (n, i) => {
              g.enter();
              for (let k = 0; k < n; k++) await checkpoint();
              g.leave();
              return n * 100 + i;
            },
            { concurrency },
          );
          assert.deepEqual(results, steps.map((n, i) => n * 100 + i));
          assert.ok(g.max <= concurrency);
        },
      ),
      { seed, numRuns: 200 },
    );
  });
});
