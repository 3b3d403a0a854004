import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  ClosedResourceError,
  currentTime,
  isCancelled,
  run,
  RuntimeError,
  sleep,
  sleepForever,
  TaskGroupError,
  withCancelScope,
  withSupervisor,
  type FailureInfo,
  type Task,
} from "../../src/index.js";
import { MockClock, trellisTest, waitAllTasksBlocked } from "../../src/testing/index.js";

// Tests that wait run in virtual time: a MockClock with autojump (trellisTest, or run() given
// `virtual()`), which jumps to the next deadline whenever every task is blocked; restart
// backoffs and "fails after 1 s" are then exact. waitAllTasksBlocked() replaces "sleep a little
// so that the others are parked".

interface Report {
  err: unknown;
  task: Task<unknown>;
  info: FailureInfo;
}

/** An onError that records its calls, and the calls themselves. */
function reports(record?: string[]) {
  const calls: Report[] = [];
  const onError = (err: unknown, task: Task<unknown>, info: FailureInfo) => {
    calls.push({ err, task, info });
    record?.push(`reported ${task.name}: ${(err as Error).message} (${info.action})`);
  };
  return { calls, onError };
}

/** Collects what is written to stderr while `fn` runs. */
async function captureStderr<T>(fn: () => Promise<T>, onWrite?: () => void): Promise<{ result: T; text: string }> {
  const original = process.stderr.write;
  let text = "";
  process.stderr.write = ((chunk: string | Uint8Array) => {
    onWrite?.();
    text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    const result = await fn();
    return { result, text };
  } finally {
    process.stderr.write = original;
  }
}

/** Virtual time that jumps to the next deadline as soon as every task of the run is blocked. */
function virtual(): MockClock {
  return new MockClock({ autojumpThreshold: 0 });
}

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout" || r === "Immediate").length;
}

