// The run's deadline queue (a calendar queue: one bucket per millisecond, intrusive lists):
// entries come out in deadline order (ties in insertion order) whatever bucket they share,
// removal unlinks at once, and buckets emptied by removals are dropped in bulk.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { TimerQueue, type TimerEntry, type TimerLink } from "../../src/core/timer-queue.js";

type Entry = TimerEntry & { id: number };

function entry(deadline: number, keepAlive = true): Entry {
  const e: Entry = { id: 0, deadline, keepAlive, fire() {}, nextTimer: undefined, prevTimer: undefined };
  return e;
}

function drain(queue: TimerQueue, now = Infinity): number[] {
  const out: number[] = [];
  for (let e = queue.popExpired(now); e !== undefined; e = queue.popExpired(now)) out.push((e as Entry).id);
  return out;
}

test("entries come out in deadline order, ties in insertion order", () => {
  const queue = new TimerQueue();
  const entries = [5, 1, 3, 1, 2].map((d, i) => Object.assign(entry(d), { id: i }));
  for (const e of entries) queue.push(e);
  assert.deepEqual(drain(queue), [1, 3, 4, 2, 0]);
  assert.equal(queue.size, 0);
});

test("deadlines within one millisecond come out in deadline order, ties in insertion order", () => {
  const queue = new TimerQueue();
  const deadlines = [7.9, 7.1, 7.5, 7.1, 7.0, 7.99, 7.5, 6.999, 8];
  const entries = deadlines.map((d, i) => Object.assign(entry(d), { id: i }));
  for (const e of entries) queue.push(e);
  assert.deepEqual(drain(queue), [7, 4, 1, 3, 2, 6, 0, 5, 8]);
});

test("an entry never comes out before its deadline, even within its bucket", () => {
  const queue = new TimerQueue();
  const a = Object.assign(entry(3.75), { id: 1 });
  const b = Object.assign(entry(3.25), { id: 2 });
  queue.push(a);
  queue.push(b);
  assert.equal(queue.popExpired(3), undefined);
  assert.equal(queue.popExpired(3.2), undefined);
  assert.equal(queue.popExpired(3.5), b);
  assert.equal(queue.popExpired(3.74), undefined);
  assert.equal(queue.popExpired(3.75), a);
});

test("many equal deadlines come out in insertion order, also after moves", () => {
  const queue = new TimerQueue();
  const entries = Array.from({ length: 40 }, (_, i) => Object.assign(entry(i % 3 === 0 ? 7 : 9), { id: i }));
  for (const e of entries) queue.push(e);
  // Moving an entry to a deadline it shares with others puts it after them.
  entries[0]!.deadline = 9;
  queue.update(entries[0]!);
  const sevens = entries.filter((e) => e.id !== 0 && e.id % 3 === 0).map((e) => e.id);
  const nines = entries.filter((e) => e.id % 3 !== 0).map((e) => e.id);
  assert.deepEqual(drain(queue), [...sevens, ...nines, 0]);
});

test("a removed entry never fires, and size and keepAliveCount count only live entries", () => {
  const queue = new TimerQueue();
  const a = entry(1);
  const b = entry(2, false);
  const c = entry(3);
  for (const e of [a, b, c]) queue.push(e);
  assert.equal(queue.remove(a), true);
  assert.equal(queue.remove(a), false, "removing twice reports it was not queued");
  assert.equal(a.nextTimer, undefined, "a removed entry keeps no link into the queue");
  assert.equal(queue.size, 2);
  assert.equal(queue.keepAliveCount, 1);
  assert.equal(queue.peek(), b);
  assert.equal(queue.popExpired(10), b);
  assert.equal(queue.popExpired(10), c);
  assert.equal(queue.popExpired(10), undefined);
});

