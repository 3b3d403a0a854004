// W5c — W5b's work (100,000 tasks, at most 100 at a time holding a token of a limiter of
// 100, one checkpoint each while holding it), with tasks that start only when a token is free.
//
// Measures: wall time from creating the first task until all have finished. W5b's tasks all
// start at once and 99,900 of them wait inside their bodies; p-limit is faster than that
// because it never starts queued work. Here trellis does the same, without losing structure:
// a task spawned with `{ limiter }` belongs to its group from spawn on (counted, cancellable,
// its failure reaches the group), but gets its context and body only once it is admitted.
// Goal (Node 26, issue 10): trellis ≤ 0.5× raw, and faster than p-limit.
//
// raw:     W5b's raw, unchanged: an *eager* FIFO semaphore (a hand-written one; the permit
//          goes straight to the next waiter), 100k async functions started at once, each
//          acquire / `await null` / release, Promise.all. That is the baseline the goal is set
//          against: what plain promises do when nothing defers the start.
// floor:   the task model at its cheapest (bench/floor.mjs), started only when a token is
//          free: a queued task is a floor task record plus one pending promise whose reaction,
//          attached in the spawner's context, starts it (its context frame made at admission).
// trellis: new CapacityLimiter(100); 100k `tg.spawn(checkpoint, { limiter })`.
// p-limit: pLimit(100) with 100k calls of async () => { await null; }.

import { now, trellis, pLimit } from "../lib.mjs";
import { AsyncLocalStorage } from "node:async_hooks";
import { raw as w5bRaw } from "./w5b.mjs";

export const meta = { n: 100_000, goal: { ms: 0.5 }, what: "n tasks started when a token of 100 is free, 1 checkpoint each" };

const TOKENS = 100;

/** W5b's raw: an eager FIFO semaphore, every task started at once. */
export const raw = w5bRaw;

export async function trellis_(n) {
  const { withTaskGroup, CapacityLimiter, checkpoint } = await trellis("withTaskGroup", "CapacityLimiter", "checkpoint");
  const limiter = new CapacityLimiter(TOKENS);
  const options = { limiter };
  const t0 = now();
  await withTaskGroup(async (tg) => {
    for (let i = 0; i < n; i++) tg.spawn(checkpoint, options);
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

// ---- floor: bench/floor.mjs's task model, with a start deferred until a token is free --------

const storage = new AsyncLocalStorage();

class FloorTask {
  constructor(group, fn, parent) {
    this.group = group;
    this.fn = fn;
    this.parent = parent;
    this.state = 0;
    this.outcome = undefined;
    this.name = fn.name;
    this.outer = undefined;
    this.next = undefined;
    this.prev = undefined;
    this.admit = undefined;
  }
}

let captured;
const capture = (resolve) => {
  captured = resolve;
};

/** Tokens, and the queued tasks in FIFO order (each with the resolve of its carrier). */
function floorLimiter(total) {
  return { free: total, queue: [], head: 0 };
}

function start(task) {
  storage.enterWith(task);
  task.fn().then(taskReturned, taskThrew);
}

function taskReturned(value) {
  end(storage.getStore(), 1, value);
}

function taskThrew(err) {
  end(storage.getStore(), 2, err);
}

function end(task, state, outcome) {
  task.state = state;
  task.outcome = outcome;
  const group = task.group;
  const limiter = group.limiter;
  if (limiter.head < limiter.queue.length) {
    const next = limiter.queue[limiter.head];
    limiter.queue[limiter.head++] = undefined;
    next.admit(next);
  } else limiter.free++;
  if (state === 2) group.errors.push(outcome);
  if (--group.live === 0) group.done();
}

export async function floor(n) {
  const fn = async () => {
    await null;
  };
  const settled = Promise.resolve();
  const t0 = now();
  await new Promise((resolve, reject) => {
    const group = { live: 1, errors: [], limiter: floorLimiter(TOKENS), done: () => (group.errors.length ? reject(group.errors[0]) : resolve()) };
    storage.run(group, () => {
      const parent = storage.getStore();
      for (let i = 0; i < n; i++) {
        group.live++;
        const task = new FloorTask(group, fn, parent);
        if (group.limiter.free > 0) {
          group.limiter.free--;
          void settled.then(() => start(task));
        } else {
          const carrier = new Promise(capture);
          task.admit = captured;
          void carrier.then(start);
          group.limiter.queue.push(task);
        }
      }
      if (--group.live === 0) group.done();
    });
  });
  return now() - t0;
}

export const systems = { raw, floor, trellis: trellis_, "p-limit": p_limit };
