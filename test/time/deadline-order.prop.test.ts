// Sleeps and scope deadlines against a sorted-list model (seeded): random programs interleave
// sleeps, deadline scopes, cancellations, deadline moves (`scope.deadline = …`) and clock jumps
// of any size, and check that everything that fires does so in deadline order, ties in the
// order the deadlines were set (a moved deadline goes after those already waiting), never
// before its deadline, never twice, that nothing due is lost, and that the run's deadline
// queue is empty and no real timer is left at the end. The queue is a calendar queue with
// millisecond buckets (src/core/timer-queue.ts): deadlines crowd into few milliseconds, out
// of order, so that the bucket order and the sort inside a bucket are both exercised.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CancelScope,
  currentTime,
  run,
  sleep,
  sleepForever,
  sleepUntil,
  withCancelScope,
  withTaskGroup,
} from "../../src/index.js";
import { currentScope, Runtime, type TimerEntry } from "../../src/core/index.js";
import { MockClock, waitAllTasksBlocked } from "../../src/testing/index.js";
import { mulberry32 } from "../support/prng.js";
import { assertNoTimersLeft } from "../support/tasks.js";

interface Pending {
  id: number;
  kind: "sleep" | "deadline";
  deadline: number;
  /** When the deadline was last set: ties fire in this order. */
  order: number;
  scope: CancelScope;
}

function byDeadlineThenOrder(a: Pending, b: Pending): number {
  return a.deadline < b.deadline ? -1 : a.deadline > b.deadline ? 1 : a.order - b.order;
}

/** One random program on a MockClock that only jumps when told. */
async function runProgram(seed: number, steps: number): Promise<void> {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const clock = new MockClock();
  const fired: number[] = [];
  const early: string[] = [];
  const model: Pending[] = [];
  let nextId = 0;
  let order = 0;

  /** A deadline near now: crowded into few milliseconds, fractional, equal to another, far or past. */
  function someDeadline(now: number): number {
    const r = random();
    if (r < 0.35) return now + Math.floor(random() * 24) / 8; // several per millisecond
    if (r < 0.55) return now + Math.floor(random() * 12);
    if (r < 0.7 && model.length > 0) return pick(model).deadline; // a tie
    if (r < 0.8) return now + 3_600_000 + random(); // far future
    if (r < 0.9) return now - random() * 3; // already past
    return now + random() * 0.999; // within the current millisecond
  }

  await run(
    () =>
      withTaskGroup(async (tg) => {
        const runtime = currentScope()!.runtime;
        /** A wake-up; `deadline` when it must not come before a deadline (not for a cancel). */
        const record = (id: number, deadline: number) => {
          if (currentTime() < deadline) early.push(`#${id} woke at ${currentTime()}, before its deadline ${deadline}`);
          fired.push(id);
        };
        for (let step = 0; step < steps; step++) {
          const now = currentTime();
          const r = random();
          const expectedNow: number[] = [];
          if (r < 0.3) {
            // A sleep in its own scope (kept, to cancel it).
            const id = nextId++;
            const deadline = someDeadline(now);
            let scope!: CancelScope;
            tg.spawn(() =>
              withCancelScope(async (s) => {
                scope = s;
                await sleepUntil(deadline);
                record(id, deadline);
              }),
            );
            await waitAllTasksBlocked();
            if (deadline <= now) expectedNow.push(id); // a past deadline is a checkpoint
            else model.push({ id, kind: "sleep", deadline, order: order++, scope });
          } else if (r < 0.5) {
            // A scope with a deadline around a wait that only the deadline ends.
            const id = nextId++;
            const deadline = someDeadline(now);
            let scope!: CancelScope;
            tg.spawn(() =>
              withCancelScope(
                async (s) => {
                  scope = s;
                  try {
                    await sleepForever();
                  } finally {
                    // Ended by its deadline (then not before it), or by an explicit cancel.
                    record(id, s.cancelledCaught && currentTime() >= s.deadline ? s.deadline : -Infinity);
                  }
                },
                { deadline },
              ),
            );
            await waitAllTasksBlocked();
            if (deadline <= now) expectedNow.push(id);
            else model.push({ id, kind: "deadline", deadline, order: order++, scope });
          } else if (r < 0.6 && model.length > 0) {
            // Cancel one: it must never fire (a sleep's scope absorbs it; a deadline scope's
            // wait is recorded as cancelled, so it leaves the model as "fired now").
            const victim = pick(model);
            model.splice(model.indexOf(victim), 1);
            victim.scope.cancel();
            if (victim.kind === "deadline") expectedNow.push(victim.id);
            await waitAllTasksBlocked();
          } else if (r < 0.75 && model.some((p) => p.kind === "deadline")) {
            // Move a scope's deadline: it is re-filed after those already waiting for the new one.
            const moved = pick(model.filter((p) => p.kind === "deadline"));
            const deadline = random() < 0.1 ? Infinity : someDeadline(now);
            moved.scope.deadline = deadline;
            if (deadline <= now) {
              model.splice(model.indexOf(moved), 1);
              expectedNow.push(moved.id);
            } else {
              moved.deadline = deadline;
              moved.order = order++;
            }
            await waitAllTasksBlocked();
          } else {
            // Jump: by nothing, to a pending deadline exactly, by a fraction, or far.
            const due = model.filter((p) => p.deadline !== Infinity);
            const k = random();
            const jump =
              k < 0.1 ? 0 : k < 0.4 && due.length > 0 ? Math.max(0, pick(due).deadline - now) : k < 0.8 ? random() * 6 : k < 0.9 ? 1 : 4_000_000;
            clock.jump(jump);
            const after = currentTime();
            const expired = model.filter((p) => p.deadline <= after).sort(byDeadlineThenOrder);
            for (const p of expired) model.splice(model.indexOf(p), 1);
            expectedNow.push(...expired.map((p) => p.id));
            await waitAllTasksBlocked();
          }
          const got = fired.splice(0);
          assert.deepEqual(got, expectedNow, `seed ${seed}, step ${step}: fired in the wrong order, twice, or not at all`);
        }
        // The end: cancel what is left (deadline scopes record their cancel, in cancel order);
        // then the queue is empty and holds no bucket.
        const left = model.splice(0);
        for (const p of left) p.scope.cancel();
        await waitAllTasksBlocked();
        assert.deepEqual(fired.splice(0), left.filter((p) => p.kind === "deadline").map((p) => p.id));
        assert.equal(runtime.nextDeadline(), Infinity);
        assert.equal(runtime.timers.size, 0);
        assert.equal(runtime.timers.buckets, 0, "empty buckets are dropped once nothing is queued");
      }),
    { clock },
  );
  assert.deepEqual(early, [], `seed ${seed}`);
  await assertNoTimersLeft();
}

