// moveOnAfter, moveOnAt, failAfter, failAt (API.md §1 "Cancellation"), after Trio's
// test_timeouts.py (test_move_on_after, test_fail, test_timeouts_raise_value_error) and the
// CPython issue 86296 analogue: an outer cancellation arriving together with the timeout is
// never turned into TimeoutError nor swallowed.
//
// Tests that wait for a deadline run in virtual time (trellisTest with autojump: a MockClock
// that jumps to the next deadline once every task is blocked), so they can check exact times;
// those that never wait stay outside run(), on the real clock.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CancelScope,
  TimeoutError,
  checkpoint,
  currentTime,
  failAfter,
  failAt,
  isCancelled,
  moveOnAfter,
  moveOnAt,
  sleep,
  sleepForever,
  withCancelScope,
  withTaskGroup,
} from "../../src/index.js";
import { trellisTest } from "../../src/testing/index.js";
import { thrown } from "../support/thrown.js";

describe("moveOnAfter and moveOnAt", () => {
  test("moveOnAfter returns fn's result when it finishes in time", async () => {
    assert.equal(await moveOnAfter(60_000, async () => "in time"), "in time");
    assert.equal(await moveOnAt(currentTime() + 60_000, async () => "in time"), "in time");
  });

  test("moveOnAfter returns undefined on timeout, once the clock has reached the deadline", trellisTest(async () => {
    const start = currentTime();
    const result = await moveOnAfter(5, async () => {
      await sleep(60_000);
      return "late";
    });
    assert.equal(result, undefined);
    assert.equal(start, 0);
    assert.equal(currentTime(), 5);
  }, { autojump: true }));

  test("moveOnAt returns undefined when its deadline passes", trellisTest(async () => {
    const deadline = currentTime() + 3;
    assert.equal(await moveOnAt(deadline, () => sleepForever()), undefined);
    assert.equal(currentTime(), 3);
  }, { autojump: true }));

  test("moveOnAt with a deadline already passed cancels fn at its first checkpoint", async () => {
    const record: string[] = [];
    const result = await moveOnAt(currentTime(), async () => {
      record.push("entered");
      await sleep(0);
      record.push("not reached");
    });
    assert.equal(result, undefined);
    assert.deepEqual(record, ["entered"]);
  });

  test("fn receives the scope, whose deadline can be moved while it runs", trellisTest(async () => {
    const result = await moveOnAfter(60_000, async (scope: CancelScope) => {
      assert.ok(scope instanceof CancelScope);
      scope.deadline = currentTime() + 2;
      await sleepForever();
    });
    assert.equal(result, undefined);
    assert.equal(currentTime(), 2);
  }, { autojump: true }));

  test("a timed-out body's finally runs before moveOnAfter returns", trellisTest(async () => {
    const record: string[] = [];
    await moveOnAfter(2, async () => {
      try {
        await sleepForever();
      } finally {
        record.push("finally");
      }
    });
    record.push("returned");
    assert.deepEqual(record, ["finally", "returned"]);
  }, { autojump: true }));

  test("the shield option keeps an outer cancellation out; the timeout still applies", trellisTest(async () => {
    const record: string[] = [];
    await withCancelScope(async (outer) => {
      outer.cancel();
      const result = await moveOnAfter(
        60_000,
        async () => {
          await sleep(1);
          return "finished despite the outer cancel";
        },
        { shield: true },
      );
      record.push(String(result));
      const timedOut = await moveOnAfter(2, () => sleepForever(), { shield: true });
      record.push(String(timedOut));
    });
    assert.deepEqual(record, ["finished despite the outer cancel", "undefined"]);
    assert.equal(currentTime(), 1 + 2);
  }, { autojump: true }));

  test("an outer cancellation passes through moveOnAfter", async () => {
    const outer = new CancelScope();
    const record: string[] = [];
    await outer.run(async () => {
      await moveOnAfter(60_000, async () => {
        outer.cancel();
        await checkpoint();
      });
      record.push("not reached");
    });
    assert.deepEqual(record, []);
    assert.equal(outer.cancelledCaught, true);
  });

  test("entering moveOnAfter inside a cancelled context does not raise before the first checkpoint", async () => {
    const record: string[] = [];
    await withCancelScope(async (outer) => {
      outer.cancel();
      await moveOnAfter(60_000, async () => {
        record.push("entered");
        await checkpoint();
      });
    });
    assert.deepEqual(record, ["entered"]);
  });

  test("moveOnAfter returns undefined when its timeout cut short the tasks of a group inside it", trellisTest(async () => {
    const result = await moveOnAfter(3, async () => {
      await withTaskGroup((tg) => {
        tg.spawn(() => sleep(60_000));
      });
      return "all work done";
    });
    assert.equal(result, undefined);
    assert.equal(currentTime(), 3);
  }, { autojump: true }));
});

