// W5b — 100,000 tasks created up front, at most 100 at a time holding a
// CapacityLimiter token, one checkpoint each while holding it.
//
// Measures: wall time from creating the first task until all have finished.
// Cost of a FIFO limiter with a long wait queue (99,900 waiters at the start).
// Goal (Node 26): trellis ≤ 1.5× raw.
//
// raw:     a hand-written FIFO semaphore (permit handed straight to the next
//          waiter), 100k async functions each acquire / `await null` / release,
//          Promise.all.
// floor:   raw's tasks and semaphore, each task a floor task (bench/floor.mjs).
// trellis: new CapacityLimiter(100); 100k tg.spawn()ed tasks each
//          `() => limiter.withToken(checkpoint)` (withToken is not an async function: the
//          wait in line carries fn, and the release is one reaction per limiter).
//          W5c runs the same work with tasks started only when a token is free.
// p-limit: pLimit(100) with 100k calls of async () => { await null; }.
// effect:  not run. The idiomatic equivalent (Semaphore.makeUnsafe(100) and
//          Effect.forEach(unbounded) of sem.withPermits(1)(Effect.yieldNow)) is
//          quadratic in effect 4.1: every release walks a copy of the whole
//          waiter Set (Semaphore.js, releaseUnsafe), so 10k tasks take 2.5 s and
//          100k would take minutes. Its code is kept below as `effectSemaphore`
//          (`node bench/workload.mjs W5b effect-semaphore --n 10000`).

import { now, trellis, effect, pLimit, range } from "../lib.mjs";
import { floorGroup } from "../floor.mjs";

export const meta = { n: 100_000, goal: { ms: 2.1 }, what: "n tasks, limiter of 100, 1 checkpoint each" };

const TOKENS = 100;

/** FIFO semaphore: release() hands the permit straight to the oldest waiter. */
class FifoSemaphore {
  constructor(permits) {
    this.permits = permits;
    this.waiters = [];
    this.head = 0; // index of the oldest waiter (avoids O(n) shift on a long queue)
  }
  acquire() {
    if (this.permits > 0 && this.head === this.waiters.length) {
      this.permits--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  release() {
    if (this.head < this.waiters.length) {
      const resolve = this.waiters[this.head];
      this.waiters[this.head++] = undefined;
      if (this.head === this.waiters.length) {
        this.waiters.length = 0;
        this.head = 0;
      }
      resolve();
    } else {
      this.permits++;
    }
  }
}

/** raw's task: acquire, one `await null` while holding the permit, release. */
function rawTask(sem) {
  return async () => {
    await sem.acquire();
    try {
      await null;
    } finally {
      sem.release();
    }
  };
}

export async function raw(n) {
  const task = rawTask(new FifoSemaphore(TOKENS));
  const t0 = now();
  const tasks = new Array(n);
  for (let i = 0; i < n; i++) tasks[i] = task();
  await Promise.all(tasks);
  return now() - t0;
}

export async function trellis_(n) {
  const { withTaskGroup, CapacityLimiter, checkpoint } = await trellis(
    "withTaskGroup",
    "CapacityLimiter",
    "checkpoint",
  );
  const limiter = new CapacityLimiter(TOKENS);
  const task = () => limiter.withToken(checkpoint);
  const t0 = now();
  await withTaskGroup(async (tg) => {
    for (let i = 0; i < n; i++) tg.spawn(task);
  });
  return now() - t0;
}

export async function p_limit(n) {
  const pLimitFn = await pLimit();
  const limit = pLimitFn(TOKENS);
  const fn = async () => {
    await null;
  };
  const t0 = now();
  const calls = new Array(n);
  for (let i = 0; i < n; i++) calls[i] = limit(fn);
  await Promise.all(calls);
  return now() - t0;
}

export async function effectSemaphore(n) {
  const { Effect, Semaphore } = await effect();
  const items = range(n);
  const t0 = now();
  const sem = Semaphore.makeUnsafe(TOKENS);
  const task = sem.withPermits(1)(Effect.yieldNow);
  await Effect.runPromise(Effect.forEach(items, () => task, { concurrency: "unbounded", discard: true }));
  return now() - t0;
}

/** raw's tasks and semaphore, each task a floor task (bench/floor.mjs). */
export async function floor(n) {
  const task = rawTask(new FifoSemaphore(TOKENS));
  const t0 = now();
  await floorGroup((spawn) => {
    for (let i = 0; i < n; i++) spawn(task);
  });
  return now() - t0;
}

export const systems = { raw, floor, trellis: trellis_, "p-limit": p_limit };

/** Systems that run only when asked for by name (not part of the default table). */
export const extraSystems = { "effect-semaphore": effectSemaphore };
