// Cancel scopes: API.md §1 "Cancellation" (CancelScope, withCancelScope, cancel, deadline,
// shield, cancelCalled/cancelledCaught, signal), ported in spirit from Trio's test_run.py
// (test_cancel_points, test_cancel_edge_cases, test_cancel_shielding, test_basic_timeout,
// test_cancel_scope_nesting, test_unshield_while_cancel_propagating, test_cancel_unbound,
// test_cancel_shield_abort, test_trivial_yields, test_very_deep_cancel_scope_nesting).
// Tests that need time to pass run in virtual time (trellisTest with autojump) and check exact
// times; the others run outside run(), as a library user's code would.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CancelScope,
  Cancelled,
  RuntimeError,
  checkpoint,
  currentTime,
  failAfter,
  isCancelled,
  run,
  sleep,
  sleepForever,
  withCancelScope,
  withTaskGroup,
} from "../../src/index.js";
import { MockClock, trellisTest, waitAllTasksBlocked } from "../../src/testing/index.js";
import { thrown } from "../support/thrown.js";

/** Awaits `fn()` and asserts it raised `Cancelled`; returns the error. */
async function expectCancelled(fn: () => unknown): Promise<Cancelled> {
  const err = await thrown(fn);
  assert.ok(isCancelled(err), `expected Cancelled, got ${String(err)}`);
  return err;
}

/** Ref'd Timeout handles of the process (what would keep it alive). */
function timerCount(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
}

describe("CancelScope.run", () => {
  test("run returns the body's result when nothing is cancelled", async () => {
    const scope = new CancelScope();
    assert.equal(await scope.run(async () => 7), 7);
    assert.equal(scope.cancelCalled, false);
    assert.equal(scope.cancelledCaught, false);
  });

  test("run accepts a synchronous body and returns its result", async () => {
    assert.equal(await new CancelScope().run(() => "sync"), "sync");
  });

  test("the body receives the scope itself as its argument", async () => {
    const scope = new CancelScope();
    let seen: CancelScope | undefined;
    await scope.run((s) => {
      seen = s;
    });
    assert.equal(seen, scope);
  });

  test("run returns undefined when the scope's own cancellation ended the body", async () => {
    const result = await withCancelScope(async (scope) => {
      scope.cancel();
      await checkpoint();
      return "not reached";
    });
    assert.equal(result, undefined);
  });

  test("withCancelScope is new CancelScope(options).run(fn)", async () => {
    let seen: CancelScope | undefined;
    await withCancelScope(
      (scope) => {
        seen = scope;
      },
      { shield: true, name: "named" },
    );
    assert.ok(seen instanceof CancelScope);
    assert.equal(seen.shield, true);
    assert.equal(seen.name, "named");
  });

  test("a scope that has been run once throws RuntimeError when run again", async () => {
    const scope = new CancelScope();
    await scope.run(() => undefined);
    const err = await thrown(() => scope.run(() => undefined));
    assert.ok(err instanceof RuntimeError);
    assert.match((err as Error).message, /only once/);
  });

  test("a scope cannot be re-entered while it is running", async () => {
    const scope = new CancelScope();
    let inner: unknown;
    await scope.run(async () => {
      inner = await thrown(() => scope.run(() => undefined));
    });
    assert.ok(inner instanceof RuntimeError);
  });

  test("a body that throws an error other than Cancelled propagates it unchanged", async () => {
    const boom = new Error("boom");
    const err = await thrown(() => withCancelScope(async () => {
      await checkpoint();
      throw boom;
    }));
    assert.equal(err, boom);
  });
});

