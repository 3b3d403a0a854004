// Issue 9 ("Core correctness"), the rules of API.md that users and Trio's tests found broken:
// un-awaited groups, loops that swallow Cancelled, a Cancelled that belongs to another task,
// nested run() and late started(), non-Error throws, option validation, spawn sites. Each test
// is named after the rule it checks. The signal half of item 2 runs on a child process in
// run-process.test.ts; the seeded property test of non-Error throws is in thrown-values.test.ts.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  all,
  CancelScope,
  checkpoint,
  failAfter,
  isCancelled,
  map,
  moveOnAfter,
  openChannel,
  race,
  ReceiveChannel,
  run,
  RuntimeError,
  Semaphore,
  SendChannel,
  sleep,
  sleepForever,
  suppressedErrors,
  TaskGroupError,
  withCancelScope,
  withSupervisor,
  withTaskGroup,
  type Task,
  type TaskStatus,
} from "../../src/index.js";
import { MockClock, trellisTest } from "../../src/testing/index.js";
import { thrown } from "../support/thrown.js";

const virtual = () => new MockClock({ autojumpThreshold: 0 });

/** Runs `fn` with process.stderr.write captured; returns what was written. */
async function captureStderr(fn: () => Promise<unknown>): Promise<string> {
  const original = process.stderr.write;
  let text = "";
  process.stderr.write = ((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    process.stderr.write = original;
  }
  return text;
}

const trellisTimers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout" || r === "Immediate").length;

describe("item 1: an un-awaited task group still belongs to the task that opened it", () => {
  test("the task cannot finish before its un-awaited group: its result waits for the group", async () => {
    const log: string[] = [];
    await run(
      () =>
        withTaskGroup(async (tg) => {
          const t = tg.spawn(async () => {
            void withTaskGroup(async (inner) => {
              inner.spawn(async () => {
                await sleep(200);
                log.push("inner done");
              });
            });
            return "body returned";
          });
          assert.equal(await t.result(), "body returned");
          log.push("result");
          assert.equal(t.state, "done");
        }),
      { clock: virtual() },
    );
    assert.deepEqual(log, ["inner done", "result"]);
  });

  test("run() returns only when every task has finished, and nothing is frozen (the issue's example)", async () => {
    const log: string[] = [];
    const before = trellisTimers();
    await run(async () => {
      void withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          try {
            await sleep(30); // real time: run() must not clear this timer
            log.push("done");
          } finally {
            log.push("finally");
          }
        });
      });
    });
    log.push("run returned");
    assert.deepEqual(log, ["done", "finally", "run returned"]);
    assert.ok(trellisTimers() <= before, "run() left a timer behind");
  });

  test("run() waits for tasks of an un-awaited combinator too (all())", async () => {
    const log: string[] = [];
    await run(
      async () => {
        void all([
          async () => {
            await sleep(50);
            log.push("entry done");
          },
        ]);
      },
      { clock: virtual() },
    );
    assert.deepEqual(log, ["entry done"]);
  });

  test("the error of an un-awaited group fails the task that opened it (never an unhandled rejection)", async () => {
    const boom = new Error("boom");
    const err = await thrown(() =>
      run(
        async () => {
          void withTaskGroup(async (tg) => {
            tg.spawn(async () => {
              await sleep(10);
              throw boom;
            });
          });
          return "main returned";
        },
        { clock: virtual() },
      ),
    );
    assert.equal(err, boom);
  });

  test("cancelling the task cancels its un-awaited group; the task then ends cancelled", async () => {
    await run(
      () =>
        withTaskGroup(async (tg) => {
          let finallyRan = false;
          const t: Task<void> = tg.spawn(async () => {
            void withTaskGroup(async (inner) => {
              inner.spawn(async () => {
                try {
                  await sleepForever();
                } finally {
                  finallyRan = true;
                }
              });
            });
          });
          await sleep(10);
          assert.equal(t.state, "running");
          t.cancel();
          const err = await thrown(() => t.result());
          assert.ok(isCancelled(err));
          assert.equal(t.state, "cancelled");
          assert.ok(finallyRan);
        }),
      { clock: virtual() },
    );
  });

  test("with debug, an un-awaited group is reported on stderr with where it was opened", async () => {
    const text = await captureStderr(() =>
      run(
        async function main() {
          void withTaskGroup(async (tg) => {
            tg.spawn(() => sleep(10));
          }, { name: "forgotten" });
        },
        { clock: virtual(), debug: true },
      ),
    );
    assert.match(text, /task "main" \(#\d+\) reached the end of its body while task group "forgotten"/);
    assert.match(text, /not awaited/);
    assert.match(text, /opened at .*core-correctness\.test\.(ts|js)/);
  });
});