describe("failAfter and failAt", () => {
  test("failAfter returns fn's result when it finishes in time", async () => {
    assert.equal(await failAfter(60_000, async () => 1), 1);
    assert.equal(await failAt(currentTime() + 60_000, async () => 2), 2);
  });

  test("failAfter throws TimeoutError when the deadline passes", trellisTest(async () => {
    const start = currentTime();
    const err = await thrown(() => failAfter(3, () => sleepForever()));
    assert.ok(err instanceof TimeoutError);
    assert.equal((err as Error).name, "TimeoutError");
    assert.equal(start, 0);
    assert.equal(currentTime(), 3);
  }, { autojump: true }));

  test("failAt throws TimeoutError when its deadline passes", trellisTest(async () => {
    const err = await thrown(() => failAt(currentTime() + 2, () => sleep(60_000)));
    assert.ok(err instanceof TimeoutError);
  }, { autojump: true }));

  test("failAfter throws TimeoutError when the timeout cut short the tasks of a group inside it", trellisTest(async () => {
    const err = await thrown(() =>
      failAfter(3, () =>
        withTaskGroup((tg) => {
          tg.spawn(() => sleep(60_000));
        }),
      ),
    );
    assert.ok(err instanceof TimeoutError, `expected TimeoutError, got ${String(err)}`);
  }, { autojump: true }));

  test("a body that swallows the timeout's Cancelled and returns gets its value through", trellisTest(async () => {
    // The scope absorbed nothing: no TimeoutError, as in Trio (fail_after raises only when
    // the scope caught its Cancelled).
    const result = await failAfter(2, async () => {
      try {
        await sleepForever();
      } catch {
        return "swallowed";
      }
    });
    assert.equal(result, "swallowed");
  }, { autojump: true }));

  test("the shield option of failAfter keeps an outer cancellation out", trellisTest(async () => {
    await withCancelScope(async (outer) => {
      outer.cancel();
      assert.equal(await failAfter(60_000, async () => (await sleep(1), "ok"), { shield: true }), "ok");
    });
  }, { autojump: true }));
});

describe("an outer cancellation at the same time as the timeout (CPython 86296)", () => {
  test("an outer deadline equal to failAt's is reported as the outer cancellation, never as TimeoutError", trellisTest(async () => {
    for (let i = 0; i < 20; i++) {
      const deadline = currentTime() + 2;
      const outer = new CancelScope({ deadline });
      const record: string[] = [];
      await outer.run(async () => {
        try {
          await failAt(deadline, () => sleepForever());
          record.push("failAt returned");
        } catch (err) {
          record.push(err instanceof TimeoutError ? "TimeoutError" : isCancelled(err) ? "Cancelled" : "other");
          throw err;
        }
      });
      assert.deepEqual(record, ["Cancelled"]);
      assert.equal(outer.cancelledCaught, true);
      assert.equal(currentTime(), deadline);
    }
  }, { autojump: true }));

  test("an outer deadline equal to moveOnAt's is never swallowed by moveOnAt", trellisTest(async () => {
    for (let i = 0; i < 20; i++) {
      const deadline = currentTime() + 2;
      const outer = new CancelScope({ deadline });
      const record: string[] = [];
      await outer.run(async () => {
        await moveOnAt(deadline, () => sleepForever());
        record.push("moveOnAt returned");
        await checkpoint();
        record.push("code after it ran on");
      });
      assert.ok(!record.includes("code after it ran on"), record.join(", "));
      assert.equal(outer.cancelledCaught, true);
      assert.equal(currentTime(), deadline);
    }
  }, { autojump: true }));

  test("an outer cancel arriving after the timeout fired, before failAfter returns, wins", trellisTest(async () => {
    const outer = new CancelScope();
    let seen: unknown;
    await outer.run(async () => {
      try {
        await failAfter(2, async () => {
          try {
            await sleepForever();
          } finally {
            outer.cancel("outer, while the timeout's Cancelled propagates");
          }
        });
      } catch (err) {
        seen = err;
        throw err;
      }
    });
    assert.ok(isCancelled(seen), `expected Cancelled, got ${String(seen)}`);
    assert.equal(outer.cancelledCaught, true);
    assert.equal(outer.reason, "outer, while the timeout's Cancelled propagates");
  }, { autojump: true }));

  test("an outer cancel and the timeout both pending at the same checkpoint: the outer one is raised", async () => {
    const outer = new CancelScope();
    let seen: unknown;
    await outer.run(async () => {
      try {
        await failAfter(60_000, async (inner: CancelScope) => {
          inner.deadline = currentTime() - 1; // the timeout, now
          outer.cancel("outer"); // and the outer cancellation, in the same tick
          await checkpoint();
        });
      } catch (err) {
        seen = err;
        throw err;
      }
    });
    assert.ok(isCancelled(seen));
    assert.equal(outer.cancelledCaught, true);
  });

  test("a timeout inside a cancelled outer scope that shields nothing is not turned into TimeoutError", async () => {
    const outer = new CancelScope();
    let seen: unknown;
    await outer.run(async () => {
      outer.cancel();
      try {
        await failAfter(0, () => sleepForever());
      } catch (err) {
        seen = err;
        throw err;
      }
    });
    assert.ok(isCancelled(seen), `expected Cancelled, got ${String(seen)}`);
  });
});

