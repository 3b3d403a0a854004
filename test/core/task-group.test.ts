// Task groups: API.md §1 "Task groups (structured concurrency)" — withTaskGroup, tg.spawn,
// tg.start, tg.cancelScope/tg.cancel, errors — after Trio's nursery tests in test_run.py
// (test_child_crash_*, test_precancelled_task, test_cancel_inheritance, test_nursery_closure,
// test_nursery_start, test_trivial_yields, test_contextvar_multitask).
// Tests that wait run in virtual time (trellisTest with autojump): sleeps are exact, and
// waitAllTasksBlocked() replaces "sleep a little so that the others are parked".
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import {
  CancelScope,
  ClosedResourceError,
  RuntimeError,
  TaskGroupError,
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
  type Cancelled,
  type TaskGroup,
  type TaskStatus,
} from "../../src/index.js";
import { trellisTest, waitAllTasksBlocked } from "../../src/testing/index.js";
import { thrown } from "../support/thrown.js";

describe("withTaskGroup", () => {
  test("withTaskGroup returns the body's result once the body and every child have finished", trellisTest(async () => {
    const record: string[] = [];
    const result = await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await sleep(15);
        record.push("slow child");
      });
      tg.spawn(async () => {
        await sleep(1);
        record.push("fast child");
      });
      record.push("body");
      return "result";
    });
    record.push("after");
    assert.equal(result, "result");
    assert.deepEqual(record, ["body", "fast child", "slow child", "after"]);
    assert.equal(currentTime(), 15);
  }, { autojump: true }));

  test("a failing child cancels its siblings and the body, all are awaited, then its error is thrown", trellisTest(async () => {
    const record: string[] = [];
    const boom = new Error("boom");
    const err = await thrown(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          try {
            await sleepForever();
          } finally {
            await withCancelScope(() => sleep(2), { shield: true });
            record.push("sibling cleaned up");
          }
        });
        tg.spawn(async () => {
          await sleep(1);
          throw boom;
        });
        try {
          await sleepForever();
        } catch (e) {
          record.push(isCancelled(e) ? "body cancelled" : "body other");
          throw e;
        }
      }),
    );
    assert.equal(err, boom);
    assert.deepEqual(record.sort(), ["body cancelled", "sibling cleaned up"]);
    assert.equal(currentTime(), 1 + 2, "the group waited for the sibling's shielded cleanup");
  }, { autojump: true }));

  test("an error thrown by the body cancels the children and is thrown after they finish", trellisTest(async () => {
    const record: string[] = [];
    const boom = new Error("body failed");
    const err = await thrown(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          try {
            await sleepForever();
          } catch (e) {
            record.push(isCancelled(e) ? "child cancelled" : "other");
            throw e;
          }
        });
        await waitAllTasksBlocked();
        throw boom;
      }),
    );
    assert.equal(err, boom);
    assert.deepEqual(record, ["child cancelled"]);
  }, { autojump: true }));

  test("a child's failure wakes a body parked forever", async () => {
    const boom = new Error("crash");
    const err = await thrown(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(() => {
          throw boom;
        });
        await sleepForever();
      }),
    );
    assert.equal(err, boom);
  });

  test("cancelling one nested group cancels that group only", trellisTest(async () => {
    const record: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await withTaskGroup(async (outer) => {
      outer.spawn(async () => {
        await wait(gate); // through wait(), so that the task counts as blocked
        await checkpoint(); // raises if the sibling had been cancelled
        record.push("outer sibling finished");
      });
      await withTaskGroup(async (inner) => {
        inner.spawn(async () => {
          try {
            await sleepForever();
          } catch (e) {
            record.push("inner child cancelled");
            throw e;
          }
        });
        await waitAllTasksBlocked();
        inner.cancel();
      });
      record.push("body goes on");
      release();
    });
    assert.deepEqual(record, ["inner child cancelled", "body goes on", "outer sibling finished"]);
  }, { autojump: true }));

  test("tg.cancel(reason) is tg.cancelScope.cancel(reason)", async () => {
    let scope: CancelScope | undefined;
    await withTaskGroup(async (tg) => {
      scope = tg.cancelScope;
      assert.ok(scope instanceof CancelScope);
      tg.cancel("done here");
    });
    assert.equal(scope?.cancelCalled, true);
    assert.equal(scope?.reason, "done here");
  });

  test("cancelling the group cancels every task at every depth", trellisTest(async () => {
    const record = new Set<string>();
    const leaf = async (id: string) => {
      try {
        await sleepForever();
      } catch (e) {
        if (isCancelled(e)) record.add(id);
        throw e;
      }
    };
    const worker = (id: string) =>
      withTaskGroup(async (tg) => {
        tg.spawn(() => leaf(`${id}-l1`));
        tg.spawn(() => leaf(`${id}-l2`));
      });
    await withTaskGroup(async (tg) => {
      tg.spawn(() => worker("w1"));
      tg.spawn(() => worker("w2"));
      await waitAllTasksBlocked();
      tg.cancel();
    });
    assert.deepEqual([...record].sort(), ["w1-l1", "w1-l2", "w2-l1", "w2-l2"]);
  }, { autojump: true }));

  test("a group's own cancel ends its children quietly and keeps the body's result", trellisTest(async () => {
    let scope: CancelScope | undefined;
    const result = await withTaskGroup(async (tg) => {
      scope = tg.cancelScope;
      tg.spawn(() => sleepForever());
      await waitAllTasksBlocked();
      tg.cancel();
      return 42;
    });
    assert.equal(result, 42);
    assert.equal(scope?.cancelledCaught, true);
  }, { autojump: true }));

  test("a cancellation from outside that ended the group's children propagates to the scope that was cancelled", trellisTest(async () => {
    const outer = new CancelScope();
    const record: string[] = [];
    await outer.run(async () => {
      await withTaskGroup(async (tg) => {
        tg.spawn(() => sleepForever());
        tg.spawn(async () => {
          await waitAllTasksBlocked();
          outer.cancel();
        });
      });
      record.push("after the group: not reached");
    });
    assert.deepEqual(record, []);
    assert.equal(outer.cancelledCaught, true);
  }, { autojump: true }));

  test("entering a group inside a cancelled context does not raise; the body runs to its first checkpoint", async () => {
    const record: string[] = [];
    await withCancelScope(async (scope) => {
      scope.cancel();
      await withTaskGroup(async () => {
        record.push("body started");
        await checkpoint();
        record.push("not reached");
      });
    });
    assert.deepEqual(record, ["body started"]);
  });

  test("leaving a group is a schedule point but not a cancel point", async () => {
    const scope = new CancelScope();
    let yielded = false;
    await scope.run(async () => {
      scope.cancel();
      queueMicrotask(() => {
        yielded = true;
      });
      await withTaskGroup(async () => {});
      assert.equal(yielded, true);
      // and with a child that has no checkpoint
      await withTaskGroup(async (tg) => {
        tg.spawn(() => undefined);
      });
    });
    assert.equal(scope.cancelledCaught, false);
  });

  test("a body error in a cancelled context is thrown as it is", async () => {
    const boom = new Error("key");
    const err = await thrown(() =>
      withCancelScope(async (scope) => {
        scope.cancel();
        await withTaskGroup(() => {
          throw boom;
        });
      }),
    );
    assert.equal(err, boom);
  });
});

