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
//          free: a queued task is a floor task record plus one link of a start chain (a
//          promise reaction attached in the spawner's context, trellis's mechanism), and gets
//          its context frame when it starts. The FIFO semaphore is raw's, hand-inlined.
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
//
// A queued task is a floor task record and one link of a start chain (a promise reaction
// attached in the spawner's context, as trellis does): links run in FIFO order; the link of an
// admitted task starts it (one enterWith), the link of a task still queued holds the chain.

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
  }
}

function floorLimiter(total) {
  const limiter = { free: total, tasks: [], admitHead: 0, startHead: 0, tail: undefined, hold: undefined };
  limiter.tail = Promise.resolve(limiter);
  return limiter;
}

let capturedHold;
const captureHold = (resolve) => {
  capturedHold = resolve;
};

function carry(limiter) {
  const task = limiter.tasks[limiter.startHead];
  if (task.state === -1) {
    const held = new Promise(captureHold);
    limiter.hold = capturedHold;
    return held.then(carry);
  }
  limiter.tasks[limiter.startHead++] = undefined;
  start(task);
  return limiter;
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
  if (limiter.admitHead < limiter.tasks.length) {
    const next = limiter.tasks[limiter.admitHead++];
    next.state = 0; // admitted
    if (limiter.hold !== undefined && limiter.tasks[limiter.startHead] === next) {
      const hold = limiter.hold;
      limiter.hold = undefined;
      hold(limiter);
    }
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
      const limiter = group.limiter;
      for (let i = 0; i < n; i++) {
        group.live++;
        const task = new FloorTask(group, fn, parent);
        if (limiter.free > 0) {
          limiter.free--;
          void settled.then(() => start(task));
        } else {
          task.state = -1; // queued
          limiter.tasks.push(task);
          limiter.tail = limiter.tail.then(carry);
        }
      }
      if (--group.live === 0) group.done();
    });
  });
  return now() - t0;
}

export const systems = { raw, floor, trellis: trellis_, "p-limit": p_limit };