describe("issue 9: a shielded failAfter inside an already-cancelled scope still raises its TimeoutError", () => {
  // Trio's test_fail_after_fails_even_if_shielded and test_move_on_after_moves_on_even_if_shielded:
  // the shield holds the outer cancellation off, so the body runs until its own deadline, and
  // that deadline, not the outer cancellation, is what ended it.
  test("failAfter with shield in a cancelled scope sleeps until its deadline, then throws TimeoutError", trellisTest(async () => {
    const outer = new CancelScope();
    const start = currentTime();
    const err = await thrown(() =>
      outer.run(async () => {
        outer.cancel();
        await failAfter(30, () => sleepForever(), { shield: true });
      }),
    );
    assert.ok(err instanceof TimeoutError, `expected TimeoutError, got ${String(err)}`);
    assert.equal(currentTime() - start, 30);
    assert.equal(outer.cancelledCaught, false);
  }, { autojump: true }));

  test("failAt with shield in a cancelled scope throws TimeoutError, also with a deadline already passed", trellisTest(async () => {
    for (const ms of [0, 5]) {
      const outer = new CancelScope();
      const err = await thrown(() =>
        outer.run(async () => {
          outer.cancel();
          await failAt(currentTime() + ms, () => sleepForever(), { shield: true });
        }),
      );
      assert.ok(err instanceof TimeoutError, `ms=${ms}: expected TimeoutError, got ${String(err)}`);
    }
  }, { autojump: true }));

  test("an outer cancellation arriving while the shielded body runs does not hide the later timeout", trellisTest(async () => {
    const outer = new CancelScope();
    const err = await thrown(() =>
      outer.run(async () => {
        await failAfter(30, async () => {
          await sleep(10);
          outer.cancel("while shielded");
          await sleepForever();
        }, { shield: true });
      }),
    );
    assert.ok(err instanceof TimeoutError, `expected TimeoutError, got ${String(err)}`);
  }, { autojump: true }));

  test("moveOnAfter with shield in a cancelled scope moves on at its deadline; the next checkpoint raises", trellisTest(async () => {
    const outer = new CancelScope();
    const record: string[] = [];
    const start = currentTime();
    await outer.run(async () => {
      outer.cancel();
      const result = await moveOnAfter(30, () => sleepForever(), { shield: true });
      record.push(`moved on with ${String(result)} after ${currentTime() - start} ms`);
      await checkpoint();
      record.push("not reached");
    });
    assert.deepEqual(record, ["moved on with undefined after 30 ms"]);
    assert.equal(outer.cancelledCaught, true);
  }, { autojump: true }));

  for (const [label, timeout] of [["moveOnAfter", moveOnAfter], ["failAfter", failAfter]] as const) {
    test(`${label} with shield keeps the outer cancellation out until the shield is lowered (Trio test_context_shields_from_outer)`, async () => {
      const outer = new CancelScope();
      const record: string[] = [];
      await outer.run(async () => {
        await timeout(60_000, async (inner: CancelScope) => {
          outer.cancel();
          await checkpoint();
          record.push("shielded checkpoint passed");
          inner.shield = false;
          try {
            await checkpoint();
          } catch (err) {
            record.push(isCancelled(err) ? "Cancelled once unshielded" : String(err));
            throw err;
          }
        }, { shield: true });
      });
      assert.deepEqual(record, ["shielded checkpoint passed", "Cancelled once unshielded"]);
      assert.equal(outer.cancelledCaught, true);
    });
  }

  test("a cancellation that arrives after the shielded timeout fired still wins over TimeoutError", trellisTest(async () => {
    const outer = new CancelScope();
    let seen: unknown;
    await outer.run(async () => {
      try {
        await failAfter(2, async () => {
          try {
            await sleepForever();
          } finally {
            outer.cancel("outer, while the timeout's Cancelled propagates");
          }
        }, { shield: true });
      } catch (err) {
        seen = err;
        throw err;
      }
    });
    assert.ok(isCancelled(seen), `expected Cancelled, got ${String(seen)}`);
    assert.equal(outer.cancelledCaught, true);
  }, { autojump: true }));
});

