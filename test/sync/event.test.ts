import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { CancelScope, Event, isCancelled, run, withTaskGroup } from "../../src/index.js";
import { assertNoTimersLeft, settle } from "../support/tasks.js";

test("wait() blocks until set() and then every waiter resumes", async () => {
  const event = new Event();
  const record: string[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      for (const id of ["a", "b"]) {
        tg.spawn(async () => {
          record.push(`${id} waiting`);
          await event.wait();
          record.push(`${id} woken`);
        });
      }
      await settle();
      assert.deepEqual(record, ["a waiting", "b waiting"]);
      assert.equal(event.statistics().tasksWaiting, 2);
      assert.equal(event.isSet(), false);
      event.set();
      assert.equal(event.isSet(), true);
      assert.equal(event.statistics().tasksWaiting, 0);
      await settle();
      assert.deepEqual(record, ["a waiting", "b waiting", "a woken", "b woken"]);
    }),
  );
  await assertNoTimersLeft();
});

test("wait() on an event already set returns at once but is still a checkpoint", async () => {
  const event = new Event();
  event.set();
  await run(async () => {
    await event.wait();
    const scope = new CancelScope();
    scope.cancel();
    await scope.run(() => assert.rejects(event.wait(), isCancelled));
  });
});

test("a cancelled wait leaves the queue and a later set() is not affected", async () => {
  const event = new Event();
  await run(() =>
    withTaskGroup(async (tg) => {
      const scope = new CancelScope();
      tg.spawn(() => scope.run(() => event.wait()));
      await settle();
      assert.equal(event.statistics().tasksWaiting, 1);
      scope.cancel();
      assert.equal(event.statistics().tasksWaiting, 0);
      await settle();
      assert.equal(scope.cancelledCaught, true);
      event.set();
    }),
  );
});

test("a wait ended by set() before a same-tick cancellation returns normally", async () => {
  const event = new Event();
  const record: string[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      const scope = new CancelScope();
      tg.spawn(async () => {
        await scope.run(async () => {
          await event.wait();
          record.push("woken");
        });
      });
      await settle();
      event.set();
      scope.cancel();
      await settle();
      assert.deepEqual(record, ["woken"]);
      assert.equal(scope.cancelledCaught, false);
    }),
  );
});

test("an event cannot be cleared, and set() is idempotent", () => {
  const event = new Event();
  event.set();
  event.set();
  assert.equal(event.isSet(), true);
  assert.equal("clear" in event, false);
});

test("statistics() is a fresh plain object and inspect shows the live state", () => {
  const event = new Event();
  const stats = event.statistics();
  assert.deepEqual(stats, { tasksWaiting: 0 });
  assert.notEqual(event.statistics(), stats);
  assert.equal(inspect(event), "Event { set: false, tasksWaiting: 0 }");
  event.set();
  assert.equal(inspect(event), "Event { set: true, tasksWaiting: 0 }");
});

test("outside any task, wait() resolves once the event is set", async () => {
  const event = new Event();
  const waiting = event.wait();
  setImmediate(() => event.set());
  await waiting;
  assert.equal(event.isSet(), true);
});