test("sleeps, deadlines, cancels, moves and jumps fire in deadline order, FIFO on ties (seeded, MockClock)", async () => {
  for (const seed of [1, 2, 3, 20261206, 987654321]) {
    console.log(`deadline-order seed: ${seed}`);
    await runProgram(seed, 150);
  }
});

test("nothing fires before its deadline, and the run's queue is empty at the end (seeded, MockClock)", async () => {
  const random = mulberry32(424242);
  const clock = new MockClock();
  const early: string[] = [];
  let queueSize = -1;
  let buckets = -1;
  await run(
    () =>
      withTaskGroup(async (tg) => {
        const runtime = currentScope()!.runtime;
        for (let i = 0; i < 300; i++) {
          const deadline = currentTime() + Math.floor(random() * 40) / 16;
          tg.spawn(async () => {
            await sleepUntil(deadline);
            if (currentTime() < deadline) early.push(`sleepUntil(${deadline}) woke at ${currentTime()}`);
          });
          if (random() < 0.2) {
            await waitAllTasksBlocked();
            clock.jump(random() * 0.7);
          }
        }
        await waitAllTasksBlocked();
        while (runtime.nextDeadline() !== Infinity) {
          clock.jump(random() * 0.3);
          await waitAllTasksBlocked();
        }
        queueSize = runtime.timers.size;
        buckets = runtime.timers.buckets;
      }),
    { clock },
  );
  assert.deepEqual(early, []);
  assert.equal(queueSize, 0);
  assert.equal(buckets, 0, "the buckets of fired deadlines are dropped");
  await assertNoTimersLeft();
});

// Many deadlines in one millisecond, set in random and in decreasing order on a stopped clock:
// the wake order is the deadline order.
test("five thousand sleeps within one millisecond wake in deadline order (seeded, MockClock)", async () => {
  const random = mulberry32(777);
  const clock = new MockClock();
  const n = 5_000;
  const deadlines = Array.from({ length: n }, (_, i) => (i < n / 2 ? 5 + random() * 0.999 : 6.999 - i / n));
  const woke: number[] = [];
  await run(
    () =>
      withTaskGroup(async (tg) => {
        for (let i = 0; i < n; i++) {
          tg.spawn(async () => {
            await sleepUntil(deadlines[i]!);
            woke.push(i);
          });
        }
        await waitAllTasksBlocked();
        clock.jump(10);
      }),
    { clock },
  );
  const expected = deadlines.map((d, i) => ({ d, i })).sort((a, b) => a.d - b.d || a.i - b.i).map((e) => e.i);
  assert.deepEqual(woke, expected);
  await assertNoTimersLeft();
});