test("cancelling most of a large queue drops the emptied buckets in bulk", () => {
  const queue = new TimerQueue();
  const entries = Array.from({ length: 1000 }, (_, i) => entry(1000 - i));
  for (const e of entries) queue.push(e);
  for (const e of entries.slice(0, 990)) queue.remove(e);
  assert.equal(queue.size, 10);
  assert.ok(queue.buckets <= 2 * queue.size + 64, `empty buckets are dropped in bulk: ${queue.buckets} for ${queue.size} entries`);
  const out: number[] = [];
  for (let e = queue.popExpired(Infinity); e !== undefined; e = queue.popExpired(Infinity)) out.push(e.deadline);
  assert.deepEqual(out, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(queue.buckets, 0);
});

test("far-future, infinite, negative and huge deadlines keep their order", () => {
  const queue = new TimerQueue();
  const deadlines = [Infinity, 3_600_000, -5.5, 1e300, -Infinity, 0.5, 3_600_000.25, Infinity, -0];
  const entries = deadlines.map((d, i) => Object.assign(entry(d), { id: i }));
  for (const e of entries) queue.push(e);
  assert.deepEqual(drain(queue, 1e308), [4, 2, 8, 5, 1, 6, 3]);
  assert.equal(queue.size, 2, "no finite time reaches Infinity");
  assert.deepEqual(drain(queue, Infinity), [0, 7]);
});

// The model: queued entries with the order in which they last took their place (a move or a
// push again takes a new one, so ties then fire after entries already queued).
test("random pushes, removals, moves and pops match a sorted-list model (seeded)", () => {
  const seed = 20261206;
  console.log(`timer-queue property seed: ${seed}`);
  // Deadlines crowd into few milliseconds (several per bucket, out of order), with a few far,
  // negative and infinite ones: the bucket order's precondition (Math.floor is monotone) and
  // the sort inside a bucket are both exercised.
  const deadline = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 40 }).map((n) => n / 8) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 50 }) },
    { weight: 1, arbitrary: fc.constantFrom(-3.5, -0, 1e9 + 0.5, 3_600_000, Infinity) },
  );
  const op = fc.tuple(fc.constantFrom("push", "remove", "move", "repush", "pop", "peek"), deadline, fc.nat(), fc.boolean());
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 300, size: "max" }), (ops) => {
      const queue = new TimerQueue();
      const model = new Map<Entry, number>();
      const all: Entry[] = [];
      let id = 0;
      let order = 0;
      const sorted = () => [...model].sort(([x, ox], [y, oy]) => (x.deadline < y.deadline ? -1 : x.deadline > y.deadline ? 1 : ox - oy));
      for (const [kind, d, pick, keepAlive] of ops) {
        const some = all.length > 0 ? all[pick % all.length]! : undefined;
        if (kind === "push") {
          const e = Object.assign(entry(d, keepAlive), { id: id++ });
          queue.push(e);
          all.push(e);
          model.set(e, order++);
        } else if (kind === "remove" && some !== undefined) {
          assert.equal(queue.remove(some), model.has(some));
          model.delete(some);
        } else if (kind === "move" && some !== undefined) {
          some.deadline = d;
          queue.update(some);
          if (model.has(some)) model.set(some, order++);
        } else if (kind === "repush" && some !== undefined) {
          // Pushing a queued entry moves it; pushing an unqueued one queues it again.
          some.deadline = d;
          queue.push(some);
          model.set(some, order++);
        } else if (kind === "pop") {
          const first = sorted()[0];
          const expected = first !== undefined && first[0].deadline <= d ? first[0] : undefined;
          if (expected !== undefined) model.delete(expected);
          assert.equal(queue.popExpired(d), expected);
        } else if (kind === "peek") {
          assert.equal(queue.peek(), sorted()[0]?.[0]);
        }
        assert.equal(queue.size, model.size);
        assert.equal(queue.keepAliveCount, [...model.keys()].filter((e) => e.keepAlive).length);
        assert.ok(queue.buckets <= 2 * queue.size + 65, `empty buckets are dropped: ${queue.buckets} for ${queue.size}`);
        for (const e of all) assert.equal(queue.has(e), model.has(e));
      }
      // What is left comes out in model order, then the queue is empty and holds nothing.
      const rest = sorted().map(([e]) => e);
      const out: TimerEntry[] = [];
      for (let e = queue.popExpired(Infinity); e !== undefined; e = queue.popExpired(Infinity)) out.push(e);
      assert.deepEqual(out, rest);
      assert.equal(queue.size, 0);
      assert.equal(queue.buckets, 0, "popping the last entries drops their buckets");
      queue.clear();
      assert.equal(queue.size, 0);
      assert.equal(queue.buckets, 0);
      for (const e of all) assert.equal((e as TimerLink).nextTimer, undefined);
    }),
    { seed, numRuns: 300 },
  );
});

test("clear() leaves every entry unqueued, and the queue usable", () => {
  const queue = new TimerQueue();
  const entries = [3, 1, 2].map((d) => entry(d));
  for (const e of entries) queue.push(e);
  queue.remove(entries[0]!);
  queue.clear();
  assert.equal(queue.size, 0);
  assert.equal(queue.keepAliveCount, 0);
  assert.ok(entries.every((e) => !queue.has(e)));
  queue.push(entries[0]!);
  assert.equal(queue.popExpired(10), entries[0]);
});