describe("item 2: a loop that swallows Cancelled must not starve the event loop", () => {
  test("cancelled checkpoints go through fair scheduling: timers still run beside a loop that swallows Cancelled", async () => {
    let stop = false;
    let swallowed = 0;
    const err = await thrown(() =>
      run(() =>
        withTaskGroup(async (tg) => {
          tg.spawn(async () => {
            while (!stop) {
              try {
                await sleep(100);
              } catch {
                swallowed++;
              }
            }
          });
          tg.spawn(async () => {
            await sleep(5);
            // A plain timer, outside trellis: it fires only if the loop lets the event loop in.
            setTimeout(() => (stop = true), 20);
            throw new Error("x");
          });
        }),
      ),
    );
    assert.equal((err as Error).message, "x");
    assert.ok(swallowed > 0);
  });

  test("every kind of cancelled checkpoint yields to macrotasks: checkpoint(), a lock-like park, a channel receive", async () => {
    for (const op of ["checkpoint", "semaphore", "receive"] as const) {
      let stop = false;
      const sem = new Semaphore(0);
      const [, receive] = openChannel<number>();
      await withCancelScope(async (scope) => {
        scope.cancel();
        setImmediate(() => (stop = true));
        while (!stop) {
          try {
            if (op === "checkpoint") await checkpoint();
            else if (op === "semaphore") await sem.acquire();
            else await receive.receive();
          } catch {
            // swallowed on purpose
          }
        }
      });
      assert.ok(stop, op);
    }
  });

  test("with debug, a task that swallows many Cancelled in a row is reported once, with its name, id and spawn site", async () => {
    const text = await captureStderr(() =>
      run(
        () =>
          withTaskGroup(async (tg) => {
            tg.spawn(async function swallower() {
              for (let i = 0; i < 2500; i++) {
                try {
                  await checkpoint();
                } catch {
                  // swallowed on purpose
                }
              }
            });
            tg.cancel("stop");
          }),
        { debug: true },
      ),
    );
    const reports = text.match(/has caught and ignored/g) ?? [];
    assert.equal(reports.length, 1, text);
    assert.match(text, /task "swallower" \(#\d+\) has caught and ignored 1000 Cancelled in a row/);
    assert.match(text, /spawned at .*core-correctness\.test\.(ts|js)/);
  });

  test("a scope that absorbs its Cancelled ends the run: polling with moveOnAfter is not reported", async () => {
    const text = await captureStderr(() =>
      run(
        async () => {
          for (let i = 0; i < 1500; i++) await moveOnAfter(0, () => sleep(10));
        },
        { debug: true, clock: virtual() },
      ),
    );
    assert.doesNotMatch(text, /caught and ignored/);
  });
});

describe("item 5: a Cancelled that belongs to none of a task's own scopes is a failure", () => {
  test("t.cancel(); await t.result() in another task: that task fails, and its group with it", async () => {
    let awaiter: Task<void> | undefined;
    const err = await thrown(() =>
      run(() =>
        withTaskGroup(async (tg) => {
          const t = tg.spawn(() => sleepForever());
          awaiter = tg.spawn(async () => {
            t.cancel();
            await t.result();
          });
        }),
      ),
    );
    assert.ok(isCancelled(err), "the escaping error is passed on as it is");
    assert.equal(awaiter!.state, "failed");
  });

  test("the same in a group's body: the group fails instead of returning normally", async () => {
    const err = await thrown(() =>
      withTaskGroup(async (tg) => {
        const t = tg.spawn(() => sleepForever());
        t.cancel();
        await t.result();
      }),
    );
    assert.ok(isCancelled(err));
  });

  test("a Cancelled from a scope around the task still belongs to it after a shield raised since hides that scope's cancellation", async () => {
    let t: Task<void> | undefined;
    await withTaskGroup(async (outer) => {
      const shieldLater = new CancelScope();
      outer.spawn(() =>
        shieldLater.run(() =>
          withTaskGroup(async (tg) => {
            t = tg.spawn(async () => {
              try {
                await sleepForever();
              } catch (err) {
                shieldLater.shield = true; // the task's context is no longer cancelled
                throw err;
              }
            });
          }),
        ),
      );
      await checkpoint();
      outer.cancel();
    });
    assert.equal(t!.state, "cancelled");
  });

  test("a task whose own scope was cancelled still ends cancelled, and its group returns normally", async () => {
    const result = await withTaskGroup(async (tg) => {
      const t = tg.spawn(() => sleepForever());
      await checkpoint();
      t.cancel();
      await checkpoint();
      return "ok";
    });
    assert.equal(result, "ok");
  });
});

describe("item 6: misuse that is refused with RuntimeError", () => {
  test("run() inside a running task of another run() rejects with a RuntimeError saying what to do", async () => {
    await run(async () => {
      const err = await thrown(() => run(async () => 1));
      assert.ok(err instanceof RuntimeError);
      assert.match((err as Error).message, /runs do not nest/);
      assert.match((err as Error).message, /spawn it into a task group/);
    });
  });

  test("status.started() after the started task returned throws RuntimeError and links nothing into the group", async () => {
    await withTaskGroup(async (tg) => {
      let saved: TaskStatus<number> | undefined;
      const err = await thrown(() =>
        tg.start<number>(async (status) => {
          saved = status;
        }),
      );
      assert.ok(err instanceof RuntimeError);
      // The scope tree's links (internal): count the group scope's child scopes.
      type Node = { firstChild?: Node; nextSibling?: Node };
      const children = (): number => {
        let n = 0;
        for (let c = (tg.cancelScope as unknown as Node).firstChild; c !== undefined; c = c.nextSibling) n++;
        return n;
      };
      const before = children();
      assert.throws(() => saved!.started(1), (e: unknown) => e instanceof RuntimeError && /already returned/.test((e as Error).message));
      assert.equal(children(), before);
    });
  });
});

describe("item 10: errors that are not Error objects are never lost", () => {
  test("throw undefined in a child fails its group with undefined", async () => {
    const err = await thrown(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          throw undefined;
        });
      }),
    );
    assert.equal(err, undefined);
  });

  test("throw undefined first does not hide a later error: both are in a TaskGroupError", async () => {
    const later = new Error("later");
    const err = await thrown(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          try {
            await sleepForever();
          } finally {
            // eslint-disable-next-line no-unsafe-finally
            throw later;
          }
        });
        tg.spawn(async () => {
          await checkpoint();
          throw undefined;
        });
      }),
    );
    assert.ok(err instanceof TaskGroupError);
    assert.deepEqual(err.errors, [undefined, later]);
  });

  test("a primitive first error (throw 42) keeps the later errors reachable", async () => {
    const later = new Error("later");
    const err = await thrown(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          try {
            await sleepForever();
          } finally {
            // eslint-disable-next-line no-unsafe-finally
            throw later;
          }
        });
        await checkpoint();
        throw 42;
      }),
    );
    assert.ok(err instanceof TaskGroupError);
    assert.deepEqual(err.errors, [42, later]);
    assert.match(err.message, /is not an object/);
  });

  test("a lone primitive error is rethrown as itself", async () => {
    assert.equal(await thrown(() => withTaskGroup(() => Promise.reject(42))), 42);
    assert.equal(await thrown(() => withTaskGroup(() => Promise.reject("s"))), "s");
  });

  test("throw undefined in a group body, a tg.start child, a supervisor body and Task.result() is kept as a failure", async () => {
    assert.equal(
      await thrown(() =>
        withTaskGroup(async () => {
          throw undefined;
        }),
      ),
      undefined,
    );
    assert.equal(
      await thrown(() =>
        withTaskGroup(async (tg) => {
          await tg.start(async () => {
            throw undefined;
          });
        }),
      ),
      undefined,
    );
    assert.equal(
      await thrown(() =>
        withSupervisor(async () => {
          throw undefined;
        }),
      ),
      undefined,
    );
    let fromResult: unknown = "not thrown";
    assert.equal(
      await thrown(() =>
        withTaskGroup(async (tg) => {
          const t = tg.spawn(async () => {
            throw undefined;
          });
          try {
            await t.result();
          } catch (err) {
            fromResult = err;
          }
        }),
      ),
      undefined,
    );
    assert.equal(fromResult, undefined);
  });

  test("all/race/map with an entry throwing undefined reject with undefined, not a stale Cancelled", async () => {
    const bad = async () => {
      await checkpoint();
      throw undefined;
    };
    assert.equal(await thrown(() => all([bad, () => sleepForever()])), undefined);
    assert.equal(await thrown(() => race([bad, () => sleepForever()])), undefined);
    assert.equal(await thrown(() => map([1, 2, 3], (x) => (x === 1 ? bad() : sleepForever()), { concurrency: 2 })), undefined);
    const err = await thrown(() => run(() => all([bad])));
    assert.equal(err, undefined);
  });

  test("run() prints every suppressed error, also those suppressed behind suppressed ones", async () => {
    const first = new Error("first");
    const a = new Error("inner a");
    const b = new Error("inner b");
    const text = await captureStderr(async () => {
      const err = await thrown(() =>
        run(() =>
          withTaskGroup(async (tg) => {
            tg.spawn(() =>
              withTaskGroup(async (inner) => {
                inner.spawn(async () => {
                  try {
                    await sleepForever();
                  } finally {
                    // eslint-disable-next-line no-unsafe-finally
                    throw b;
                  }
                });
                try {
                  await sleepForever();
                } finally {
                  // eslint-disable-next-line no-unsafe-finally
                  throw a;
                }
              }),
            );
            await checkpoint();
            throw first;
          }),
        ),
      );
      assert.equal(err, first);
      // The inner group's first error is suppressed behind `first`, its second behind that one.
      const [innerFirst, ...rest] = suppressedErrors(first);
      assert.equal(rest.length, 0);
      assert.ok(innerFirst === a || innerFirst === b);
      assert.deepEqual(suppressedErrors(innerFirst), [innerFirst === a ? b : a]);
    });
    assert.match(text, /inner a/);
    assert.match(text, /inner b/);
  });

  test("run() also prints the errors suppressed behind the errors a TaskGroupError holds", async () => {
    const inner = new Error("inner first");
    const hidden = new Error("hidden behind inner");
    const text = await captureStderr(async () => {
      const err = await thrown(() =>
        run(() =>
          withTaskGroup(
            async (tg) => {
              tg.spawn(() =>
                withTaskGroup(async (g) => {
                  g.spawn(async () => {
                    try {
                      await sleepForever();
                    } finally {
                      // eslint-disable-next-line no-unsafe-finally
                      throw hidden;
                    }
                  });
                  await checkpoint();
                  throw inner;
                }),
              );
            },
            { errors: "aggregate" },
          ),
        ),
      );
      assert.ok(err instanceof TaskGroupError);
      assert.deepEqual(err.errors, [inner]);
    });
    assert.match(text, /hidden behind inner/);
  });
});

