import { test, describe } from "node:test";
import assert, { AssertionError } from "node:assert/strict";
import {
  sleep,
  sleepForever,
  currentTime,
  currentTask,
  checkpoint,
  withTaskGroup,
  moveOnAfter,
  systemClock,
} from "../../src/index.js";
import { MockClock, trellisTest, waitAllTasksBlocked, type TrellisTestContext } from "../../src/testing/index.js";

describe("trellisTest as a node:test body", () => {
  test(
    "an hour of sleep under autojump passes in an instant",
    trellisTest(
      async ({ clock }) => {
        assert.ok(clock instanceof MockClock);
        const realStart = performance.now();
        await sleep(3_600_000);
        assert.equal(currentTime(), 3_600_000);
        assert.ok(performance.now() - realStart < 1_000);
      },
      { autojump: true },
    ),
  );

  test(
    "the body runs as the root task of a run, and receives the runner's test context",
    trellisTest(async ({ testContext }) => {
      assert.notEqual(currentTask(), undefined);
      assert.equal((testContext as { name?: string }).name, "the body runs as the root task of a run, and receives the runner's test context");
    }),
  );

  const jumpy = new MockClock();
  test(
    "a given MockClock is the run's clock and can be jumped",
    trellisTest(
      async ({ clock }) => {
        assert.equal(clock, jumpy);
        await withTaskGroup(async (tg) => {
          tg.spawn(() => sleep(500));
          await waitAllTasksBlocked();
          clock.jump(500);
        });
        assert.equal(currentTime(), 500);
      },
      { clock: jumpy },
    ),
  );

  test(
    "without a clock option the run uses the real clock",
    trellisTest(async ({ clock }) => {
      assert.equal(clock, systemClock);
      const start = currentTime();
      await sleep(2);
      assert.ok(currentTime() - start >= 1);
    }),
  );
});

describe("trellisTest called directly", () => {
  test("the body's error fails the test as the same object", async () => {
    const boom = new Error("boom");
    const body = trellisTest(async () => {
      await checkpoint();
      throw boom;
    });
    await assert.rejects(body(), (err) => err === boom);
  });

  test("each call is a separate run; autojump makes a fresh MockClock for each", async () => {
    const clocks: MockClock[] = [];
    const body = trellisTest(
      async ({ clock }: TrellisTestContext<MockClock>) => {
        clocks.push(clock);
        await sleep(10);
        assert.equal(currentTime(), 10);
      },
      { autojump: 5 },
    );
    await body();
    await body();
    assert.equal(clocks.length, 2);
    assert.notEqual(clocks[0], clocks[1]);
    assert.equal(clocks[0]!.autojumpThreshold, 5);
  });

  test("autojump with a given MockClock sets that clock's threshold", async () => {
    const clock = new MockClock();
    await trellisTest(() => sleep(60_000), { clock, autojump: true })();
    assert.equal(clock.autojumpThreshold, 0);
    assert.equal(clock.now(), 60_000);
  });

  test("a timer left running by the body fails the test with a message that says what leaked", async () => {
    let handle: NodeJS.Timeout | undefined;
    const body = trellisTest(async () => {
      handle = setInterval(() => {}, 60_000);
    });
    try {
      await assert.rejects(body(), (err: unknown) => {
        assert.ok(err instanceof AssertionError);
        assert.match(err.message, /^trellisTest\(\): 1 Timeout handle\(s\) made during the test are still active after run\(\) returned/);
        return true;
      });
    } finally {
      clearInterval(handle);
    }
  });

  test("an immediate left pending by the body is a leak too", async () => {
    let handle: NodeJS.Immediate | undefined;
    // Re-armed from itself, so one turn of the event loop does not drain it.
    const again = () => {
      handle = setImmediate(again);
    };
    try {
      await assert.rejects(trellisTest(async () => again())(), { name: "AssertionError", message: /1 Immediate handle/ });
    } finally {
      clearImmediate(handle);
    }
  });

  test("checkLeaks: false turns the check off", async () => {
    let handle: NodeJS.Timeout | undefined;
    try {
      await trellisTest(
        async () => {
          handle = setTimeout(() => {}, 60_000);
        },
        { checkLeaks: false },
      )();
    } finally {
      clearTimeout(handle);
    }
  });

  test("trellis's own timers are never reported: sleeps, deadlines, cancelled waits, busy loops", async () => {
    await trellisTest(async () => {
      await withTaskGroup(async (tg) => {
        tg.spawn(() => sleep(60_000));
        tg.spawn(() => sleepForever());
        tg.spawn(async () => {
          for (let i = 0; i < 5_000; i++) await checkpoint(); // long enough to yield to the event loop
        });
        await moveOnAfter(5, () => sleepForever());
        await waitAllTasksBlocked();
        tg.cancel();
      });
    })();
    await trellisTest(
      async () => {
        await moveOnAfter(1_000, () => sleepForever());
      },
      { autojump: true },
    )();
  });

  test("a sleepForever() left floating in Promise.race does not keep the process alive after the run (core)", async () => {
    await trellisTest(async () => {
      await Promise.race([sleepForever(), sleep(1)]);
    })();
    assert.deepEqual(
      process.getActiveResourcesInfo().filter((kind) => kind === "Timeout"),
      [],
    );
  });

  test("the run leaves the process's signal handling alone", async () => {
    const before = process.listenerCount("SIGINT");
    await trellisTest(async () => {
      assert.equal(process.listenerCount("SIGINT"), before);
    })();
  });

  test("bad arguments throw at once, naming the argument", () => {
    assert.throws(() => trellisTest("body" as unknown as () => void), {
      name: "TypeError",
      message: 'trellisTest(): `fn` must be a function, got "body" (string)',
    });
    assert.throws(() => trellisTest(() => {}, { autojump: true, clock: systemClock as unknown as MockClock }), {
      name: "TypeError",
      message: /`options.autojump` needs a MockClock, but `options.clock` is/,
    });
    assert.throws(() => trellisTest(() => {}, { autojump: "yes" as unknown as boolean }), {
      name: "TypeError",
      message: /`options.autojump` must be a boolean or a threshold in real milliseconds, got "yes" \(string\)/,
    });
    assert.throws(() => trellisTest(() => {}, { autojump: -1 }), RangeError);
    assert.throws(() => trellisTest(() => {}, { checkLeaks: "no" as unknown as boolean }), {
      name: "TypeError",
      message: /`options.checkLeaks` must be a boolean/,
    });
    assert.throws(() => trellisTest(() => {}, { clock: {} as unknown as MockClock }), {
      name: "TypeError",
      message: /`options.clock` must implement now\(\) and deadlineToSleepTime\(\)/,
    });
  });
});