describe("level-triggered cancellation", () => {
  test("every checkpoint inside a cancelled scope raises Cancelled, again and again", async () => {
    let raised = 0;
    await withCancelScope(async (scope) => {
      scope.cancel();
      for (let i = 0; i < 5; i++) {
        try {
          await checkpoint();
        } catch (err) {
          assert.ok(isCancelled(err));
          raised++;
        }
      }
    });
    assert.equal(raised, 5);
  });

  test("a checkpoint after a caught Cancelled raises Cancelled again", async () => {
    const record: string[] = [];
    const scope = new CancelScope();
    await scope.run(async () => {
      scope.cancel();
      try {
        await sleepForever();
      } catch (err) {
        record.push(isCancelled(err) ? "caught" : "other");
      }
      try {
        await sleep(10_000);
        record.push("slept");
      } catch (err) {
        record.push(isCancelled(err) ? "caught again" : "other");
        throw err;
      }
    });
    assert.deepEqual(record, ["caught", "caught again"]);
    assert.equal(scope.cancelledCaught, true);
  });

  test("a checkpoint in a finally block of a cancelled scope raises Cancelled again", async () => {
    const record: string[] = [];
    await withCancelScope(async (scope) => {
      try {
        scope.cancel();
        await checkpoint();
      } finally {
        try {
          await sleep(10_000);
          record.push("cleanup slept");
        } catch (err) {
          record.push(isCancelled(err) ? "cleanup cancelled" : "other");
        }
      }
    });
    assert.deepEqual(record, ["cleanup cancelled"]);
  });

  test("cancelling a scope wakes code parked inside it at once", trellisTest(async () => {
    const record: string[] = [];
    await withTaskGroup(async (tg) => {
      const scope = new CancelScope();
      tg.spawn(() =>
        scope.run(async () => {
          try {
            record.push("parked");
            await sleepForever();
          } catch (err) {
            record.push(isCancelled(err) ? "woken by Cancelled" : "other");
            throw err;
          }
        }),
      );
      await waitAllTasksBlocked();
      assert.deepEqual(record, ["parked"]);
      scope.cancel();
    });
    assert.deepEqual(record, ["parked", "woken by Cancelled"]);
  }, { autojump: true }));

  test("once control has left the cancelled scope, checkpoints no longer raise", async () => {
    await withCancelScope(async (scope) => {
      scope.cancel();
      await checkpoint();
    });
    await checkpoint();
    await sleep(0);
  });

  test("cancel is idempotent and the first reason wins", async () => {
    const scope = new CancelScope();
    const err = await scope.run(async () => {
      scope.cancel("first");
      scope.cancel("second");
      return expectCancelled(() => checkpoint());
    });
    assert.equal(scope.reason, "first");
    assert.equal(err?.reason, "first");
  });

  test("a scope that was cancelled but whose body ended without a checkpoint absorbs nothing", async () => {
    const scope = new CancelScope();
    const result = await scope.run(() => {
      scope.cancel();
      return "finished";
    });
    assert.equal(result, "finished");
    assert.equal(scope.cancelCalled, true);
    assert.equal(scope.cancelledCaught, false);
    await checkpoint(); // the cancellation stayed inside the scope
  });

  test("a Cancelled turned into another error by the body is not absorbed", async () => {
    const scope = new CancelScope();
    const replaced = new Error("replaced");
    const err = await thrown(() =>
      scope.run(async () => {
        scope.cancel();
        try {
          await checkpoint();
        } catch {
          throw replaced;
        }
      }),
    );
    assert.equal(err, replaced);
    assert.equal(scope.cancelledCaught, false);
  });
});