describe("tg.spawn", () => {
  test("no code of fn runs synchronously inside spawn", async () => {
    const record: string[] = [];
    await withTaskGroup((tg) => {
      tg.spawn(() => {
        record.push("child ran");
      });
      record.push("spawn returned");
    });
    assert.deepEqual(record, ["spawn returned", "child ran"]);
  });

  test("children start in spawn order", async () => {
    const record: number[] = [];
    await withTaskGroup((tg) => {
      for (let i = 0; i < 20; i++) {
        tg.spawn(() => {
          record.push(i);
        });
      }
    });
    assert.deepEqual(record, Array.from({ length: 20 }, (_, i) => i));
  });

  test("a child spawned into an already cancelled group starts and is cancelled at its first checkpoint", async () => {
    const record: string[] = [];
    await withTaskGroup(async (tg) => {
      tg.cancel();
      tg.spawn(async () => {
        record.push("started");
        await sleepForever();
        record.push("not reached");
      });
    });
    assert.deepEqual(record, ["started"]);
  });

  test("spawning into a group that has finished throws ClosedResourceError", async () => {
    let group: TaskGroup | undefined;
    await withTaskGroup((tg) => {
      group = tg;
    });
    assert.throws(() => group!.spawn(() => undefined), ClosedResourceError);
    await assert.rejects(async () => group!.start(async (status: TaskStatus) => status.started()), ClosedResourceError);
  });

  test("while the group waits for its children, running children may still spawn into it", trellisTest(async () => {
    const record: string[] = [];
    await withTaskGroup((tg) => {
      tg.spawn(async () => {
        await sleep(1);
        tg.spawn(async () => {
          await sleep(1);
          tg.spawn(() => {
            record.push("grandchild");
          });
          record.push("child");
        });
        record.push("parent");
      });
    });
    assert.deepEqual(record, ["parent", "child", "grandchild"]);
    assert.equal(currentTime(), 2);
  }, { autojump: true }));

  test("a child sees the AsyncLocalStorage values of the code that spawned it", async () => {
    const als = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    await withTaskGroup(async (tg) => {
      als.run("first", () => tg.spawn(() => seen.push(als.getStore())));
      await als.run("second", async () => {
        await sleep(0);
        tg.spawn(() => seen.push(als.getStore()));
      });
      tg.spawn(() => seen.push(als.getStore()));
    });
    assert.deepEqual(seen, ["first", "second", undefined]);
  });

  test("a child runs under the group's cancel scopes, not the spawner's", trellisTest(async () => {
    const record: string[] = [];
    await withTaskGroup(async (tg) => {
      await withCancelScope(async (spawnerScope) => {
        tg.spawn(async () => {
          try {
            await sleep(3);
            record.push("child survived the spawner's cancel");
            await sleepForever();
          } catch (e) {
            record.push(isCancelled(e) ? "child cancelled by the group" : "other");
            throw e;
          }
        });
        spawnerScope.cancel();
        await checkpoint();
      });
      await sleep(5);
      tg.cancel();
    });
    assert.deepEqual(record, ["child survived the spawner's cancel", "child cancelled by the group"]);
    assert.equal(currentTime(), 5);
  }, { autojump: true }));

  test("a child's task records the spawner as its parent and the name it was given", async () => {
    await run(
      async function main() {
        const me = currentTask();
        await withTaskGroup(async (tg) => {
          const t = tg.spawn(
            () => {
              const info = currentTask();
              assert.equal(info?.name, "worker");
              assert.equal(info?.parent, me);
            },
            { name: "worker" },
          );
          assert.equal(t.name, "worker");
          const anon = tg.spawn(async function fetchUser() {});
          assert.equal(anon.name, "fetchUser");
        });
        assert.equal(me?.name, "main");
      },
      { handleSignals: false },
    );
  });
});

