import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { CancelScope, Condition, Lock, run, RuntimeError, withTaskGroup } from "../../src/index.js";
import { lockLikeContract } from "../contracts/lock-like.js";
import { assertNoTimersLeft, settle } from "../support/tasks.js";

lockLikeContract("Condition's lock", () => new Condition());

test("wait(), notify() and notifyAll() without holding the lock throw RuntimeError", async () => {
  const cond = new Condition();
  await run(async () => {
    await assert.rejects(cond.wait(), (err: unknown) => err instanceof RuntimeError && /does not hold the condition's lock \(nobody holds it\)/.test(err.message));
    assert.throws(() => cond.notify(), RuntimeError);
    assert.throws(() => cond.notifyAll(), RuntimeError);
    assert.equal(cond.locked(), false);
  });
});

test("notify() wakes waiters one at a time in the order they waited; notifyAll() wakes the rest", async () => {
  const cond = new Condition();
  const woken: number[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      for (const id of [0, 1, 2]) {
        tg.spawn(async () => {
          await cond.withLock(() => cond.wait());
          woken.push(id);
        });
      }
      await settle();
      assert.equal(cond.statistics().tasksWaiting, 3);
      await cond.withLock(() => cond.notify());
      await settle();
      assert.deepEqual(woken, [0]);
      await cond.withLock(() => cond.notifyAll());
      await settle();
      assert.deepEqual(woken, [0, 1, 2]);
    }),
  );
  await assertNoTimersLeft();
});

test("notified waiters queue for the lock and resume only once it is handed to them", async () => {
  const cond = new Condition();
  await run(() =>
    withTaskGroup(async (tg) => {
      for (let i = 0; i < 3; i++) tg.spawn(() => cond.withLock(() => cond.wait()));
      await settle();
      await cond.acquire();
      cond.notify(2);
      assert.deepEqual(cond.statistics(), {
        tasksWaiting: 1,
        lockStatistics: { locked: true, owner: "main", tasksWaiting: 2 },
      });
      cond.release();
      assert.equal(cond.statistics().lockStatistics.tasksWaiting, 1, "the lock went to the first notified waiter");
      await settle();
      await cond.withLock(() => cond.notifyAll());
    }),
  );
});

test("a cancelled wait() holds the lock again before it raises Cancelled", async () => {
  const cond = new Condition();
  const record: string[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      const scope = new CancelScope();
      tg.spawn(
        async () => {
          await cond.acquire();
          try {
            await scope.run(() => cond.wait());
          } finally {
            record.push(`after wait: owner ${cond.statistics().lockStatistics.owner}`);
            cond.release();
          }
        },
        { name: "waiter" },
      );
      await settle();
      await cond.acquire();
      scope.cancel();
      await settle();
      assert.deepEqual(record, [], "Cancelled waits for the lock, which main holds");
      cond.release();
      await settle();
      assert.deepEqual(record, ["after wait: owner waiter"]);
      assert.equal(scope.cancelledCaught, true);
    }),
  );
});

test("wait() in an already cancelled scope releases and re-acquires the lock, then raises", async () => {
  const cond = new Condition();
  await run(async () => {
    const scope = new CancelScope();
    await scope.run(async () => {
      await cond.acquire();
      scope.cancel();
      try {
        await cond.wait();
      } finally {
        assert.equal(cond.locked(), true);
        cond.release();
      }
    });
    assert.equal(scope.cancelledCaught, true);
  });
});

test("a notification given to a waiter that is then cancelled passes to the next waiter", async () => {
  const cond = new Condition();
  const record: string[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      const scopeA = new CancelScope();
      tg.spawn(async () => {
        await cond.withLock(async () => {
          await scopeA.run(() => cond.wait());
          record.push(scopeA.cancelledCaught ? "A cancelled" : "A notified");
        });
      });
      tg.spawn(async () => {
        await cond.withLock(() => cond.wait());
        record.push("B notified");
      });
      await settle();
      await cond.acquire();
      cond.notify(); // goes to A ...
      scopeA.cancel(); // ... who leaves: the notification moves on to B
      assert.deepEqual(cond.statistics(), {
        tasksWaiting: 0,
        lockStatistics: { locked: true, owner: "main", tasksWaiting: 1 },
      });
      cond.release();
      await settle();
      assert.deepEqual(record, ["B notified", "A cancelled"]);
    }),
  );
});

test("Condition(lock) uses the given Lock and rejects anything else", async () => {
  const lock = new Lock();
  const cond = new Condition(lock);
  assert.equal(cond.lock, lock);
  await run(async () => {
    await lock.acquire();
    assert.equal(cond.locked(), true);
    cond.notify(); // holding the shared lock is holding the condition's lock
    cond.release();
    assert.equal(lock.locked(), false);
  });
  assert.throws(() => new Condition({} as never), { name: "TypeError", message: /`lock` must be a trellis Lock/ });
});

test("notify(n) validates n", async () => {
  const cond = new Condition();
  await run(() =>
    cond.withLock(() => {
      assert.throws(() => cond.notify(-1), { name: "RangeError", message: "Condition.notify(): `n` must be an integer ≥ 0 or Infinity, got -1 (number)" });
      assert.throws(() => cond.notify(0.5), RangeError);
      cond.notify(0);
      cond.notify(Infinity);
    }),
  );
});

test("statistics() is a fresh object and inspect shows the live state", () => {
  const cond = new Condition();
  const stats = cond.statistics();
  assert.deepEqual(stats, { tasksWaiting: 0, lockStatistics: { locked: false, owner: undefined, tasksWaiting: 0 } });
  assert.notEqual(cond.statistics(), stats);
  assert.match(inspect(cond), /^Condition \{\s+tasksWaiting: 0,\s+lockStatistics: \{ locked: false, owner: undefined, tasksWaiting: 0 \}\s+\}$/);
});