describe("cancelling before run, from anywhere, and after exit", () => {
  test("a scope cancelled before run raises at its first checkpoint and absorbs the Cancelled", async () => {
    const scope = new CancelScope();
    scope.cancel("early");
    const record: string[] = [];
    const result = await scope.run(async () => {
      record.push("entered");
      await checkpoint();
      record.push("after checkpoint");
    });
    assert.equal(result, undefined);
    assert.deepEqual(record, ["entered"]);
    assert.equal(scope.cancelledCaught, true);
  });

  test("entering a scope inside a cancelled context does not raise; its first checkpoint does", async () => {
    const record: string[] = [];
    await withCancelScope(async (outer) => {
      outer.cancel();
      try {
        await withCancelScope(async () => {
          record.push("entered inner");
          await checkpoint();
          record.push("not reached");
        });
      } catch (err) {
        record.push(isCancelled(err) ? "inner raised Cancelled" : "other");
        throw err;
      }
    });
    assert.deepEqual(record, ["entered inner", "inner raised Cancelled"]);
  });

  test("a shielded cleanup scope can be opened and awaited inside a cancelled context", trellisTest(async () => {
    const record: string[] = [];
    const outer = new CancelScope();
    await outer.run(async () => {
      try {
        outer.cancel();
        await checkpoint();
      } finally {
        await withCancelScope(
          async () => {
            await sleep(2);
            await checkpoint();
            record.push("cleanup finished");
          },
          { shield: true },
        );
      }
    });
    assert.deepEqual(record, ["cleanup finished"]);
    assert.equal(outer.cancelledCaught, true);
    assert.equal(currentTime(), 2);
  }, { autojump: true }));

  test("cancel can be called from another task", trellisTest(async () => {
    const scope = new CancelScope();
    await withTaskGroup(async (tg) => {
      tg.spawn(() => scope.run(() => sleepForever()));
      tg.spawn(async () => {
        await waitAllTasksBlocked();
        scope.cancel();
      });
    });
    assert.equal(scope.cancelledCaught, true);
  }, { autojump: true }));

  test("cancel can be called from outside any task", async () => {
    const scope = new CancelScope();
    const done = scope.run(() => sleepForever());
    await new Promise<void>((resolve) => setImmediate(resolve));
    // A timer callback runs outside every task and scope.
    setImmediate(() => scope.cancel("from a timer callback"));
    assert.equal(await done, undefined);
    assert.equal(scope.cancelledCaught, true);
  });

  test("cancel cancels the tasks of task groups opened inside the scope", trellisTest(async () => {
    const record: string[] = [];
    await withCancelScope(async (scope) => {
      await withTaskGroup(async (tg) => {
        for (const name of ["a", "b"]) {
          tg.spawn(async () => {
            await withTaskGroup(async (inner) => {
              inner.spawn(async () => {
                try {
                  await sleepForever();
                } catch (err) {
                  record.push(`${name} leaf cancelled`);
                  throw err;
                }
              });
            });
          });
        }
        await waitAllTasksBlocked();
        scope.cancel();
      });
    });
    assert.deepEqual(record.sort(), ["a leaf cancelled", "b leaf cancelled"]);
  }, { autojump: true }));

  test("cancel after the scope has exited sets cancelCalled and changes nothing else", async () => {
    const scope = new CancelScope();
    await scope.run(() => checkpoint());
    scope.cancel();
    await checkpoint();
    assert.equal(scope.cancelCalled, true);
    assert.equal(scope.cancelledCaught, false);
  });
});

