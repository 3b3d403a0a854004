// Bridges to foreign promises and AbortSignals: wait() and cancelOnAbort() (API.md §1
// "Cancellation").
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import {
  CancelScope,
  cancelOnAbort,
  checkpoint,
  isCancelled,
  sleepForever,
  wait,
  withCancelScope,
  withTaskGroup,
  type Cancelled,
} from "../../src/index.js";
import { trellisTest, waitAllTasksBlocked } from "../../src/testing/index.js";
import { currentTaskImpl, park, wake } from "../../src/core/index.js";
import { thrown } from "../support/thrown.js";

/** A promise with its settle functions. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets the event loop turn a few times, so that Node decides about unhandled rejections. */
async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Counts `unhandledRejection` events while `fn` runs (and a few turns after). */
async function unhandledDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const spy = (reason: unknown) => seen.push(reason);
  process.on("unhandledRejection", spy);
  try {
    await fn();
    await turns();
  } finally {
    process.removeListener("unhandledRejection", spy);
  }
  return seen;
}

describe("wait", () => {
  test("wait returns the value the promise resolves with", async () => {
    const d = deferred<string>();
    setImmediate(() => d.resolve("value"));
    assert.equal(await wait(d.promise), "value");
  });

  test("wait throws the error the promise rejects with, as the same object", async () => {
    const boom = new Error("boom");
    const err = await thrown(() => wait(Promise.reject(boom)));
    assert.equal(err, boom);
  });

  test("wait accepts a thenable", async () => {
    const thenable = { then: (ok: (v: number) => void) => setImmediate(() => ok(5)) };
    assert.equal(await wait(thenable as unknown as PromiseLike<number>), 5);
  });

  test("wait is a checkpoint: it yields even for a settled promise", async () => {
    let yielded = false;
    queueMicrotask(() => {
      yielded = true;
    });
    await wait(Promise.resolve(1));
    assert.equal(yielded, true);
  });

  test("wait raises Cancelled at once when the context is already cancelled", async () => {
    await withCancelScope(async (scope) => {
      scope.cancel();
      const err = await thrown(() => wait(Promise.resolve(1)));
      assert.ok(isCancelled(err));
    });
  });

  test("a cancelled wait raises Cancelled and abandons the promise", trellisTest(async () => {
    const d = deferred<string>();
    const record: string[] = [];
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        try {
          await wait(d.promise);
          record.push("not reached");
        } catch (err) {
          record.push(isCancelled(err) ? "cancelled" : "other");
          throw err;
        }
      });
      await waitAllTasksBlocked();
      tg.cancel();
    });
    d.resolve("late");
    await turns();
    assert.deepEqual(record, ["cancelled"]);
  }, { autojump: true }));

  test("the later rejection of an abandoned promise is handled, never unhandled", async () => {
    const seen = await unhandledDuring(async () => {
      const d = deferred<string>();
      await withCancelScope(async (scope) => {
        setImmediate(() => scope.cancel());
        await wait(d.promise);
      });
      d.reject(new Error("rejected after it was abandoned"));
    });
    assert.deepEqual(seen, []);
  });

  test("the later rejection of a promise passed to wait in an already cancelled context is never unhandled", async () => {
    const seen = await unhandledDuring(async () => {
      const d = deferred<string>();
      await withCancelScope(async (scope) => {
        scope.cancel();
        await wait(d.promise);
      });
      d.reject(new Error("rejected after it was refused"));
    });
    assert.deepEqual(seen, []);
  });

  test("a wait whose promise settled before a same-tick cancellation returns its value", async () => {
    const d = deferred<string>();
    await withCancelScope(async (scope) => {
      const p = wait(d.promise); // wait's own reaction is registered first...
      void d.promise.then(() => scope.cancel()); // ...so this cancel runs right after it
      d.resolve("kept");
      assert.equal(await p, "kept");
      await assert.rejects(checkpoint(), (err) => isCancelled(err));
    });
  });

  test("wait with something that is not a promise throws TypeError naming promise", async () => {
    for (const bad of [42, null, undefined, "p", { then: 1 }]) {
      const err = await thrown(() => wait(bad as never));
      assert.ok(err instanceof TypeError, String(bad));
      assert.match((err as Error).message, /`promise`/);
    }
  });
});

