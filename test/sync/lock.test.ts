import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { BrokenResourceError, Lock, run, RuntimeError, wait, withTaskGroup, WouldBlock } from "../../src/index.js";
import { currentTaskImpl } from "../../src/core/index.js";
import { lockLikeContract } from "../contracts/lock-like.js";
import { assertNoTimersLeft, settle } from "../support/tasks.js";

lockLikeContract("Lock", () => new Lock());

test("releasing a lock held by another task throws a RuntimeError that names the holder", async () => {
  const lock = new Lock();
  await run(() =>
    withTaskGroup(async (tg) => {
      tg.spawn(
        async () => {
          await lock.acquire();
          await settle();
          lock.release();
        },
        { name: "holder" },
      );
      await settle();
      assert.throws(() => lock.release(), (err: unknown) => {
        assert.ok(err instanceof RuntimeError);
        assert.match(err.message, /^Lock\.release\(\): task "main" .* does not hold this lock \(it is held by task "holder"/);
        return true;
      });
    }),
  );
  assert.throws(() => lock.release(), /nobody holds it/);
});

test("re-acquiring a lock in the task that holds it throws instead of deadlocking", async () => {
  const lock = new Lock();
  await run(async () => {
    await lock.acquire();
    await assert.rejects(lock.acquire(), (err: unknown) => err instanceof RuntimeError && /not re-entrant/.test(err.message));
    assert.throws(() => lock.tryAcquire(), RuntimeError);
    assert.equal(lock.locked(), true);
    lock.release();
    assert.equal(lock.locked(), false);
  });
});

test("statistics() reports whether it is locked, the owner's task name and how many wait", async () => {
  const lock = new Lock();
  assert.deepEqual(lock.statistics(), { locked: false, owner: undefined, tasksWaiting: 0 });
  await run(() =>
    withTaskGroup(async (tg) => {
      await lock.acquire();
      tg.spawn(() => lock.withLock(() => undefined), { name: "waiter" });
      await settle();
      const stats = lock.statistics();
      assert.deepEqual(stats, { locked: true, owner: "main", tasksWaiting: 1 });
      assert.notEqual(lock.statistics(), stats, "a fresh object each time");
      assert.match(inspect(lock), /^Lock \{ locked: true, owner: 'main', tasksWaiting: 1 \}$/);
      lock.release();
    }),
  );
  assert.equal(inspect(lock), "Lock { locked: false, owner: undefined, tasksWaiting: 0 }");
});

test("when the owner ends while holding the lock, its waiters and later acquirers get BrokenResourceError", async () => {
  const lock = new Lock();
  const record: string[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      let finish!: () => void;
      const owner = tg.spawn(
        async () => {
          await lock.acquire();
          await wait(new Promise<void>((resolve) => (finish = resolve))); // wait(): blocked, for settle()
        },
        { name: "careless" },
      );
      await settle();
      tg.spawn(async () => {
        try {
          await lock.acquire();
          record.push("acquired");
        } catch (err) {
          record.push(err instanceof BrokenResourceError ? "broken" : `other: ${String(err)}`);
          assert.match((err as Error).message, /task "careless" .* ended while holding this lock/);
        }
      });
      await settle();
      finish(); // the owner returns without releasing
      await owner.result();
      await settle();
      assert.deepEqual(record, ["broken"]);
      await assert.rejects(lock.acquire(), BrokenResourceError);
      assert.throws(() => lock.tryAcquire(), BrokenResourceError);
      assert.match(inspect(lock), /broken: true/);
    }),
  );
});

test("an owner that ends with nobody waiting still breaks the lock for later acquirers", async () => {
  const lock = new Lock();
  await run(async () => {
    await withTaskGroup(async (tg) => {
      tg.spawn(() => lock.acquire(), { name: "forgetful" });
    });
    await assert.rejects(lock.acquire(), /task "forgetful" \(#\d+, which has ended \(done\)\) ended while holding/);
  });
});

test("a lock handed over normally leaves no exit hook behind on the tasks that held it", async () => {
  const lock = new Lock();
  await run(() =>
    withTaskGroup(async (tg) => {
      const me = currentTaskImpl()!;
      await lock.acquire();
      tg.spawn(() => lock.withLock(() => undefined));
      await settle();
      assert.equal(me.exitHooks?.size, 1, "watched while someone waits");
      lock.release();
      assert.equal(me.exitHooks?.size ?? 0, 0);
    }),
  );
});

test("withLock releases the lock when fn throws, and rejects a non-function", async () => {
  const lock = new Lock();
  await run(async () => {
    await assert.rejects(lock.withLock(() => Promise.reject(new Error("boom"))), /boom/);
    assert.equal(lock.locked(), false);
    assert.equal(await lock.withLock(() => 7), 7);
    await assert.rejects(lock.withLock(42 as never), (err: unknown) => err instanceof TypeError && /`fn` must be a function/.test(err.message));
  });
});

test("outside any task, concurrent acquirers queue for the lock instead of failing", async () => {
  const lock = new Lock();
  const record: string[] = [];
  const user = async (id: string) => {
    await lock.acquire();
    record.push(`${id} in`);
    await new Promise<void>((resolve) => setImmediate(resolve));
    record.push(`${id} out`);
    lock.release();
  };
  await Promise.all([user("a"), user("b")]);
  assert.deepEqual(record, ["a in", "a out", "b in", "b out"]);
  assert.equal(lock.statistics().owner, undefined);
  lock.tryAcquire();
  assert.equal(lock.statistics().owner, "(outside any task)");
  assert.throws(() => lock.tryAcquire(), WouldBlock, "outside code cannot be told apart, so it waits");
  lock.release();
  await assertNoTimersLeft();
});