describe("nested scopes", () => {
  test("when nested scopes are all cancelled, the outermost cancelled one absorbs the Cancelled", async () => {
    const s1 = new CancelScope();
    const s2 = new CancelScope();
    const s3 = new CancelScope();
    const record: string[] = [];
    await s1.run(async () => {
      await s2.run(async () => {
        await s3.run(async () => {
          s3.cancel();
          s2.cancel();
          await sleepForever();
        });
        record.push("after s3: not reached");
      });
      record.push("after s2");
    });
    assert.deepEqual(record, ["after s2"]);
    assert.equal(s3.cancelCalled, true);
    assert.equal(s3.cancelledCaught, false);
    assert.equal(s2.cancelCalled, true);
    assert.equal(s2.cancelledCaught, true);
    assert.equal(s1.cancelCalled, false);
    assert.equal(s1.cancelledCaught, false);
  });

  test("an outer cancellation arriving after an inner one takes over the absorbing", async () => {
    const outer = new CancelScope();
    const inner = new CancelScope();
    await outer.run(async () => {
      await inner.run(async () => {
        inner.cancel("inner");
        await expectCancelled(() => checkpoint());
        outer.cancel("outer");
        const err = await expectCancelled(() => checkpoint());
        assert.equal(err.reason, "outer");
        throw err;
      });
    });
    assert.equal(inner.cancelledCaught, false);
    assert.equal(outer.cancelledCaught, true);
  });

  test("a Cancelled from an outer scope passes through uncancelled inner scopes", async () => {
    const outer = new CancelScope();
    const inner = new CancelScope();
    const record: string[] = [];
    await outer.run(async () => {
      await inner.run(async () => {
        outer.cancel();
        await checkpoint();
      });
      record.push("not reached");
    });
    assert.deepEqual(record, []);
    assert.equal(inner.cancelledCaught, false);
    assert.equal(outer.cancelledCaught, true);
  });

  test("a cancelled inner scope absorbs its own Cancelled and the code after it continues", async () => {
    const record: string[] = [];
    await withCancelScope(async (outer) => {
      const result = await withCancelScope(async (inner) => {
        inner.cancel();
        await checkpoint();
        return "not reached";
      });
      record.push(`inner returned ${String(result)}`);
      await checkpoint();
      record.push("outer goes on");
      assert.equal(outer.cancelCalled, false);
    });
    assert.deepEqual(record, ["inner returned undefined", "outer goes on"]);
  });

  test("deep nesting of 5000 scopes is cancelled without a stack overflow", async () => {
    const outermost = new CancelScope();
    let reached = false;
    const nest = async (n: number): Promise<void> => {
      await checkpoint(); // keeps the JS stack shallow: only the scope tree is deep
      if (n === 0) {
        reached = true;
        outermost.cancel();
        await checkpoint();
        return;
      }
      await withCancelScope(() => nest(n - 1));
    };
    await outermost.run(() => nest(5000));
    assert.equal(reached, true);
    assert.equal(outermost.cancelledCaught, true);
  });
});

