import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { run, RuntimeError, Semaphore, withTaskGroup, WouldBlock } from "../../src/index.js";
import { lockLikeContract } from "../contracts/lock-like.js";
import { settle } from "../support/tasks.js";

lockLikeContract("Semaphore(1)", () => new Semaphore(1));

test("initial and max are validated, naming the argument and showing the value", () => {
  assert.throws(() => new Semaphore(-1), { name: "RangeError", message: "new Semaphore(): `initial` must be an integer ≥ 0, got -1 (number)" });
  assert.throws(() => new Semaphore(1.5), { name: "RangeError", message: /`initial` .* got 1\.5 \(number\)/ });
  assert.throws(() => new Semaphore(NaN), { name: "RangeError", message: /`initial`/ });
  assert.throws(() => new Semaphore(Infinity), { name: "RangeError", message: /`initial`/ });
  assert.throws(() => new Semaphore("2" as never), { name: "TypeError", message: /`initial` .* got "2" \(string\)/ });
  assert.throws(() => new Semaphore(1, { max: 0.5 }), { name: "RangeError", message: /`options\.max`/ });
  assert.throws(() => new Semaphore(2, { max: 1 }), { name: "RangeError", message: /`options\.max` must be ≥ `initial` \(2\), got 1/ });
  assert.equal(new Semaphore(0).value, 0);
  assert.equal(new Semaphore(2, { max: 2 }).max, 2);
});

test("tryAcquire() takes a permit or throws WouldBlock; release() gives one back", () => {
  const sem = new Semaphore(1);
  sem.release();
  assert.equal(sem.value, 2);
  sem.tryAcquire();
  sem.tryAcquire();
  assert.equal(sem.value, 0);
  assert.throws(() => sem.tryAcquire(), WouldBlock);
  sem.release();
  assert.equal(sem.value, 1);
});

test("release() above max throws RuntimeError and leaves the value unchanged", () => {
  const sem = new Semaphore(1, { max: 1 });
  assert.throws(() => sem.release(), (err: unknown) => err instanceof RuntimeError && /already at its max \(1\)/.test(err.message));
  assert.equal(sem.value, 1);
  sem.tryAcquire();
  sem.release();
  assert.equal(sem.value, 1);
});

test("a released permit goes straight to the first waiter: the value stays 0", async () => {
  const sem = new Semaphore(0);
  const record: string[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      for (const id of ["a", "b"]) {
        tg.spawn(async () => {
          await sem.acquire();
          record.push(id);
        });
      }
      await settle();
      assert.deepEqual(sem.statistics(), { value: 0, max: undefined, tasksWaiting: 2 });
      sem.release();
      assert.equal(sem.value, 0);
      assert.throws(() => sem.tryAcquire(), WouldBlock);
      sem.release();
      await settle();
      assert.deepEqual(record, ["a", "b"]);
      assert.equal(sem.value, 0);
    }),
  );
});

test("withPermit() releases the permit however fn ends", async () => {
  const sem = new Semaphore(2);
  await run(async () => {
    assert.equal(await sem.withPermit(() => sem.value), 1);
    await assert.rejects(sem.withPermit(() => { throw new Error("boom"); }), /boom/);
    assert.equal(sem.value, 2);
    await assert.rejects(sem.withPermit(null as never), TypeError);
  });
});

test("statistics() is a fresh object and inspect shows the live state", () => {
  const sem = new Semaphore(3, { max: 5 });
  const stats = sem.statistics();
  assert.deepEqual(stats, { value: 3, max: 5, tasksWaiting: 0 });
  assert.notEqual(sem.statistics(), stats);
  sem.tryAcquire();
  assert.equal(inspect(sem), "Semaphore { value: 2, max: 5, tasksWaiting: 0 }");
});