describe("cancelOnAbort", () => {
  test("cancelOnAbort returns fn's result when the signal does not abort", async () => {
    const controller = new AbortController();
    assert.equal(await cancelOnAbort(controller.signal, async () => "result"), "result");
  });

  test("an abort after entry cancels fn, and cancelOnAbort returns undefined", async () => {
    const controller = new AbortController();
    const record: string[] = [];
    const result = await cancelOnAbort(controller.signal, async () => {
      setImmediate(() => controller.abort("client left"));
      try {
        await sleepForever();
      } catch (err) {
        record.push(`${(err as Cancelled).source}: ${String((err as Cancelled).reason)}`);
        throw err;
      }
    });
    assert.equal(result, undefined);
    assert.deepEqual(record, ["abort: client left"]);
  });

  test("a signal aborted before entry cancels fn at its first checkpoint", async () => {
    const controller = new AbortController();
    controller.abort("already gone");
    const record: string[] = [];
    const result = await cancelOnAbort(controller.signal, async (scope: CancelScope) => {
      record.push("entered");
      assert.equal(scope.cancelCalled, true);
      await checkpoint();
      record.push("not reached");
    });
    assert.equal(result, undefined);
    assert.deepEqual(record, ["entered"]);
  });

  test("cancelOnAbort removes its abort listener when fn ends, however it ends", async () => {
    const controller = new AbortController();
    const { signal } = controller;
    await cancelOnAbort(signal, async () => {
      assert.equal(getEventListeners(signal, "abort").length, 1);
    });
    assert.equal(getEventListeners(signal, "abort").length, 0);
    await assert.rejects(
      cancelOnAbort(signal, async () => {
        throw new Error("x");
      }),
    );
    assert.equal(getEventListeners(signal, "abort").length, 0);
    await withCancelScope(async (outer) => {
      await cancelOnAbort(signal, async () => {
        outer.cancel();
        await checkpoint();
      });
    });
    assert.equal(getEventListeners(signal, "abort").length, 0);
    const aborted = new AbortController();
    await cancelOnAbort(aborted.signal, async () => {
      setImmediate(() => aborted.abort());
      await sleepForever();
    });
    assert.equal(getEventListeners(aborted.signal, "abort").length, 0);
  });

  test("an outer cancellation passes through cancelOnAbort unabsorbed", async () => {
    const controller = new AbortController();
    const outer = new CancelScope();
    const record: string[] = [];
    await outer.run(async () => {
      await cancelOnAbort(controller.signal, async () => {
        outer.cancel();
        await checkpoint();
      });
      record.push("not reached");
    });
    assert.deepEqual(record, []);
    assert.equal(outer.cancelledCaught, true);
  });

  test("cancelOnAbort with a bad signal or fn throws TypeError naming it", async () => {
    const e1 = await thrown(() => cancelOnAbort({} as never, async () => 1));
    assert.ok(e1 instanceof TypeError);
    assert.match((e1 as Error).message, /`signal`/);
    const e2 = await thrown(() => cancelOnAbort(new AbortController().signal, "fn" as never));
    assert.ok(e2 instanceof TypeError);
    assert.match((e2 as Error).message, /`fn`/);
  });
});

describe("issue 9: a wait is registered before anything can wake it (park.ts, the registration rule)", () => {
  /** The waits still linked to `scope` (white box: what cancellation of the scope would walk). */
  function linkedWaits(scope: object): number {
    let count = 0;
    for (let p = Reflect.get(scope, "firstParked") as { nextInScope: unknown } | undefined; p !== undefined; p = p.nextInScope as typeof p) count++;
    return count;
  }

  /** A thenable whose `then` calls back at once, before returning. */
  function syncThenable<T>(outcome: { value: T } | { error: unknown }): PromiseLike<T> {
    return {
      then(onFulfilled, onRejected) {
        if ("value" in outcome) onFulfilled?.(outcome.value);
        else onRejected?.(outcome.error);
        return this as never;
      },
    };
  }

  test("1,000 waits of a thenable that calls back synchronously leave nothing linked to the scope", trellisTest(async () => {
    const task = currentTaskImpl()!;
    await new CancelScope().run(async (scope) => {
      for (let i = 0; i < 1_000; i++) assert.equal(await wait(syncThenable({ value: i })), i);
      for (let i = 0; i < 1_000; i++) assert.equal(await thrown(() => wait(syncThenable({ error: i }))), i);
      assert.equal(linkedWaits(scope), 0);
      assert.equal(task.parks, 0, "the task counts as running again");
    });
    assert.equal(linkedWaits(task), 0);
    await waitAllTasksBlocked(); // the blocked-task count is balanced: this still returns
  }));

  test("the same outside run(), in a scope of plain async code", async () => {
    await new CancelScope().run(async (scope) => {
      for (let i = 0; i < 1_000; i++) await wait(syncThenable({ value: i }));
      assert.equal(linkedWaits(scope), 0);
    });
  });

  test("a thenable whose then() throws makes wait() reject with that error, and leaves nothing linked", async () => {
    const boom = new Error("then() failed");
    const bad: PromiseLike<number> = {
      then() {
        throw boom;
      },
    };
    await new CancelScope().run(async (scope) => {
      const pending = wait(bad); // never throws synchronously
      assert.equal(await thrown(() => pending), boom);
      assert.equal(linkedWaits(scope), 0);
    });
  });

  test("park(): a register that wakes at once returns the value, unlinked and counted as resumed", trellisTest(async () => {
    const task = currentTaskImpl()!;
    const blocked: string[] = [];
    const value = await park<string>("test park", (parked) => {
      blocked.push(`parks during register: ${task.parks}`);
      wake(parked, "woken in register");
    });
    assert.equal(value, "woken in register");
    assert.deepEqual(blocked, ["parks during register: 1"]);
    assert.equal(task.parks, 0);
    assert.equal(linkedWaits(task), 0);
  }));
});