describe("shields", () => {
  test("a shield keeps an outer cancellation from reaching code inside", trellisTest(async () => {
    const record: string[] = [];
    await withCancelScope(async (outer) => {
      await withCancelScope(
        async () => {
          outer.cancel();
          await checkpoint();
          await sleep(1);
          record.push("shielded code ran to the end");
        },
        { shield: true },
      );
      await expectCancelled(() => checkpoint());
      record.push("outside the shield it raises");
    });
    assert.deepEqual(record, ["shielded code ran to the end", "outside the shield it raises"]);
  }, { autojump: true }));

  test("a shield does not stop the scope's own cancel()", async () => {
    const scope = new CancelScope({ shield: true });
    await scope.run(async () => {
      scope.cancel();
      await checkpoint();
    });
    assert.equal(scope.cancelledCaught, true);
  });

  test("a shield does not stop a cancelled scope nested inside it", async () => {
    await withCancelScope(async (outer) => {
      await withCancelScope(
        async () => {
          outer.cancel();
          const innermost = new CancelScope();
          await innermost.run(async () => {
            innermost.cancel();
            await expectCancelled(() => checkpoint());
            await checkpoint();
          });
          assert.equal(innermost.cancelledCaught, true);
          await checkpoint(); // still shielded from outer
        },
        { shield: true },
      );
    });
  });

  test("a shield does not stop the scope's own deadline", trellisTest(async () => {
    await withCancelScope(async (outer) => {
      outer.cancel();
      const scope = new CancelScope({ shield: true, deadline: currentTime() + 2 });
      await scope.run(() => sleepForever());
      assert.equal(scope.cancelledCaught, true);
      assert.equal(currentTime(), 2);
    });
  }, { autojump: true }));

  test("turning a shield on while running protects the following checkpoints", trellisTest(async () => {
    await withCancelScope(async (outer) => {
      await withCancelScope(async (inner) => {
        outer.cancel();
        await expectCancelled(() => checkpoint());
        assert.equal(inner.shield, false);
        inner.shield = true;
        assert.equal(inner.shield, true);
        await checkpoint();
        await sleep(1);
      });
    });
  }, { autojump: true }));

  test("turning a shield off lets a pending outer cancellation in at once, also to parked code", trellisTest(async () => {
    const record: string[] = [];
    await withCancelScope(async (outer) => {
      await withTaskGroup(async (tg) => {
        outer.cancel();
        tg.cancelScope.shield = true;
        tg.spawn(async () => {
          record.push("sleeping");
          try {
            await sleepForever();
          } catch (err) {
            record.push(isCancelled(err) ? "cancelled" : "other");
            throw err;
          }
        });
        await withCancelScope(() => sleep(2), { shield: true });
        assert.deepEqual(record, ["sleeping"]);
        tg.cancelScope.shield = false;
        // Shielded so that leaving the group cannot be what cancels the child.
        await withCancelScope(() => sleep(2), { shield: true });
        assert.deepEqual(record, ["sleeping", "cancelled"]);
      });
    });
  }, { autojump: true }));

  test("a shield set before entry takes effect on entry, and removing it lets the cancellation in", async () => {
    const scope = new CancelScope();
    scope.shield = true;
    await withCancelScope(async (outer) => {
      await scope.run(async () => {
        outer.cancel();
        await checkpoint();
        scope.shield = false;
        await expectCancelled(() => checkpoint());
      });
    });
  });

  test("shielding a scope while its Cancelled propagates leaves the absorbing to the outer scope", async () => {
    const outer = new CancelScope();
    const inner = new CancelScope();
    await outer.run(async () => {
      await inner.run(async () => {
        outer.cancel();
        try {
          await checkpoint();
        } finally {
          inner.shield = true;
        }
      });
    });
    assert.equal(outer.cancelledCaught, true);
    assert.equal(inner.cancelledCaught, false);
  });

  test("setting shield to a non-boolean throws TypeError and leaves it unchanged", async () => {
    const scope = new CancelScope();
    assert.throws(
      () => {
        (scope as unknown as { shield: unknown }).shield = "hello";
      },
      (err: unknown) => err instanceof TypeError && /`shield`/.test(err.message),
    );
    assert.equal(scope.shield, false);
  });
});