// The runtime arms for a new earliest deadline without asking the queue, which would sort the
// bucket: on a stopped clock (nothing is ever armed) that is once per deadline, quadratic in a
// crowded millisecond. Fifty thousand deadlines in one: instant, or an hour (the test
// runner's timeout) if each one sorted the bucket.
test("adding deadlines to a crowded millisecond does not sort it each time (core)", () => {
  const random = mulberry32(4242);
  const clock = new MockClock();
  const runtime = new Runtime(clock);
  const fired: number[] = [];
  const entries = Array.from({ length: 50_000 }, (_, i): TimerEntry & { i: number } => ({
    i,
    deadline: 1 + random(),
    keepAlive: true,
    fire: () => fired.push(i),
    nextTimer: undefined,
    prevTimer: undefined,
  }));
  for (const entry of entries) runtime.addTimer(entry);
  clock.jump(2); // a clock that no run() attached: tell the runtime, as run() would have it told
  runtime.timeChanged();
  assert.equal(fired.length, entries.length);
  for (let k = 1; k < fired.length; k++) assert.ok(entries[fired[k - 1]!]!.deadline <= entries[fired[k]!]!.deadline);
  runtime.close();
});

// Real clock on purpose: the one real timer, armed for the earliest bucket's first deadline,
// may fire early or late; the wake order must still be the deadline order. A sleep whose
// deadline had already passed when it was called (a slow machine) is only a checkpoint: each
// sleeper notes whether its sleep was queued, and the order is checked among those.
test("on the real clock, sleeps wake in deadline order and the real timer is cleared at the end (seeded)", async () => {
  const random = mulberry32(31337);
  const woke: { id: number; deadline: number }[] = [];
  await withTaskGroup(async (tg) => {
    const runtime = currentScope()!.runtime;
    const start = currentTime();
    for (let id = 0; id < 200; id++) {
      const deadline = start + 5 + random() * 6;
      tg.spawn(async () => {
        const queued = runtime.timers.size;
        const sleeping = sleepUntil(deadline);
        const parked = runtime.timers.size > queued;
        await sleeping;
        assert.ok(currentTime() >= deadline, "woke before its deadline");
        if (parked) woke.push({ id, deadline });
      });
    }
    // A few cancelled ones must not wake at all.
    for (let i = 0; i < 20; i++) {
      tg.spawn(async () => {
        await withCancelScope(async (scope) => {
          setTimeout(() => scope.cancel(), 0);
          await sleep(60_000);
          woke.push({ id: -1, deadline: -1 });
        });
      });
    }
  });
  // Ties (none expected from random doubles) would keep spawn order, which is id order.
  assert.deepEqual(woke, [...woke].sort((a, b) => a.deadline - b.deadline || a.id - b.id));
  assert.ok(!woke.some((w) => w.id === -1), "a cancelled sleep woke");
  await assertNoTimersLeft();
});

// Real clock on purpose: a deadline moved later leaves the real timer armed for the old time
// (runtime.moveTimer); it fires, finds nothing expired and re-arms. The scope must end at the
// new deadline, not the old one. (If the machine stalls past the old deadline before the move,
// the scope is rightly cancelled already and there is nothing to check: the attempt repeats.)
test("on the real clock, a deadline moved later ends the scope at the new time, not the old", async (t) => {
  for (let attempt = 1; attempt <= 5; attempt++) {
    let start = 0;
    let ended = 0;
    let moved = 0;
    let cancelledBeforeMove = false;
    await withCancelScope(async (scope) => {
      start = currentTime();
      scope.deadline = start + 20;
      await sleep(1);
      cancelledBeforeMove = scope.cancelCalled;
      moved = scope.deadline = currentTime() + 30;
      try {
        await sleepForever();
      } finally {
        ended = currentTime();
      }
    });
    if (cancelledBeforeMove) {
      t.diagnostic(`attempt ${attempt}: the old deadline passed before the move (a slow machine)`);
      continue;
    }
    assert.ok(ended >= moved, `ended at +${(ended - start).toFixed(2)} ms, before the moved deadline +${(moved - start).toFixed(2)}`);
    break;
  }
  await assertNoTimersLeft();
});
