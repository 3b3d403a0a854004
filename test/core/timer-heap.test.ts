// The run's deadline queue: entries come out in deadline order (ties in insertion order),
// removal is lazy but exact, and a heap full of removed entries is rebuilt without them.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { TimerHeap, type TimerEntry } from "../../src/core/timer-heap.js";

function entry(deadline: number, keepAlive = true): TimerEntry & { id: number } {
  return { id: 0, deadline, seq: 0, queued: false, keepAlive, fire() {} };
}

test("entries come out in deadline order, ties in insertion order", () => {
  const heap = new TimerHeap();
  const entries = [5, 1, 3, 1, 2].map((d, i) => Object.assign(entry(d), { id: i }));
  for (const e of entries) heap.push(e);
  const out: number[] = [];
  for (let e = heap.popExpired(Infinity); e !== undefined; e = heap.popExpired(Infinity)) out.push((e as TimerEntry & { id: number }).id);
  assert.deepEqual(out, [1, 3, 4, 2, 0]);
  assert.equal(heap.size, 0);
});

test("many equal deadlines come out in insertion order, also after moves", () => {
  const heap = new TimerHeap();
  const entries = Array.from({ length: 40 }, (_, i) => Object.assign(entry(i % 3 === 0 ? 7 : 9), { id: i }));
  for (const e of entries) heap.push(e);
  // Moving an entry to a deadline it shares with others puts it after them.
  entries[0]!.deadline = 9;
  heap.update(entries[0]!);
  const out: number[] = [];
  for (let e = heap.popExpired(Infinity); e !== undefined; e = heap.popExpired(Infinity)) out.push((e as TimerEntry & { id: number }).id);
  const sevens = entries.filter((e) => e.id !== 0 && e.id % 3 === 0).map((e) => e.id);
  const nines = entries.filter((e) => e.id % 3 !== 0).map((e) => e.id);
  assert.deepEqual(out, [...sevens, ...nines, 0]);
});

test("a removed entry never fires, and size and keepAliveCount count only live entries", () => {
  const heap = new TimerHeap();
  const a = entry(1);
  const b = entry(2, false);
  const c = entry(3);
  for (const e of [a, b, c]) heap.push(e);
  assert.equal(heap.remove(a), true);
  assert.equal(heap.remove(a), false, "removing twice reports it was not queued");
  assert.equal(heap.size, 2);
  assert.equal(heap.keepAliveCount, 1);
  assert.equal(heap.peek(), b);
  assert.equal(heap.popExpired(10), b);
  assert.equal(heap.popExpired(10), c);
  assert.equal(heap.popExpired(10), undefined);
});

test("cancelling most of a large heap rebuilds it without the dead entries", () => {
  const heap = new TimerHeap();
  const entries = Array.from({ length: 1000 }, (_, i) => entry(1000 - i));
  for (const e of entries) heap.push(e);
  for (const e of entries.slice(0, 990)) heap.remove(e);
  assert.equal(heap.size, 10);
  assert.ok(heap.slots <= 2 * heap.size + 64, `dead entries are dropped in bulk: ${heap.slots} slots for ${heap.size} live entries`);
  const out: number[] = [];
  for (let e = heap.popExpired(Infinity); e !== undefined; e = heap.popExpired(Infinity)) out.push(e.deadline);
  assert.deepEqual(out, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

test("random pushes, removals, moves and pops match a sorted-list model (seeded)", () => {
  const seed = 20261123;
  console.log(`timer-heap property seed: ${seed}`);
  const op = fc.tuple(fc.constantFrom("push", "remove", "move", "repush", "pop"), fc.integer({ min: 0, max: 50 }), fc.nat());
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const heap = new TimerHeap();
      // The model: queued entries with the order in which they last took a slot (a move or a
      // push again takes a new one, so ties then fire after entries already queued).
      const model = new Map<TimerEntry & { id: number }, number>();
      const all: (TimerEntry & { id: number })[] = [];
      let id = 0;
      let order = 0;
      for (const [kind, n, pick] of ops) {
        const some = all.length > 0 ? all[pick % all.length]! : undefined;
        if (kind === "push") {
          const e = Object.assign(entry(n), { id: id++ });
          heap.push(e);
          all.push(e);
          model.set(e, order++);
        } else if (kind === "remove" && some !== undefined) {
          assert.equal(heap.remove(some), model.has(some));
          model.delete(some);
        } else if (kind === "move" && some !== undefined) {
          some.deadline = n;
          heap.update(some);
          if (model.has(some)) model.set(some, order++);
        } else if (kind === "repush" && some !== undefined && !model.has(some)) {
          some.deadline = n;
          heap.push(some);
          model.set(some, order++);
        } else if (kind === "pop") {
          const sorted = [...model].sort(([x, ox], [y, oy]) => x.deadline - y.deadline || ox - oy);
          const first = sorted[0];
          const expected = first !== undefined && first[0].deadline <= n ? first[0] : undefined;
          if (expected !== undefined) model.delete(expected);
          assert.equal(heap.popExpired(n), expected);
        }
        assert.equal(heap.size, model.size);
        assert.equal(heap.keepAliveCount, model.size);
        assert.ok(heap.slots <= 2 * heap.size + 65, `stale slots are dropped: ${heap.slots} for ${heap.size}`);
        for (const e of all) assert.equal(e.queued, model.has(e));
      }
    }),
    { seed, numRuns: 300 },
  );
});

test("clear() leaves every entry unqueued, and the heap usable", () => {
  const heap = new TimerHeap();
  const entries = [3, 1, 2].map((d) => entry(d));
  for (const e of entries) heap.push(e);
  heap.remove(entries[0]!);
  heap.clear();
  assert.equal(heap.size, 0);
  assert.equal(heap.keepAliveCount, 0);
  assert.ok(entries.every((e) => !e.queued));
  heap.push(entries[0]!);
  assert.equal(heap.popExpired(10), entries[0]);
});