describe("deadlines", () => {
  test("the deadline defaults to Infinity and reads back what was set", async () => {
    const scope = new CancelScope();
    assert.equal(scope.deadline, Infinity);
    const d = currentTime() + 60_000;
    scope.deadline = d;
    assert.equal(scope.deadline, d);
    assert.equal(new CancelScope({ deadline: d }).deadline, d);
  });

  test("a deadline cancels the scope when the clock reaches it, with source deadline", trellisTest(async () => {
    const deadline = currentTime() + 5;
    const scope = new CancelScope({ deadline });
    let err: Cancelled | undefined;
    await scope.run(async () => {
      err = await expectCancelled(() => sleepForever());
      assert.equal(currentTime(), deadline, "cancelled before or after the deadline");
      throw err;
    });
    assert.equal(scope.cancelCalled, true);
    assert.equal(scope.cancelledCaught, true);
    assert.equal(err?.source, "deadline");
  }, { autojump: true }));

  test("a deadline already passed at entry cancels the scope at its first checkpoint", async () => {
    const record: string[] = [];
    const scope = new CancelScope({ deadline: currentTime() - 1 });
    await scope.run(async () => {
      record.push("entered");
      await checkpoint();
      record.push("not reached");
    });
    assert.deepEqual(record, ["entered"]);
    assert.equal(scope.cancelledCaught, true);
  });

  test("moving the deadline into the past at run time cancels the scope at once", async () => {
    const scope = new CancelScope({ deadline: currentTime() + 60_000 });
    await scope.run(async () => {
      await checkpoint();
      scope.deadline = currentTime() - 1;
      assert.equal(scope.cancelCalled, true);
      await expectCancelled(() => checkpoint());
      await checkpoint();
    });
    assert.equal(scope.cancelledCaught, true);
  });

  test("moving the deadline earlier at run time wakes a parked sleeper when the new deadline passes", trellisTest(async () => {
    const scope = new CancelScope({ deadline: currentTime() + 60_000 });
    await withTaskGroup(async (tg) => {
      tg.spawn(() => scope.run(() => sleepForever()));
      await waitAllTasksBlocked();
      scope.deadline = currentTime() + 2;
    });
    assert.equal(scope.cancelledCaught, true);
    assert.equal(currentTime(), 2);
  }, { autojump: true }));

  test("moving the deadline later at run time postpones the cancellation", trellisTest(async () => {
    const scope = new CancelScope();
    await scope.run(async () => {
      scope.deadline = currentTime() + 30;
      scope.deadline = currentTime() + 60_000;
      await sleep(40);
    });
    assert.equal(scope.cancelCalled, false);
    assert.equal(scope.cancelledCaught, false);
    assert.equal(currentTime(), 40);
  }, { autojump: true }));

  test("setting the deadline to Infinity at run time removes it", trellisTest(async () => {
    const scope = new CancelScope();
    await scope.run(async () => {
      scope.deadline = currentTime() + 30;
      scope.deadline = Infinity;
      await sleep(40);
    });
    assert.equal(scope.cancelCalled, false);
    assert.equal(currentTime(), 40);
  }, { autojump: true }));

  test("a NaN deadline is refused with RangeError naming deadline", async () => {
    assert.throws(() => new CancelScope({ deadline: NaN }), (err: unknown) => err instanceof RangeError && /`deadline`/.test(err.message));
    const scope = new CancelScope();
    assert.throws(
      () => {
        scope.deadline = NaN;
      },
      (err: unknown) => err instanceof RangeError && /`deadline`/.test(err.message),
    );
    assert.equal(scope.deadline, Infinity);
  });

  // Real clock on purpose: it counts the real timer behind the deadline.
  test("leaving a scope with a pending deadline releases its timer", async () => {
    const before = timerCount();
    await withCancelScope(async (scope) => {
      scope.deadline = currentTime() + 600_000;
      await checkpoint();
    });
    assert.equal(timerCount(), before);
  });
});

describe("cancelCalled and cancelledCaught", () => {
  test("cancelCalled becomes true on cancel() even when nothing inside checks it", async () => {
    const scope = new CancelScope();
    assert.equal(scope.cancelCalled, false);
    scope.cancel();
    assert.equal(scope.cancelCalled, true);
    assert.equal(scope.cancelledCaught, false);
  });

  test("cancelledCaught is true only on the scope that absorbed the Cancelled", async () => {
    const outer = new CancelScope();
    const middle = new CancelScope();
    const inner = new CancelScope();
    await outer.run(() =>
      middle.run(() =>
        inner.run(async () => {
          middle.cancel();
          await checkpoint();
        }),
      ),
    );
    assert.deepEqual(
      [outer.cancelledCaught, middle.cancelledCaught, inner.cancelledCaught],
      [false, true, false],
    );
  });

  test("cancelledCaught is true when the scope's cancellation ended the tasks of a group inside it", trellisTest(async () => {
    const scope = new CancelScope();
    const record: string[] = [];
    await scope.run(async () => {
      await withTaskGroup(async (tg) => {
        tg.spawn(() => sleepForever());
        tg.spawn(async () => {
          await waitAllTasksBlocked();
          scope.cancel();
        });
      });
      record.push("after the group");
    });
    assert.equal(scope.cancelledCaught, true);
    // The group's tasks were cut short by the scope's cancellation: the code after the group,
    // which assumes their work is done, does not run.
    assert.deepEqual(record, []);
  }, { autojump: true }));
});

