// The run's deadline queue: entries come out in deadline order (ties in insertion order),
// removal is lazy but exact, and a heap full of removed entries is rebuilt without them.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { TimerHeap, type TimerEntry } from "../../src/core/timer-heap.js";

function entry(deadline: number, keepAlive = true): TimerEntry & { id: number } {
  return { id: 0, deadline, seq: 0, index: -1, dead: false, keepAlive, fire() {} };
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
  assert.ok(entries.slice(0, 990).filter((e) => e.index === -1).length > 900, "most removed entries left the heap");
  const out: number[] = [];
  for (let e = heap.popExpired(Infinity); e !== undefined; e = heap.popExpired(Infinity)) out.push(e.deadline);
  assert.deepEqual(out, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

test("random pushes, removals and pops match a sorted-list model (seeded)", () => {
  const seed = 20261123;
  console.log(`timer-heap property seed: ${seed}`);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom("push", "remove", "pop"), fc.integer({ min: 0, max: 50 })), { maxLength: 300 }), (ops) => {
      const heap = new TimerHeap();
      let model: (TimerEntry & { id: number })[] = [];
      const all: (TimerEntry & { id: number })[] = [];
      let id = 0;
      for (const [op, n] of ops) {
        if (op === "push") {
          const e = Object.assign(entry(n), { id: id++ });
          heap.push(e);
          all.push(e);
          model.push(e);
        } else if (op === "remove" && all.length > 0) {
          const e = all[n % all.length]!;
          const queued = model.includes(e);
          assert.equal(heap.remove(e), queued);
          model = model.filter((m) => m !== e);
        } else if (op === "pop") {
          model.sort((x, y) => x.deadline - y.deadline || x.id - y.id);
          const expected = model[0] !== undefined && model[0].deadline <= n ? model.shift() : undefined;
          assert.equal(heap.popExpired(n), expected);
        }
        assert.equal(heap.size, model.length);
      }
    }),
    { seed, numRuns: 300 },
  );
});