describe("TimeoutError says which operation timed out", () => {
  test("failAfter and failAt name the operation given as options.name", trellisTest(async () => {
    const a = await thrown(() => failAfter(3, () => sleepForever(), { name: "connect db" }));
    assert.ok(a instanceof TimeoutError);
    assert.equal(a.message, 'failAfter(): "connect db" did not finish within 3 ms');
    const deadline = currentTime() + 2;
    const b = await thrown(() => failAt(deadline, () => sleepForever(), { name: "handshake" }));
    assert.ok(b instanceof TimeoutError);
    assert.equal(b.message, `failAt(): "handshake" did not finish by the deadline ${deadline}`);
  }, { autojump: true }));

  test("without a name the message says the body did not finish", trellisTest(async () => {
    const err = await thrown(() => failAfter(3, () => sleepForever()));
    assert.equal((err as Error).message, "failAfter(): the body did not finish within 3 ms");
  }, { autojump: true }));

  test("moveOnAfter and moveOnAt take a name too: it names the scope", async () => {
    assert.equal(await moveOnAfter(10, (scope) => scope.name, { name: "poll" }), "poll");
    assert.equal(await moveOnAt(currentTime() + 10, (scope) => scope.name, { name: "poll at" }), "poll at");
  });
});

describe("bad arguments", () => {
  test("negative or NaN durations throw RangeError naming ms", async () => {
    for (const fn of [moveOnAfter, failAfter]) {
      for (const ms of [-1, NaN]) {
        const err = await thrown(async () => fn(ms, async () => 1));
        assert.ok(err instanceof RangeError, `${fn.name}(${ms})`);
        assert.match((err as Error).message, /`ms`/);
      }
    }
  });

  test("a NaN deadline throws RangeError naming deadline; negative deadlines are allowed", async () => {
    for (const fn of [moveOnAt, failAt]) {
      const err = await thrown(async () => fn(NaN, async () => 1));
      assert.ok(err instanceof RangeError, fn.name);
      assert.match((err as Error).message, /`deadline`/);
    }
    assert.equal(await moveOnAt(-5, async () => "ran, and had no checkpoint"), "ran, and had no checkpoint");
  });

  test("a non-function body throws TypeError naming fn", async () => {
    for (const call of [
      () => moveOnAfter(1, 5 as never),
      () => moveOnAt(1, 5 as never),
      () => failAfter(1, 5 as never),
      () => failAt(1, 5 as never),
    ]) {
      const err = await thrown(async () => call());
      assert.ok(err instanceof TypeError);
      assert.match((err as Error).message, /`fn`/);
    }
  });

  test("issue 9: a duration or deadline that is not a number is a TypeError naming it, showing the value", async () => {
    for (const fn of [moveOnAfter, failAfter]) {
      const err = await thrown(async () => fn("100" as never, async () => 1));
      assert.ok(err instanceof TypeError, fn.name);
      assert.match((err as Error).message, /^(moveOnAfter|failAfter)\(\): `ms` must be a number of milliseconds ≥ 0, got "100" \(string\)$/);
    }
    for (const fn of [moveOnAt, failAt]) {
      const err = await thrown(async () => fn(undefined as never, async () => 1));
      assert.ok(err instanceof TypeError, fn.name);
      assert.match((err as Error).message, /`deadline` must be a number.*got undefined$/);
    }
  });

  test("options of the wrong type throw TypeError", async () => {
    for (const options of ["x", { shield: "yes" }, { name: 3 }]) {
      const err = await thrown(async () => moveOnAfter(10, async () => 1, options as never));
      assert.ok(err instanceof TypeError, JSON.stringify(options));
      const err2 = await thrown(async () => failAfter(10, async () => 1, options as never));
      assert.ok(err2 instanceof TypeError, JSON.stringify(options));
    }
  });
});
