// openSignalReceiver (API.md §3 "trellis/signals") with real signals sent to this process.
// Signals whose default action would end the test process (SIGHUP, SIGALRM) are only sent
// while a receiver, or the one-shot listener of raise(), is there to take them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import {
  BusyResourceError,
  CancelScope,
  ClosedResourceError,
  isCancelled,
  moveOnAfter,
  run,
  withCancelScope,
  withTaskGroup,
} from "../../src/index.js";
import { waitAllTasksBlocked } from "../../src/testing/index.js";
import { openSignalReceiver, type SignalReceiver } from "../../src/signals/index.js";
import { thrown } from "../support/thrown.js";
import { listenerCounts, raise } from "./support.js";

test("a signal sent to the process is received by name, and every listener is removed afterwards", async () => {
  const before = listenerCounts();
  const got = await run(() =>
    openSignalReceiver(["SIGHUP", "SIGALRM"], async (receiver) => {
      assert.equal(process.listenerCount("SIGHUP"), before.SIGHUP! + 1);
      process.kill(process.pid, "SIGALRM");
      return receiver.receive();
    }),
  );
  assert.equal(got, "SIGALRM");
  assert.deepEqual(listenerCounts(), before);
});

test("it works outside run() too", async () => {
  const before = listenerCounts();
  const got = await openSignalReceiver(["SIGHUP"], async (receiver) => {
    process.kill(process.pid, "SIGHUP");
    for await (const signal of receiver) return signal;
    return undefined;
  });
  assert.equal(got, "SIGHUP");
  assert.deepEqual(listenerCounts(), before);
});

test("a burst is queued in order of arrival; a repeat of a queued signal merges into it", async () => {
  await run(() =>
    openSignalReceiver(["SIGHUP", "SIGALRM", "SIGWINCH"], async (receiver) => {
      for (const s of ["SIGWINCH", "SIGHUP", "SIGWINCH", "SIGALRM", "SIGHUP"] as const) await raise(s);
      assert.deepEqual(receiver.statistics().pending, ["SIGWINCH", "SIGHUP", "SIGALRM"]);
      const got: string[] = [];
      for await (const signal of receiver) {
        got.push(signal);
        if (got.length === 3) break;
      }
      assert.deepEqual(got, ["SIGWINCH", "SIGHUP", "SIGALRM"]);
      // Received, so a new arrival queues again.
      await raise("SIGWINCH");
      assert.equal(await receiver.receive(), "SIGWINCH");
    }),
  );
});

test("breaking out of `for await` leaves the receiver open for another loop", async () => {
  await openSignalReceiver(["SIGWINCH", "SIGURG"], async (receiver) => {
    await raise("SIGWINCH");
    for await (const s of receiver) {
      assert.equal(s, "SIGWINCH");
      break;
    }
    await raise("SIGURG");
    for await (const s of receiver) {
      assert.equal(s, "SIGURG");
      break;
    }
    assert.equal(receiver.statistics().open, true);
  });
});

test("a waiting receive is woken by the signal; the wait is labelled", async () => {
  const blockedOn: string[] = [];
  await run(
    () =>
      openSignalReceiver(["SIGURG", "SIGWINCH"], async (receiver) => {
        await withTaskGroup(async (tg) => {
          tg.spawn(async () => assert.equal(await receiver.receive(), "SIGURG"));
          await waitAllTasksBlocked();
          assert.equal(receiver.statistics().tasksWaiting, 1);
          process.kill(process.pid, "SIGURG");
        });
      }),
    { instruments: [{ taskBlocked: (_t, label) => blockedOn.push(label) }] },
  );
  assert.ok(blockedOn.includes("receive on signal receiver (SIGURG, SIGWINCH)"), blockedOn.join("\n"));
});

test("a cancelled receive takes nothing: the signal that arrives later is there for the next receive", async () => {
  await run(() =>
    openSignalReceiver(["SIGWINCH"], async (receiver) => {
      const scope = new CancelScope();
      await withTaskGroup(async (tg) => {
        tg.spawn(() => scope.run(() => receiver.receive()));
        await waitAllTasksBlocked();
        scope.cancel();
      });
      assert.equal(scope.cancelledCaught, true);
      await raise("SIGWINCH");
      assert.deepEqual(receiver.statistics().pending, ["SIGWINCH"]);
      // A receive in a cancelled scope raises Cancelled even though a signal is queued, and leaves it.
      await withCancelScope(async (s) => {
        s.cancel();
        const err = await thrown(() => receiver.receive());
        assert.ok(isCancelled(err));
      });
      assert.deepEqual(receiver.statistics().pending, ["SIGWINCH"]);
      assert.equal(await receiver.receive(), "SIGWINCH");
    }),
  );
});