describe("item 12: option validation", () => {
  test("run()'s debug must be a boolean or an options object", async () => {
    for (const debug of ["yes", 42, Symbol("s")]) {
      const err = await thrown(() => run(() => 1, { debug: debug as never }));
      assert.ok(err instanceof TypeError, String(debug));
      assert.match((err as Error).message, /options\.debug/);
    }
    assert.equal(await run(() => 1, { debug: { spawnStacks: false } }), 1);
  });

  test("instruments entries must be objects: a TypeError names instruments[i]", async () => {
    for (const entry of [null, 1, "x"]) {
      const err = await thrown(() => run(() => 1, { instruments: [entry as never] }));
      assert.ok(err instanceof TypeError);
      assert.match((err as Error).message, /options\.instruments\[0\]/);
    }
    const err = await thrown(() => run(() => 1, { instruments: [{}, 7 as never] }));
    assert.match((err as Error).message, /options\.instruments\[1\]/);
    const hook = await thrown(() => run(() => 1, { instruments: [{ taskSpawned: "log" as never }] }));
    assert.ok(hook instanceof TypeError);
    assert.match((hook as Error).message, /options\.instruments\[0\]\.taskSpawned/);
  });

  test("one rule for null: null, undefined and absent all mean 'not given' for every option", async () => {
    const nul = null as never;
    assert.equal(await run(() => 1, nul), 1);
    assert.equal(await run(() => 1, { clock: nul, instruments: nul, handleSignals: nul, debug: nul }), 1);
    assert.equal(await run(() => 1, { debug: { spawnStacks: nul } }), 1);
    assert.equal(await withTaskGroup(() => 2, nul), 2);
    assert.equal(await withTaskGroup(() => 2, { name: nul, errors: nul }), 2);
    await withTaskGroup(async (tg) => {
      const t = tg.spawn(async function named() {}, { name: nul });
      assert.equal(t.name, "named");
      tg.spawn(async () => {}, nul);
      assert.equal(await tg.start<number>((s) => s.started(3), { name: nul }), 3);
      assert.equal(await tg.start<number>((s) => s.started(4), nul), 4);
    });
    const scope = new CancelScope({ deadline: nul, shield: nul, name: nul });
    assert.equal(scope.deadline, Infinity);
    assert.equal(scope.shield, false);
    assert.equal(scope.name, undefined);
    assert.equal(new CancelScope(nul).deadline, Infinity);
    assert.equal(await withCancelScope(() => 3, nul), 3);
    assert.equal(await withCancelScope(() => 3, { deadline: nul, shield: nul, name: nul }), 3);
    assert.equal(await moveOnAfter(1_000, () => 4, { shield: nul, name: nul } as never), 4);
    assert.equal(await failAfter(1_000, () => 5, { shield: nul, name: nul } as never), 5);
    assert.equal(await withSupervisor(() => 6, { name: nul, onError: nul, errors: nul }), 6);
    await withSupervisor(async (sup) => {
      sup.spawn(async () => {}, { name: nul, restart: nul, maxRestarts: nul, restartWindowMs: nul, backoffMs: nul, maxBackoffMs: nul });
    });
    assert.deepEqual(await map([1, 2], (x) => x * 2, { concurrency: nul }), [2, 4]);
    assert.deepEqual(await map([1, 2], (x) => x * 2, nul), [2, 4]);
    assert.equal(new Semaphore(1, { max: nul }).max, undefined);
    const clock = new MockClock({ rate: nul, autojumpThreshold: nul });
    assert.equal(clock.rate, 0);
    await trellisTest(async () => {}, { clock: nul, autojump: nul, checkLeaks: nul })();
  });

  test("withCancelScope(fn, badOptions) rejects instead of throwing synchronously", async () => {
    let promise: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      promise = withCancelScope(() => 1, { deadline: "soon" } as never);
    });
    await assert.rejects(promise!, TypeError); // a non-number deadline is a TypeError
    await assert.rejects(withCancelScope(() => 1, { deadline: Number.NaN }), RangeError);
    await assert.rejects(withCancelScope(() => 1, 7 as never), TypeError);
  });

  test("SendChannel and ReceiveChannel cannot be constructed directly: a TypeError says to use openChannel()", () => {
    for (const Ctor of [SendChannel, ReceiveChannel] as unknown as (new (x: unknown) => unknown)[]) {
      for (const arg of [undefined, {}, 1]) {
        assert.throws(() => new Ctor(arg), (e: unknown) => e instanceof TypeError && /cannot be constructed directly; use openChannel\(\)/.test((e as Error).message));
      }
    }
    const [send, receive] = openChannel();
    send.clone().close();
    receive.clone().close();
  });

  test("TaskGroupError may be constructed by user code (for tests), but refuses what is not a list of errors", () => {
    const e = new TaskGroupError([new Error("a"), 1], "two");
    assert.equal(e.errors.length, 2);
    assert.equal(new TaskGroupError([]).errors.length, 0);
    assert.throws(() => new TaskGroupError("x" as never), (err: unknown) => err instanceof TypeError && /`errors` must be an array/.test((err as Error).message));
    assert.throws(() => new TaskGroupError(undefined as never), TypeError);
    assert.throws(() => new TaskGroupError([], 5 as never), /`message` must be a string/);
  });
});