describe("withSupervisor(): reporting", () => {
  test("a child's failure is reported at once while its siblings keep running, and does not cancel them", async () => {
    const record: string[] = [];
    const { calls, onError } = reports(record);
    const result = await run(
      () =>
        withSupervisor(
          async (sup) => {
            sup.spawn(
              async () => {
                await sleep(100);
                throw new Error("boom");
              },
              { name: "fragile" },
            );
            sup.spawn(
              async () => {
                await sleep(300);
                record.push(`sibling finished normally at ${currentTime()}`);
              },
              { name: "sibling" },
            );
            await sleep(200);
            record.push(`body still running at ${currentTime()}`);
            return "body result";
          },
          { onError: (err, task, info) => (record.push(`at ${currentTime()}:`), onError(err, task, info)) },
        ),
      { clock: virtual() },
    );
    assert.equal(result, "body result");
    assert.deepEqual(record, [
      "at 100:",
      "reported fragile: boom (report)",
      "body still running at 200",
      "sibling finished normally at 300",
    ]);
    assert.equal(calls[0]!.task.name, "fragile");
    assert.equal(calls[0]!.task.state, "failed");
  });

  test("onError gets the error itself, whose stack names the task chain", async () => {
    const { calls, onError } = reports();
    const boom = new Error("boom");
    await run(async function main() {
      await withSupervisor(
        (sup) => {
          sup.spawn(async function poller() {
            throw boom;
          });
        },
        { onError, name: "app" },
      );
    });
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.err, boom);
    assert.deepEqual(calls[0]!.info, { supervisor: "app", action: "report", delayMs: 0, restarts: 0 });
    assert.match(boom.stack!, /in task "poller" \(#\d+\), spawned by task "main"/);
  });

  test("by default the failure is printed to stderr, after a line naming the supervisor and the task", async () => {
    const { text } = await captureStderr(() =>
      run(
        () =>
          withSupervisor(
            (sup) => {
              sup.spawn(
                async () => {
                  await sleep(1);
                  (null as unknown as { sense: unknown }).sense;
                },
                { name: "adelayed_boom" },
              );
            },
            { name: "app" },
          ),
        { clock: virtual() },
      ),
    );
    const lines = text.split("\n");
    assert.match(lines[0]!, /^trellis: task "adelayed_boom" \(#\d+\) of supervisor "app" failed; the other tasks keep running:$/);
    assert.match(lines[1]!, /^TypeError: Cannot read properties of null \(reading 'sense'\)$/);
    assert.match(text, /in task "adelayed_boom" \(#\d+\), spawned by task/);
    assert.match(text, /\n {6}spawned at .*supervisor\.test\.js:\d+:\d+\)?\n/, "where the task was spawned, even outside debug mode");
    assert.doesNotMatch(text, /spawned at .*src\/(core|supervision)\//, "no frames of trellis itself");
  });

  test("a failure that is only reported does not make withSupervisor throw", async () => {
    const { calls, onError } = reports();
    const result = await withSupervisor(
      (sup) => {
        for (let i = 0; i < 3; i++) {
          sup.spawn(() => {
            throw new Error(`failure ${i}`);
          });
        }
        return "done";
      },
      { onError },
    );
    assert.equal(result, "done");
    assert.deepEqual(
      calls.map((c) => (c.err as Error).message),
      ["failure 0", "failure 1", "failure 2"],
    );
  });

  test("task.result() of a reported child throws its error", async () => {
    const boom = new Error("boom");
    await withSupervisor(
      async (sup) => {
        const task = sup.spawn(() => {
          throw boom;
        });
        await assert.rejects(task.result(), (err) => err === boom);
      },
      { onError: () => {} },
    );
  });

  test("a child started with sup.start() is supervised too: its failure is reported, not spread", async () => {
    const record: string[] = [];
    const { onError } = reports(record);
    await run(
      () =>
        withSupervisor(
          async (sup) => {
            const port = await sup.start<number>(async function server(status) {
              status.started(8080);
              await sleep(10);
              throw new Error("server crashed");
            });
            record.push(`started on ${port}`);
            await sleep(50);
            record.push("body went on");
          },
          { onError },
        ),
      { clock: virtual() },
    );
    assert.deepEqual(record, ["started on 8080", "reported server: server crashed (report)", "body went on"]);
  });

  test("a cancelled child is not reported", trellisTest(async () => {
    const { calls, onError } = reports();
    await withSupervisor(
      async (sup) => {
        const task = sup.spawn(() => sleepForever());
        await waitAllTasksBlocked();
        task.cancel();
      },
      { onError },
    );
    assert.equal(calls.length, 0);
  }, { autojump: true }));

  test("if onError throws, the supervisor fails with that error", async () => {
    const broken = new Error("handler broke");
    const record: string[] = [];
    await assert.rejects(
      withSupervisor(
        (sup) => {
          sup.spawn(async () => {
            try {
              await sleepForever();
            } finally {
              record.push("sibling cancelled");
            }
          });
          sup.spawn(() => {
            throw new Error("child failed");
          });
        },
        {
          onError: () => {
            throw broken;
          },
        },
      ),
      (err) => err === broken,
    );
    assert.deepEqual(record, ["sibling cancelled"]);
  });
});

describe("withSupervisor(): like a task group", () => {
  test("a failure of the body cancels every child and is thrown", trellisTest(async () => {
    const record: string[] = [];
    const boom = new Error("body failed");
    await assert.rejects(
      withSupervisor(async (sup) => {
        sup.spawn(
          async () => {
            try {
              await sleepForever();
            } finally {
              record.push("child cancelled");
            }
          },
          { restart: "always" },
        );
        await waitAllTasksBlocked();
        throw boom;
      }),
      (err) => err === boom,
    );
    assert.deepEqual(record, ["child cancelled"]);
  }, { autojump: true }));

  test("cancelling the supervisor cancels every child and restarts none", trellisTest(async () => {
    const { calls, onError } = reports();
    let runs = 0;
    const result = await withSupervisor(
      async (sup) => {
        for (const restart of ["never", "on-failure", "always"] as const) {
          sup.spawn(
            async () => {
              runs++;
              await sleepForever();
            },
            { restart },
          );
        }
        await waitAllTasksBlocked();
        sup.cancel();
        await sleepForever();
      },
      { onError },
    );
    assert.equal(result, undefined);
    assert.equal(runs, 3);
    assert.equal(calls.length, 0);
  }, { autojump: true }));

  test("an outer cancellation reaches the supervisor's children", trellisTest(async () => {
    let runs = 0;
    await withCancelScope(async (scope) => {
      await withSupervisor(async (sup) => {
        sup.spawn(
          async () => {
            runs++;
            await sleepForever();
          },
          { restart: "always" },
        );
        await waitAllTasksBlocked();
        scope.cancel();
      });
    });
    assert.equal(runs, 1);
  }, { autojump: true }));

  test("the supervisor returns only when every child has finished", trellisTest(async () => {
    const record: string[] = [];
    await withSupervisor((sup) => {
      sup.spawn(async () => {
        await sleep(3);
        record.push("child done");
      });
    });
    record.push("supervisor returned");
    assert.deepEqual(record, ["child done", "supervisor returned"]);
    assert.equal(currentTime(), 3);
  }, { autojump: true }));

  test("spawning into a finished supervisor throws ClosedResourceError", async () => {
    let saved: Parameters<Parameters<typeof withSupervisor>[0]>[0] | undefined;
    await withSupervisor((sup) => {
      saved = sup;
    }, { name: "svc" });
    assert.throws(() => saved!.spawn(() => 1), {
      name: "ClosedResourceError",
      message: /sup\.spawn\(\): supervisor "svc" has finished, so it takes no new tasks/,
    });
    assert.ok(ClosedResourceError);
  });

  test("errors: \"aggregate\" throws a TaskGroupError holding the fatal errors", async () => {
    const err = await withSupervisor(
      (sup) => {
        sup.spawn(
          () => {
            throw new Error("again");
          },
          { restart: "on-failure", maxRestarts: 0 },
        );
      },
      { errors: "aggregate", onError: () => {} },
    ).catch((e: unknown) => e);
    assert.ok(err instanceof TaskGroupError);
    assert.equal(err.errors.length, 1);
  });

  // Real clock on purpose: it counts the real timer of the backoff, which a MockClock would not arm.
  test("leaves no timer behind inside run(), even when cancelled during a backoff", async () => {
    const before = timers();
    await run(() =>
      withSupervisor(
        async (sup) => {
          sup.spawn(
            () => {
              throw new Error("x");
            },
            { restart: "on-failure", backoffMs: 60_000 },
          );
          await waitAllTasksBlocked(); // the child waits out its backoff
          sup.cancel();
        },
        { onError: () => {} },
      ),
    );
    assert.equal(timers(), before);
  });
});

describe("withSupervisor(): restarts", () => {
  test('restart: "on-failure" runs the child again after each failure, reporting each one', trellisTest(async () => {
    const { calls, onError } = reports();
    let runs = 0;
    let task!: Task<string>;
    await withSupervisor(
      (sup) => {
        task = sup.spawn(
          async () => {
            runs++;
            await sleep(1);
            if (runs < 3) throw new Error(`run ${runs} failed`);
            return "third time lucky";
          },
          { restart: "on-failure", maxRestarts: 2, name: "flaky" },
        );
      },
      { onError },
    );
    assert.equal(runs, 3);
    assert.equal(currentTime(), 3, "three runs of 1 ms, no backoff");
    assert.equal(task.state, "done");
    assert.equal(await task.result(), "third time lucky");
    assert.deepEqual(
      calls.map((c) => [(c.err as Error).message, c.info.action, c.info.restarts]),
      [
        ["run 1 failed", "restart", 1],
        ["run 2 failed", "restart", 2],
      ],
    );
    assert.ok(calls.every((c) => c.task === task), "the same handle stands for every run");
    // A failure that a restart keeps inside the task still carries the task chain in its stack.
    assert.match((calls[0]!.err as Error).stack!, /in task "flaky" \(#\d+\)/);
  }, { autojump: true }));

  test("with maxRestarts: n a child runs n + 1 times; the next failure in the window fails the supervisor", async () => {
    const record: string[] = [];
    const { calls, onError } = reports(record);
    let runs = 0;
    const err = await withSupervisor(
      async (sup) => {
        sup.spawn(
          async () => {
            try {
              await sleepForever();
            } finally {
              record.push("sibling cancelled");
            }
          },
          { name: "sibling" },
        );
        sup.spawn(
          () => {
            runs++;
            throw new Error(`run ${runs} failed`);
          },
          { restart: "on-failure", maxRestarts: 2, name: "flaky" },
        );
      },
      { onError },
    ).catch((e: unknown) => e);
    assert.equal(runs, 3);
    assert.equal((err as Error).message, "run 3 failed");
    assert.deepEqual(
      calls.map((c) => c.info.action),
      ["restart", "restart", "fail"],
    );
    assert.deepEqual(record.slice(-2), ["reported flaky: run 3 failed (fail)", "sibling cancelled"]);
  });

  test("maxRestarts: 0 makes the first failure fatal", async () => {
    let runs = 0;
    await assert.rejects(
      withSupervisor(
        (sup) => {
          sup.spawn(
            () => {
              runs++;
              throw new Error("once");
            },
            { restart: "on-failure", maxRestarts: 0 },
          );
        },
        { onError: () => {} },
      ),
      /once/,
    );
    assert.equal(runs, 1);
  });

  test("restarts older than restartWindowMs no longer count; one exactly at the edge of the window still does", async () => {
    for (const [spacing, expectFatal] of [
      [101, false],
      [100, true],
    ] as const) {
      const clock = new MockClock(); // stands still: only the failing child moves it
      let runs = 0;
      const outcome = await run(
        () =>
          withSupervisor(
            (sup) => {
              sup.spawn(
                () => {
                  runs++;
                  if (runs === 6) return "ok";
                  clock.jump(spacing);
                  throw new Error(`run ${runs}`);
                },
                { restart: "on-failure", maxRestarts: 1, restartWindowMs: 100 },
              );
              return "supervisor done";
            },
            { onError: () => {} },
          ),
        { clock },
      ).catch((err: Error) => err.message);
      if (expectFatal) {
        assert.equal(outcome, "run 2", `spacing ${spacing}`);
        assert.equal(runs, 2);
      } else {
        assert.equal(outcome, "supervisor done", `spacing ${spacing}`);
        assert.equal(runs, 6);
      }
    }
  });

  test("the first restart waits backoffMs, and each later one twice as long, up to maxBackoffMs", async () => {
    const starts: number[] = [];
    const { calls, onError } = reports();
    await run(
      () =>
        withSupervisor(
          (sup) => {
            sup.spawn(
              () => {
                starts.push(currentTime());
                if (starts.length < 5) throw new Error("again");
              },
              { restart: "on-failure", backoffMs: 100, maxBackoffMs: 250 },
            );
          },
          { onError },
        ),
      { clock: virtual() },
    );
    assert.deepEqual(
      calls.map((c) => c.info.delayMs),
      [100, 200, 250, 250],
    );
    assert.deepEqual(starts, [0, 100, 300, 550, 800]);
  });

  test("the backoff shrinks again once earlier restarts have left the window", async () => {
    const { calls, onError } = reports();
    let runs = 0;
    await run(
      () =>
        withSupervisor(
          (sup) => {
            sup.spawn(
              async () => {
                runs++;
                if (runs === 3) await sleep(1_000); // a long healthy run: the window empties
                if (runs < 5) throw new Error("again");
              },
              { restart: "on-failure", backoffMs: 10, restartWindowMs: 500 },
            );
          },
          { onError },
        ),
      { clock: virtual() },
    );
    assert.deepEqual(
      calls.map((c) => c.info.delayMs),
      [10, 20, 10, 20],
    );
  });

  test('restart: "always" restarts after a normal return too, and those restarts count toward maxRestarts', async () => {
    let runs = 0;
    const err = await withSupervisor(
      (sup) => {
        sup.spawn(
          () => {
            runs++;
            return runs;
          },
          { restart: "always", maxRestarts: 2, name: "ticker" },
        );
      },
      { onError: () => assert.fail("a normal return is not a failure") },
    ).catch((e: unknown) => e);
    assert.equal(runs, 3);
    assert.ok(err instanceof RuntimeError);
    assert.match(err.message, /task "ticker" has restart: "always" and returned 3 times within 60000 ms/);
  });

  test('restart: "on-failure" ends the child on a normal return', async () => {
    let runs = 0;
    await withSupervisor((sup) => {
      sup.spawn(() => void runs++, { restart: "on-failure" });
    });
    assert.equal(runs, 1);
  });

  test("a cancelled child is never restarted, even with restart: \"always\"", trellisTest(async () => {
    const { calls, onError } = reports();
    let runs = 0;
    await withSupervisor(
      async (sup) => {
        const task = sup.spawn(
          async () => {
            runs++;
            await sleepForever();
          },
          { restart: "always" },
        );
        await waitAllTasksBlocked();
        task.cancel();
        await waitAllTasksBlocked();
        assert.equal(task.state, "cancelled");
      },
      { onError },
    );
    assert.equal(runs, 1);
    assert.equal(calls.length, 0);
  }, { autojump: true }));

  test("a child cancelled during its backoff is not restarted", trellisTest(async () => {
    let runs = 0;
    await withSupervisor(
      async (sup) => {
        const task = sup.spawn(
          () => {
            runs++;
            throw new Error("fails");
          },
          { restart: "on-failure", backoffMs: 10_000 },
        );
        await waitAllTasksBlocked(); // the child waits out its backoff
        task.cancel();
      },
      { onError: () => {} },
    );
    assert.equal(runs, 1);
    assert.equal(currentTime(), 0, "the backoff was not waited out");
  }, { autojump: true }));

  test("a child that fails while being cancelled is reported and not restarted", trellisTest(async () => {
    const { calls, onError } = reports();
    let runs = 0;
    await withSupervisor(
      async (sup) => {
        sup.spawn(
          async () => {
            runs++;
            try {
              await sleepForever();
            } catch (err) {
              if (isCancelled(err)) throw new Error("cleanup failed");
              throw err;
            }
          },
          { restart: "on-failure" },
        );
        await waitAllTasksBlocked();
        sup.cancel();
      },
      { onError },
    );
    assert.equal(runs, 1);
    assert.deepEqual(
      calls.map((c) => [(c.err as Error).message, c.info.action]),
      [["cleanup failed", "report"]],
    );
  }, { autojump: true }));
});

describe("withSupervisor(): bad arguments", () => {
  const spawnWith = (options: object) =>
    withSupervisor((sup) => {
      sup.spawn(() => 1, options);
    });

  test("maxRestarts, restartWindowMs, backoffMs and maxBackoffMs must be integers ≥ 0", async () => {
    for (const name of ["maxRestarts", "restartWindowMs", "backoffMs", "maxBackoffMs"]) {
      for (const value of [-1, 1.5, NaN, "3"]) {
        await assert.rejects(spawnWith({ [name]: value }), {
          name: typeof value === "number" ? "RangeError" : "TypeError",
          message: new RegExp(`^sup\\.spawn\\(\\): \`options\\.${name}\` must be an integer ≥ 0`),
        });
      }
    }
    await assert.rejects(spawnWith({ backoffMs: Infinity }), { name: "RangeError", message: /`options.backoffMs` must be an integer ≥ 0, got Infinity/ });
    await spawnWith({ maxRestarts: Infinity, restartWindowMs: Infinity, maxBackoffMs: Infinity });
  });

  test("maxBackoffMs below backoffMs is a RangeError", async () => {
    await assert.rejects(spawnWith({ backoffMs: 500, maxBackoffMs: 100 }), {
      name: "RangeError",
      message: /`options.maxBackoffMs` must be ≥ `options.backoffMs` \(500\), got 100 \(number\)/,
    });
  });

  test("an unknown restart mode is a TypeError", async () => {
    await assert.rejects(spawnWith({ restart: "sometimes" }), {
      name: "TypeError",
      message: /`options.restart` must be "never", "on-failure" or "always", got "sometimes" \(string\)/,
    });
  });

  test("body, onError, options and fn are checked (as rejections, like every async API)", async () => {
    await assert.rejects(withSupervisor(42 as never), { name: "TypeError", message: /withSupervisor\(\): `body` must be a function/ });
    await assert.rejects(withSupervisor(() => {}, { onError: "log" as never }), {
      name: "TypeError",
      message: /withSupervisor\(\): `options.onError` must be a function, got "log"/,
    });
    await assert.rejects(withSupervisor(() => {}, { errors: "all" as never }), { name: "TypeError" });
  });

  test("sup.spawn checks fn", async () => {
    await assert.rejects(
      withSupervisor((sup) => {
        sup.spawn(null as never);
      }),
      { name: "TypeError", message: /sup\.spawn\(\): `fn` must be a function, got null/ },
    );
  });
});

describe("seed 004: a background task that fails, in a long-running program", () => {
  // The article's adelayed_boom: a task spawned to run in the background fails after 1 s while
  // main goes on for 3 s. asyncio loses the traceback (or shows it only at the end), and a
  // TaskGroup brings the whole app down. Plain Node is no better: see the first test.

  // Real time on purpose: a plain Node program in a child process, on Node's own timers.
  test("with a floating promise, Node kills the whole program at the rejection: main never ends", () => {
    const program = `
      const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
      async function adelayedBoom() { await sleep(20); null.sense; }
      async function main() { console.log("Starting async!"); adelayedBoom(); await sleep(200); console.log("Ending."); }
      main();
    `;
    const child = spawnSync(process.execPath, ["-e", program], { encoding: "utf8" });
    assert.equal(child.stdout, "Starting async!\n");
    assert.match(child.stderr, /TypeError: Cannot read properties of null \(reading 'sense'\)/);
    assert.notEqual(child.status, 0);
  });

  test("with withSupervisor the traceback is printed at 1 s, and main runs on to 'Ending.' at 3 s", async () => {
    const out: string[] = [];
    const { text, result } = await captureStderr(() =>
      run(
        async function main() {
          out.push("Starting async!");
          await withSupervisor(async (sup) => {
            sup.spawn(async function adelayed_boom() {
              await sleep(1_000);
              (null as unknown as { sense: unknown }).sense;
            });
            await sleep(3_000);
            out.push(`Ending. (at ${currentTime()} ms)`);
          });
          return "main returned";
        },
        { clock: virtual() },
      ),
      () => out.push(`stderr written at ${currentTime()} ms`),
    );
    assert.equal(result, "main returned");
    assert.deepEqual(out, ["Starting async!", "stderr written at 1000 ms", "Ending. (at 3000 ms)"]);
    assert.match(text, /^trellis: task "adelayed_boom" \(#\d+\) of a supervisor failed; the other tasks keep running:\nTypeError: Cannot read properties of null \(reading 'sense'\)\n/);
    assert.match(text, /at adelayed_boom \(.*supervisor\.test\.js/);
    assert.match(text, /in task "adelayed_boom" \(#\d+\), spawned by task "main" \(#\d+\)\n {6}spawned at .*supervisor\.test\.js/);
  });
});