test("two receives at once: the second throws BusyResourceError", async () => {
  await run(() =>
    openSignalReceiver(["SIGURG"], async (receiver) => {
      await withTaskGroup(async (tg) => {
        tg.spawn(() => receiver.receive());
        await waitAllTasksBlocked();
        const err = await thrown(() => receiver.receive());
        assert.ok(err instanceof BusyResourceError, String(err));
        assert.match((err as Error).message, /another task is already receiving/);
        process.kill(process.pid, "SIGURG");
      });
    }),
  );
});

test("after the body returns the receiver is closed, and a task still waiting on it gets ClosedResourceError", async () => {
  let kept: SignalReceiver | undefined;
  await run(() =>
    withTaskGroup(async (tg) => {
      await openSignalReceiver(["SIGURG"], async (receiver) => {
        kept = receiver;
        tg.spawn(async () => {
          const err = await thrown(() => receiver.receive());
          assert.ok(err instanceof ClosedResourceError, String(err));
        });
        await waitAllTasksBlocked();
      });
    }),
  );
  assert.equal(kept!.statistics().open, false);
  const err = await thrown(() => kept!.receive());
  assert.ok(err instanceof ClosedResourceError);
  assert.match((err as Error).message, /has returned/);
  assert.match(inspect(kept), /SignalReceiver \{.*open: false/s);
});

test("nested receivers: the innermost gets the signal; queued ones are raised again for the outer when it closes", async () => {
  const before = listenerCounts();
  await run(() =>
    openSignalReceiver(["SIGHUP", "SIGALRM"], async (outer) => {
      await openSignalReceiver(["SIGHUP"], async (inner) => {
        await raise("SIGHUP");
        await raise("SIGALRM");
        assert.deepEqual(inner.statistics().pending, ["SIGHUP"]);
        assert.deepEqual(outer.statistics().pending, ["SIGALRM"]);
        assert.equal(await inner.receive(), "SIGHUP");
        await raise("SIGHUP");
        assert.deepEqual(inner.statistics().pending, ["SIGHUP"]);
      });
      // The SIGHUP left in the inner receiver was raised again on exit and reached the outer.
      await moveOnAfter(5_000, async () => {
        while (!outer.statistics().pending.includes("SIGHUP")) await new Promise((r) => setTimeout(r, 1));
      });
      assert.deepEqual(outer.statistics().pending, ["SIGALRM", "SIGHUP"]);
      assert.equal(await outer.receive(), "SIGALRM");
      assert.equal(await outer.receive(), "SIGHUP");
    }),
  );
  assert.deepEqual(listenerCounts(), before);
});

test("a body's error or cancellation still removes every listener", async () => {
  const before = listenerCounts();
  const boom = new Error("boom");
  const err = await thrown(() => run(() => openSignalReceiver(["SIGHUP", "SIGINT", "SIGTERM"], () => { throw boom; })));
  assert.equal(err, boom);
  await run(() => moveOnAfter(1, () => openSignalReceiver(["SIGHUP"], (r) => r.receive())));
  assert.deepEqual(listenerCounts(), before);
});

test("entry is a checkpoint: in a cancelled scope nothing is installed", async () => {
  const before = listenerCounts();
  let ran = false;
  await withCancelScope(async (scope) => {
    scope.cancel();
    const err = await thrown(() => openSignalReceiver(["SIGHUP"], () => { ran = true; }));
    assert.ok(isCancelled(err));
  });
  assert.equal(ran, false);
  assert.deepEqual(listenerCounts(), before);
});

test("bad signals are rejected (not thrown synchronously) with a TypeError naming them", async () => {
  const cases: [unknown, RegExp][] = [
    [["SIGKILL"], /SIGKILL cannot be caught/],
    [["SIGHUP", "SIGSTOP"], /SIGSTOP cannot be caught/],
    [["SIGNOPE"], /"SIGNOPE" \(string\) is not a signal name/],
    [[9], /9 \(number\) is not a signal name/],
    [[], /`signals` is empty/],
    ["SIGHUP", /`signals` must be an array of signal names/],
    [undefined, /`signals` must be an array/],
  ];
  for (const [signals, message] of cases) {
    let promise: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      promise = openSignalReceiver(signals as never, () => {});
    });
    const err = await thrown(() => promise);
    assert.ok(err instanceof TypeError, `${String(signals)}: ${String(err)}`);
    assert.match((err as Error).message, message);
    assert.match((err as Error).message, /^openSignalReceiver\(\): /);
  }
  const err = await thrown(() => openSignalReceiver(["SIGHUP"], "nope" as never));
  assert.ok(err instanceof TypeError);
  assert.match((err as Error).message, /`fn` must be a function/);
});

test("run() closes a receiver left open by a call nobody awaited, and removes its listener", async () => {
  const before = listenerCounts();
  let floating: Promise<unknown> | undefined;
  await run(async () => {
    floating = openSignalReceiver(["SIGHUP"], (receiver) => receiver.receive());
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(process.listenerCount("SIGHUP"), before.SIGHUP! + 1);
  });
  assert.deepEqual(listenerCounts(), before);
  const err = await thrown(() => floating);
  assert.ok(err instanceof ClosedResourceError, String(err));
});