describe("scope.signal", () => {
  test("scope.signal is not aborted while the scope is not cancelled", trellisTest(async () => {
    await withCancelScope(async (scope) => {
      const signal = scope.signal;
      await sleep(1);
      assert.equal(signal.aborted, false);
    });
  }, { autojump: true }));

  test("scope.signal aborts when the scope is cancelled, with a Cancelled as its reason", async () => {
    await withCancelScope(async (scope) => {
      const signal = scope.signal;
      let fired = 0;
      signal.addEventListener("abort", () => fired++);
      scope.cancel("stop");
      assert.equal(signal.aborted, true);
      assert.equal(fired, 1);
      assert.ok(isCancelled(signal.reason));
      assert.equal((signal.reason as Cancelled).reason, "stop");
    });
  });

  test("scope.signal aborts when an outer scope is cancelled", async () => {
    await withCancelScope(async (outer) => {
      await withCancelScope(async (inner) => {
        const signal = inner.signal;
        outer.cancel();
        assert.equal(signal.aborted, true);
      });
    });
  });

  test("scope.signal of a shielded scope does not abort on an outer cancellation", trellisTest(async () => {
    await withCancelScope(async (outer) => {
      await withCancelScope(
        async (inner) => {
          const signal = inner.signal;
          outer.cancel();
          await sleep(1);
          assert.equal(signal.aborted, false);
          inner.cancel();
          assert.equal(signal.aborted, true);
        },
        { shield: true },
      );
    });
  }, { autojump: true }));

  test("scope.signal first read inside an already cancelled context is already aborted", async () => {
    await withCancelScope(async (outer) => {
      outer.cancel();
      await withCancelScope(async (inner) => {
        assert.equal(inner.signal.aborted, true);
      });
    });
  });

  test("scope.signal aborts when the scope's deadline passes", trellisTest(async () => {
    const scope = new CancelScope({ deadline: currentTime() + 2 });
    let signal: AbortSignal | undefined;
    await scope.run(async (s) => {
      signal = s.signal;
      await sleepForever();
    });
    assert.equal(signal?.aborted, true);
    assert.equal(currentTime(), 2);
  }, { autojump: true }));
});

describe("bad arguments", () => {
  test("new CancelScope with options of the wrong type throws TypeError naming the option", async () => {
    assert.throws(() => new CancelScope("soon" as never), TypeError);
    assert.throws(() => new CancelScope({ shield: "yes" as never }), (err: unknown) => err instanceof TypeError && /`shield`/.test(err.message));
    assert.throws(() => new CancelScope({ name: 5 as never }), (err: unknown) => err instanceof TypeError && /`name`/.test(err.message));
    assert.throws(
      () => new CancelScope({ deadline: "5" as never }),
      (err: unknown) => (err instanceof TypeError || err instanceof RangeError) && /`deadline`/.test(err.message),
    );
  });

  test("run with a non-function throws TypeError naming fn", async () => {
    const err = await thrown(() => new CancelScope().run(42 as never));
    assert.ok(err instanceof TypeError);
    assert.match(err.message, /`fn`/);
    const err2 = await thrown(() => withCancelScope(null as never));
    assert.ok(err2 instanceof TypeError);
  });
});

describe("inside run()", () => {
  test("scopes behave the same inside run(), on the run's clock", async () => {
    const result = await run(
      async () => {
        const scope = new CancelScope({ deadline: currentTime() + 2 });
        await scope.run(() => sleepForever());
        return [scope.cancelledCaught, currentTime()];
      },
      { handleSignals: false, clock: new MockClock({ autojumpThreshold: 0 }) },
    );
    assert.deepEqual(result, [true, 2]);
  });
});