describe("tg.start", () => {
  test("start resolves with the value passed to started, and the child keeps running in the group", trellisTest(async () => {
    const record: string[] = [];
    await withTaskGroup(async (tg) => {
      const port = await tg.start(async (status: TaskStatus<number>) => {
        await sleep(1);
        status.started(8080);
        await sleep(2);
        record.push("service stopped");
      });
      record.push(`started on ${port}`);
    });
    assert.deepEqual(record, ["started on 8080", "service stopped"]);
    assert.equal(currentTime(), 1 + 2);
  }, { autojump: true }));

  test("before started, cancelling the caller's scope cancels the child, not the group", trellisTest(async () => {
    const record: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await wait(gate); // through wait(), so that the task counts as blocked
        await checkpoint(); // raises if the group had been cancelled
        record.push("sibling finished");
      });
      const callerScope = new CancelScope();
      await callerScope.run(async () => {
        tg.spawn(async () => {
          await waitAllTasksBlocked();
          callerScope.cancel();
        });
        await tg.start(async () => {
          try {
            await sleepForever();
          } catch (e) {
            record.push(isCancelled(e) ? "starting child cancelled" : "other");
            throw e;
          }
        });
      });
      assert.equal(callerScope.cancelledCaught, true);
      assert.equal(tg.cancelScope.cancelCalled, false);
      release();
    });
    assert.deepEqual(record, ["starting child cancelled", "sibling finished"]);
  }, { autojump: true }));

  test("after started, the child belongs to the group: the caller's scope no longer reaches it", trellisTest(async () => {
    const record: string[] = [];
    await withTaskGroup(async (tg) => {
      await withCancelScope(async (callerScope) => {
        await tg.start(async (status: TaskStatus) => {
          status.started();
          try {
            await sleep(3);
            record.push("survived the caller's cancel");
            await sleepForever();
          } catch (e) {
            record.push(isCancelled(e) ? "cancelled by the group" : "other");
            throw e;
          }
        });
        callerScope.cancel();
      });
      await sleep(5);
      tg.cancel();
    });
    assert.deepEqual(record, ["survived the caller's cancel", "cancelled by the group"]);
    assert.equal(currentTime(), 5);
  }, { autojump: true }));

  test("an error before started is thrown by start and does not fail the group", trellisTest(async () => {
    const boom = new Error("failed to bind");
    const result = await withTaskGroup(async (tg) => {
      const err = await thrown(() =>
        tg.start(async () => {
          await sleep(1);
          throw boom;
        }),
      );
      assert.equal(err, boom);
      return "group fine";
    });
    assert.equal(result, "group fine");
  }, { autojump: true }));

  test("a child that returns without calling started makes start throw RuntimeError", async () => {
    await withTaskGroup(async (tg) => {
      const err = await thrown(() => tg.start(async () => "forgot"));
      assert.ok(err instanceof RuntimeError);
      assert.match((err as Error).message, /started/);
    });
  });

  test("calling started twice throws RuntimeError", async () => {
    let second: unknown;
    await withTaskGroup(async (tg) => {
      const v = await tg.start(async (status: TaskStatus<string>) => {
        status.started("once");
        try {
          status.started("twice");
        } catch (e) {
          second = e;
        }
      });
      assert.equal(v, "once");
    });
    assert.ok(second instanceof RuntimeError);
  });

  test("an error after started fails the group as any child's would", trellisTest(async () => {
    const boom = new Error("crashed after start");
    const record: string[] = [];
    const err = await thrown(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          try {
            await sleepForever();
          } catch (e) {
            record.push(`sibling: ${(e as Cancelled).source}`);
            throw e;
          }
        });
        await tg.start(async (status: TaskStatus) => {
          status.started();
          await sleep(1);
          throw boom;
        });
        await sleepForever();
      }),
    );
    assert.equal(err, boom);
    assert.deepEqual(record, ["sibling: sibling"]);
  }, { autojump: true }));

  test("a group waits for a pending start() into it before it finishes", trellisTest(async () => {
    const record: string[] = [];
    await withTaskGroup(async (outer) => {
      await withTaskGroup(async (inner) => {
        // The start() call runs in a task of the outer group; the inner body returns at once.
        outer.spawn(async () => {
          await inner.start(async (status: TaskStatus) => {
            await sleep(2);
            status.started();
            await sleep(2);
            record.push("started child finished");
          });
        });
      });
      record.push("inner group finished");
    });
    assert.deepEqual(record, ["started child finished", "inner group finished"]);
    assert.equal(currentTime(), 2 + 2);
  }, { autojump: true }));
});