describe("smaller: spawn mistakes and spawn sites", () => {
  test("tg.spawn(work()) (a promise instead of a function) says to pass () => work()", async () => {
    await withTaskGroup(async (tg) => {
      const work = async () => 1;
      const promise = work();
      assert.throws(() => tg.spawn(promise as never), (e: unknown) => e instanceof TypeError && /pass `\(\) => work\(\)`/.test((e as Error).message));
      await assert.rejects(tg.start(promise as never), /pass `\(\) => work\(\)`/);
    });
  });

  test("with --enable-source-maps and debug, spawn sites leave out trellis's own frames (src/ as well as dist/)", () => {
    const root = fileURLToPath(new URL("../../../", import.meta.url));
    const dist = join(root, "dist", "index.js");
    if (!existsSync(dist)) return; // the package is built by `npm test` before the tests
    const script = `
      const { run, withTaskGroup } = await import(${JSON.stringify(new URL(`file://${dist}`).href)});
      await run(async function main() {
        await withTaskGroup(async (tg) => { tg.spawn(async function kid() { throw new Error("boom"); }); });
      }, { debug: true }).catch((err) => console.log(err.stack));
    `;
    const out = spawnSync(process.execPath, ["--enable-source-maps", "--input-type=module", "-e", script], { encoding: "utf8" });
    const spawnedLines = out.stdout.split("\n").filter((line) => line.includes("spawned at"));
    assert.ok(spawnedLines.length > 0, out.stdout + out.stderr);
    for (const line of spawnedLines) {
      assert.doesNotMatch(line, /[/\\](src|dist)[/\\](core|index)/, `a trellis frame in: ${line}`);
    }
  });
});