describe("issue 9: cancelCalled of a scope not yet entered (Trio test_cancel_unbound)", () => {
  test("a scope made with a deadline already past reports cancelCalled before it is entered", async () => {
    const scope = new CancelScope({ deadline: currentTime() - 1 });
    assert.equal(scope.cancelCalled, true);
    assert.equal(scope.cancelledCaught, false);
    // …and it stays cancelled when entered: the first checkpoint raises, the scope absorbs it.
    const record: string[] = [];
    await scope.run(async () => {
      record.push("entered");
      await checkpoint();
      record.push("not reached");
    });
    assert.deepEqual(record, ["entered"]);
    assert.equal(scope.cancelledCaught, true);
  });

  test("moving an unentered scope's deadline into the past makes cancelCalled true, and it never becomes false again", async () => {
    const scope = new CancelScope({ deadline: currentTime() + 60_000 });
    assert.equal(scope.cancelCalled, false);
    scope.deadline -= 120_000;
    assert.equal(scope.cancelCalled, true);
    scope.deadline += 120_000;
    assert.equal(scope.cancelCalled, true); // never becomes un-cancelled
  });

  test("an unentered scope reads the deadline on the reader's clock (a MockClock inside run)", trellisTest(async () => {
    const scope = new CancelScope({ deadline: currentTime() + 5 });
    assert.equal(scope.cancelCalled, false);
    await sleep(5);
    assert.equal(scope.cancelCalled, true);
  }, { autojump: true }));

  test("cancelCalled of a running scope notices a deadline that passed before its timer fired", trellisTest(async ({ clock }) => {
    await new CancelScope({ deadline: currentTime() + 5 }).run(async (scope) => {
      assert.equal(scope.cancelCalled, false);
      clock.jump(5); // time passes; the deadline's timer has not run yet
      assert.equal(scope.cancelCalled, true);
      await assert.rejects(checkpoint(), isCancelled);
    });
  }, { clock: new MockClock() }));

  test("cancel before entry: the scope absorbs, and the failAfter inside it never times out", trellisTest(async () => {
    const scope = new CancelScope();
    scope.cancel();
    await withTaskGroup((tg) => {
      tg.spawn(() => scope.run(() => failAfter(1_000, () => sleepForever())));
    });
    assert.equal(scope.cancelledCaught, true);
    assert.equal(currentTime(), 0);
  }, { autojump: true }));

  test("cancel after entry: the blocked task ends at once", trellisTest(async () => {
    const scope = new CancelScope();
    await withTaskGroup(async (tg) => {
      tg.spawn(() => scope.run(() => failAfter(1_000, () => sleepForever())));
      await waitAllTasksBlocked();
      scope.cancel();
    });
    assert.equal(scope.cancelledCaught, true);
    assert.equal(currentTime(), 0);
  }, { autojump: true }));

  test("shield set before entry: the outer cancellation is kept out until it is lowered", async () => {
    const scope = new CancelScope();
    scope.shield = true;
    const outer = new CancelScope();
    await outer.run(() =>
      scope.run(async () => {
        outer.cancel();
        await checkpoint();
        scope.shield = false;
        await assert.rejects(checkpoint(), isCancelled);
      }),
    );
    assert.equal(scope.cancelledCaught, false);
  });

  test("can't reuse: cancel after exit sets cancelCalled only, and a second run throws RuntimeError", async () => {
    const scope = new CancelScope();
    await scope.run(() => checkpoint());
    scope.cancel();
    await checkpoint();
    assert.equal(scope.cancelCalled, true);
    assert.equal(scope.cancelledCaught, false);
    await assert.rejects(scope.run(() => undefined), (err: unknown) => err instanceof RuntimeError && /only once/.test(err.message));
  });

  test("can't enter from two tasks at once", trellisTest(async () => {
    const scope = new CancelScope();
    await withTaskGroup(async (tg) => {
      tg.spawn(() => scope.run(() => sleepForever()), { name: "this one" });
      await waitAllTasksBlocked();
      await assert.rejects(scope.run(() => undefined), RuntimeError);
      tg.cancel();
    });
  }));
});