describe("errors", () => {
  test("errors: first rethrows the first error as the same object and keeps later ones in suppressedErrors", trellisTest(async () => {
    const first = new Error("first");
    const second = new Error("second");
    const third = new TypeError("third");
    const err = await thrown(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          await sleep(1);
          throw first;
        });
        for (const e of [second, third]) {
          tg.spawn(async () => {
            try {
              await sleepForever();
            } finally {
              // eslint-disable-next-line no-unsafe-finally
              throw e;
            }
          });
        }
      }),
    );
    assert.equal(err, first);
    assert.deepEqual([...suppressedErrors(err)].sort((a, b) => String(a).localeCompare(String(b))), [second, third]);
  }, { autojump: true }));

  test("a single error keeps its identity and its stack", async () => {
    const boom = new Error("boom");
    const stackBefore = boom.stack ?? "";
    const err = await thrown(() =>
      withTaskGroup((tg) => {
        tg.spawn(() => {
          throw boom;
        });
      }),
    );
    assert.equal(err, boom);
    assert.ok((boom.stack ?? "").startsWith(stackBefore));
    assert.deepEqual(suppressedErrors(err), []);
  });

  test("errors: aggregate throws a TaskGroupError, a subclass of AggregateError, holding every error", trellisTest(async () => {
    const a = new Error("a");
    const b = new Error("b");
    const err = await thrown(() =>
      withTaskGroup(
        async (tg) => {
          tg.spawn(async () => {
            await sleep(1);
            throw a;
          });
          tg.spawn(async () => {
            try {
              await sleepForever();
            } finally {
              // eslint-disable-next-line no-unsafe-finally
              throw b;
            }
          });
          tg.spawn(() => sleepForever()); // only cancelled: not an error
        },
        { errors: "aggregate" },
      ),
    );
    assert.ok(err instanceof TaskGroupError);
    assert.ok(err instanceof AggregateError);
    assert.deepEqual(err.errors, [a, b]);
  }, { autojump: true }));

  test("errors: aggregate wraps even a single error", async () => {
    const a = new Error("only");
    const err = await thrown(() =>
      withTaskGroup(
        (tg) => {
          tg.spawn(() => {
            throw a;
          });
        },
        { errors: "aggregate" },
      ),
    );
    assert.ok(err instanceof TaskGroupError);
    assert.deepEqual((err as TaskGroupError).errors, [a]);
  });

  test("Cancelled is never reported as a failure of the task that received it", trellisTest(async () => {
    const boom = new Error("boom");
    const err = await thrown(() =>
      withTaskGroup(
        async (tg) => {
          for (let i = 0; i < 3; i++) tg.spawn(() => sleepForever());
          tg.spawn(async () => {
            await sleep(1);
            throw boom;
          });
          await sleepForever();
        },
        { errors: "aggregate" },
      ),
    );
    assert.ok(err instanceof TaskGroupError);
    assert.deepEqual(err.errors, [boom]);
    assert.equal(err.errors.some(isCancelled), false);
  }, { autojump: true }));

  test("a cancelled group with no failure throws no error", async () => {
    const result = await withTaskGroup(
      async (tg) => {
        tg.spawn(() => sleepForever());
        tg.cancel();
        await checkpoint();
      },
      { errors: "aggregate" },
    );
    assert.equal(result, undefined);
  });
});

