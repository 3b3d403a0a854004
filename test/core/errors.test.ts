// The error classes and Cancelled's contract (API.md §1 "Cancellation" → Cancelled, isCancelled;
// "Errors"), after Trio's test_Cancelled_init. The "signal" source needs a real OS signal and
// is checked in run-process.test.ts. Tests that wait for a task or a deadline run in virtual
// time (trellisTest with autojump).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  BrokenResourceError,
  BusyResourceError,
  CancelScope,
  Cancelled,
  ClosedResourceError,
  EndOfChannel,
  TaskGroupError,
  TimeoutError,
  WouldBlock,
  cancelOnAbort,
  checkpoint,
  currentTime,
  isCancelled,
  sleep,
  sleepForever,
  withCancelScope,
  withTaskGroup,
} from "../../src/index.js";
import { trellisTest, waitAllTasksBlocked } from "../../src/testing/index.js";

async function cancelledFrom(fn: () => unknown): Promise<Cancelled> {
  try {
    await fn();
  } catch (err) {
    assert.ok(isCancelled(err), `expected Cancelled, got ${String(err)}`);
    return err;
  }
  assert.fail("expected Cancelled");
}

describe("Cancelled", () => {
  test("user code cannot construct a Cancelled", () => {
    const Ctor = Cancelled as unknown as new (...args: unknown[]) => unknown;
    assert.throws(() => new Ctor(), TypeError);
    assert.throws(() => new Ctor(Symbol("trellis.internal"), "why", "explicit", "msg"), TypeError);
    assert.throws(() => new Ctor("reason"), (err: unknown) => err instanceof TypeError && /cancel a scope/.test(err.message));
  });

  test("a Cancelled raised by trellis is an Error named Cancelled, and instanceof Cancelled", async () => {
    const err = await withCancelScope(async (scope) => {
      scope.cancel();
      return cancelledFrom(() => checkpoint());
    });
    assert.ok(err instanceof Cancelled);
    assert.ok(err instanceof Error);
    assert.equal(err.name, "Cancelled");
    assert.equal(typeof err.message, "string");
  });

  test("isCancelled is true for trellis cancellations and false for everything else", async () => {
    const err = await withCancelScope(async (scope) => {
      scope.cancel();
      return cancelledFrom(() => sleep(10));
    });
    assert.equal(isCancelled(err), true);
    const impostor = Object.assign(new Error("cancelled"), { name: "Cancelled" });
    for (const other of [impostor, new Error("x"), new DOMException("aborted", "AbortError"), undefined, null, "Cancelled", {}]) {
      assert.equal(isCancelled(other), false, `isCancelled(${String(other)})`);
    }
  });

  test("Cancelled.source is explicit for scope.cancel(), tg.cancel() and task.cancel()", trellisTest(async () => {
    const fromScope = await withCancelScope(async (scope) => {
      scope.cancel("by scope");
      return cancelledFrom(() => checkpoint());
    });
    assert.equal(fromScope?.source, "explicit");
    assert.equal(fromScope?.reason, "by scope");

    let fromGroup: Cancelled | undefined;
    let fromTask: Cancelled | undefined;
    await withTaskGroup(async (tg) => {
      const t = tg.spawn(async () => {
        fromTask = await cancelledFrom(() => sleepForever());
      });
      await waitAllTasksBlocked();
      t.cancel("by task");
    });
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        fromGroup = await cancelledFrom(() => sleepForever());
      });
      await waitAllTasksBlocked();
      tg.cancel("by group");
    });
    assert.equal(fromTask?.source, "explicit");
    assert.equal(fromTask?.reason, "by task");
    assert.equal(fromGroup?.source, "explicit");
    assert.equal(fromGroup?.reason, "by group");
  }, { autojump: true }));

  test("Cancelled.source is deadline when a scope's deadline passed", trellisTest(async () => {
    const err = await withCancelScope(() => cancelledFrom(() => sleepForever()), { deadline: currentTime() + 2 });
    assert.equal(err?.source, "deadline");
    assert.equal(currentTime(), 2);
  }, { autojump: true }));

  test("Cancelled.source is abort for an external AbortSignal, with the signal's reason", async () => {
    const controller = new AbortController();
    const why = new Error("client went away");
    const err = await cancelOnAbort(controller.signal, async () => {
      setImmediate(() => controller.abort(why));
      return cancelledFrom(() => sleepForever());
    });
    assert.equal(err?.source, "abort");
    assert.equal(err?.reason, why);
  });

  test("Cancelled.source is sibling when a sibling task failed, with the failure as reason", trellisTest(async () => {
    const boom = new Error("boom");
    let seen: Cancelled | undefined;
    await assert.rejects(
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          seen = await cancelledFrom(() => sleepForever());
        });
        tg.spawn(async () => {
          await sleep(1);
          throw boom;
        });
      }),
      (err) => err === boom,
    );
    assert.equal(seen?.source, "sibling");
    assert.equal(seen?.reason, boom);
  }, { autojump: true }));

  test("the first reason given wins, also across sources", async () => {
    const scope = new CancelScope({ deadline: currentTime() + 60_000 });
    const err = await scope.run(async () => {
      scope.cancel("explicit first");
      scope.deadline = currentTime() - 1; // the deadline passing afterwards changes nothing
      return cancelledFrom(() => sleep(5));
    });
    assert.equal(scope.reason, "explicit first");
    assert.equal(err?.source, "explicit");
    assert.equal(err?.reason, "explicit first");
    const again = await withCancelScope(async (s) => {
      s.cancel("one");
      s.cancel("two");
      s.deadline = currentTime() - 1;
      return cancelledFrom(() => checkpoint());
    });
    assert.equal(again?.reason, "one");
    assert.equal(again?.source, "explicit");
  });

  test("a Cancelled names the reason in its message", async () => {
    const err = await withCancelScope(async (scope) => {
      scope.cancel("shutting down");
      return cancelledFrom(() => checkpoint());
    });
    assert.match(err?.message ?? "", /shutting down/);
  });
});

describe("error classes", () => {
  test("every exported error class has its own name and is an Error", () => {
    const classes = { TimeoutError, ClosedResourceError, BrokenResourceError, BusyResourceError, EndOfChannel, WouldBlock };
    for (const [name, Ctor] of Object.entries(classes)) {
      const err = new Ctor("x");
      assert.ok(err instanceof Error, name);
      assert.equal(err.name, name);
      assert.equal(isCancelled(err), false);
    }
  });

  test("TaskGroupError is a subclass of AggregateError holding its errors", () => {
    const a = new Error("a");
    const b = new Error("b");
    const err = new TaskGroupError([a, b], "two errors");
    assert.ok(err instanceof AggregateError);
    assert.equal(err.name, "TaskGroupError");
    assert.deepEqual(err.errors, [a, b]);
  });
});
