// run() in this process (API.md §1 "Running"): its result, its errors, its listeners and what
// it leaves behind. The signal handling itself is tested on child processes in run-process.test.ts.
// Runs that sleep use a MockClock with autojump (virtual time), except where real timers are the point.

/** Virtual time that jumps to the next deadline as soon as every task is blocked. */
const virtual = () => new MockClock({ autojumpThreshold: 0 });
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CancelScope,
  checkpoint,
  currentTask,
  currentTime,
  isCancelled,
  moveOnAfter,
  run,
  sleep,
  sleepForever,
  suppressedErrors,
  withCancelScope,
  withTaskGroup,
  type Clock,
  type Instrument,
  type TaskInfo,
} from "../../src/index.js";
import { MockClock } from "../../src/testing/index.js";
import { thrown } from "../support/thrown.js";

/** Ref'd Timeout/Immediate handles of the process: what would keep it alive. */
function timers(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout" || r === "Immediate");
}

function signalListeners(): { SIGINT: number; SIGTERM: number } {
  return { SIGINT: process.listenerCount("SIGINT"), SIGTERM: process.listenerCount("SIGTERM") };
}

describe("run", () => {
  test("run resolves with the result of main", async () => {
    assert.equal(await run(async () => 8), 8);
    assert.equal(await run(() => "sync main"), "sync main");
  });

  test("run rejects with main's error as the same object", async () => {
    const boom = new Error("main failed");
    assert.equal(await thrown(() => run(async () => {
      await checkpoint();
      throw boom;
    })), boom);
  });

  test("run returns only when every task it started has finished", async () => {
    const record: string[] = [];
    await run(async () => {
      await withTaskGroup((tg) => {
        tg.spawn(async () => {
          await sleep(3);
          tg.spawn(async () => {
            await sleep(1);
            record.push("grandchild");
          });
          record.push("child");
        });
      });
      assert.equal(currentTime(), 3 + 1);
      record.push("main");
    }, { clock: virtual() });
    record.push("run returned");
    assert.deepEqual(record, ["child", "grandchild", "main", "run returned"]);
  });

  test("main runs as the root task of the run, with no enclosing cancel scope", async () => {
    await run(async function main() {
      const task = currentTask();
      assert.equal(task?.name, "main");
      assert.equal(task?.parent, undefined);
      await checkpoint();
    });
  });

  test("run's SIGINT/SIGTERM listeners exist only while it runs", async () => {
    const before = signalListeners();
    let during: ReturnType<typeof signalListeners> | undefined;
    await run(async () => {
      during = signalListeners();
      await sleep(1);
    }, { clock: virtual() });
    assert.deepEqual(during, { SIGINT: before.SIGINT + 1, SIGTERM: before.SIGTERM + 1 });
    assert.deepEqual(signalListeners(), before);
    // also when main fails
    await assert.rejects(run(() => Promise.reject(new Error("x"))));
    assert.deepEqual(signalListeners(), before);
  });

  test("run with handleSignals: false adds no signal listener", async () => {
    const before = signalListeners();
    await run(
      () => {
        assert.deepEqual(signalListeners(), before);
      },
      { handleSignals: false },
    );
  });

  // Real clock on purpose: a MockClock arms no real timer, and real timers are what it counts.
  test("after run() returns, no Timeout or Immediate of trellis is left", async () => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const before = timers();
    await run(
      async () => {
        await withTaskGroup(async (tg) => {
          tg.spawn(() => moveOnAfter(2, () => sleep(60_000)));
          tg.spawn(() => moveOnAfter(2, () => sleepForever()));
          tg.spawn(() => withCancelScope(() => sleep(1), { deadline: currentTime() + 600_000 }));
          tg.spawn(async () => {
            const start = performance.now();
            while (performance.now() - start < 20) await checkpoint();
          });
          const t = tg.spawn(() => sleepForever());
          await sleep(1);
          t.cancel();
        });
        for (let i = 0; i < 500; i++) await checkpoint();
      },
      { handleSignals: false },
    );
    assert.deepEqual(timers(), before);
  });

  test("an error escaping run() carries the chain of tasks it came from in its stack", async () => {
    const err = await thrown(() =>
      run(
        async function main() {
          await withTaskGroup((tg) => {
            tg.spawn(
              async () => {
                await sleep(1);
                throw new Error("deep failure");
              },
              { name: "worker" },
            );
          });
        },
        { handleSignals: false, clock: virtual() },
      ),
    );
    const stack = (err as Error).stack ?? "";
    assert.match(stack, /deep failure/);
    assert.match(stack, /in task "worker" \(#\d+\), spawned by task "main" \(#\d+\)/);
  });

  test("later errors of the group are kept behind the first and printed on stderr by run()", async () => {
    const first = new Error("first failure");
    const later = new Error("later failure");
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    (process.stderr as { write: unknown }).write = (chunk: unknown) => {
      written.push(String(chunk));
      return true;
    };
    let err: unknown;
    try {
      err = await thrown(() =>
        run(
          () =>
            withTaskGroup((tg) => {
              tg.spawn(async () => {
                await sleep(1);
                throw first;
              });
              tg.spawn(async () => {
                try {
                  await sleepForever();
                } finally {
                  // eslint-disable-next-line no-unsafe-finally
                  throw later;
                }
              });
            }),
          { handleSignals: false, clock: virtual() },
        ),
      );
    } finally {
      (process.stderr as { write: unknown }).write = original;
    }
    assert.equal(err, first);
    assert.deepEqual(suppressedErrors(err), [later]);
    assert.match(written.join(""), /later failure/);
  });

  // Real time on purpose: a hand-written Clock that runs on the real clock, as a user's might.
  test("run uses the clock it is given for currentTime, sleeps and deadlines", async () => {
    const offset = 5_000_000;
    const clock: Clock = {
      now: () => performance.now() + offset,
      deadlineToSleepTime: (deadline) => deadline - (performance.now() + offset),
    };
    await run(
      async () => {
        const start = currentTime();
        assert.ok(start >= offset);
        await sleep(2);
        assert.ok(currentTime() >= start + 2);
        const scope = new CancelScope({ deadline: currentTime() + 2 });
        await scope.run(() => sleepForever());
        assert.equal(scope.cancelledCaught, true);
      },
      { clock, handleSignals: false },
    );
  });

  test("instruments hear every task spawned and exited", async () => {
    const record: string[] = [];
    const instrument: Instrument = {
      taskSpawned: (t: TaskInfo) => record.push(`spawned ${t.name}`),
      taskExited: (t: TaskInfo) => record.push(`exited ${t.name}`),
    };
    await run(
      async function main() {
        await withTaskGroup((tg) => {
          tg.spawn(() => sleep(1), { name: "child" });
        });
      },
      { instruments: [instrument], handleSignals: false, clock: virtual() },
    );
    assert.deepEqual(record, ["spawned main", "spawned child", "exited child", "exited main"]);
  });

  test("concurrent runs are independent: cancelling inside one does not reach the other", async () => {
    const record: string[] = [];
    await Promise.all([
      run(
        async () => {
          await withCancelScope(async (scope) => {
            scope.cancel();
            await sleepForever();
          });
          record.push("a done");
        },
        { handleSignals: false },
      ),
      run(
        async () => {
          await sleep(3);
          record.push("b done");
        },
        { handleSignals: false, clock: virtual() },
      ),
    ]);
    assert.deepEqual(record.sort(), ["a done", "b done"]);
  });

  test("a Cancelled leaking out of main is not swallowed by run()", async () => {
    const err = await thrown(() =>
      run(
        async () => {
          let inner: unknown;
          await withCancelScope(async (scope) => {
            scope.cancel();
            try {
              await checkpoint();
            } catch (e) {
              inner = e;
            }
          });
          throw inner; // rethrown outside the scope that raised it
        },
        { handleSignals: false },
      ),
    );
    assert.ok(isCancelled(err));
  });
});

describe("bad arguments", () => {
  test("run with a non-function main throws TypeError naming main", async () => {
    for (const main of [undefined, 42, Promise.resolve(1)]) {
      const err = await thrown(() => run(main as never));
      assert.ok(err instanceof TypeError);
      assert.match((err as Error).message, /`main`/);
    }
  });

  test("run with options of the wrong type throws TypeError naming the option", async () => {
    const main = async () => 1;
    const before = signalListeners();
    const cases: [unknown, RegExp][] = [
      ["fast", /options/],
      [{ handleSignals: "no" }, /handleSignals/],
      [{ clock: {} }, /clock/],
      [{ clock: 5 }, /clock/],
      [{ instruments: {} }, /instruments/],
    ];
    for (const [options, name] of cases) {
      const err = await thrown(() => run(main, options as never));
      assert.ok(err instanceof TypeError, JSON.stringify(options));
      assert.match((err as Error).message, name);
    }
    assert.deepEqual(signalListeners(), before, "a refused run() leaves no listener");
  });
});