describe("bad arguments", () => {
  test("withTaskGroup with a non-function body throws TypeError naming body", async () => {
    const err = await thrown(() => withTaskGroup("body" as never));
    assert.ok(err instanceof TypeError);
    assert.match(err.message, /`body`/);
  });

  test("withTaskGroup with options of the wrong type throws TypeError", async () => {
    const body = async () => {};
    for (const options of ["x", 5, { name: 5 }, { errors: "all" }]) {
      const err = await thrown(() => withTaskGroup(body, options as never));
      assert.ok(err instanceof TypeError, `options ${JSON.stringify(options)}`);
    }
  });

  test("spawn with a non-function throws TypeError naming fn, and with bad options TypeError", async () => {
    await withTaskGroup((tg) => {
      assert.throws(() => tg.spawn(undefined as never), (e: unknown) => e instanceof TypeError && /`fn`/.test(e.message));
      assert.throws(() => tg.spawn(Promise.resolve(1) as never), TypeError);
      assert.throws(() => tg.spawn(() => 1, "name" as never), TypeError);
      assert.throws(() => tg.spawn(() => 1, { name: 1 } as never), (e: unknown) => e instanceof TypeError && /name/.test(e.message));
    });
  });

  test("start with a non-function throws TypeError naming fn", async () => {
    await withTaskGroup(async (tg) => {
      const err = await thrown(() => tg.start(42 as never));
      assert.ok(err instanceof TypeError);
      assert.match(err.message, /`fn`/);
    });
  });
});
