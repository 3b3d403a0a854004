// W1 — spawn and join 100,000 tasks, each doing one checkpoint.
//
// Measures: wall time from the first spawn until every task has been joined
// (the group has exited). Cost per task of creating, scheduling, yielding once
// and joining. Goal (Node 26, issue 10): trellis ≤ 2.2× raw, ≤ 1.15× floor.
//
// raw:       100k async functions each doing `await null`, joined with Promise.all.
// floor:     the same functions, each as a task of the task model at its cheapest
//            (bench/floor.mjs): what one task per unit costs before any feature.
// trellis:   withTaskGroup + tg.spawn(async () => { await checkpoint(); }).
// effection: 100k spawn()ed operations in one run() scope, each doing
//            `yield* until(RESOLVED)`, the cheapest real yield effection has:
//            `sleep(0)` is a macrotask (setTimeout), `call(() => x)` of a
//            non-promise does not suspend at all, and `until(p)` / `call(() => p)`
//            both go through action() and resume once p settles (one microtask).
//            Every task is then joined with `yield* task`.
// effect:    Effect.forEach(range, () => Effect.yieldNow, { concurrency:
//            "unbounded", discard: true }) — the idiomatic way to fork one fiber
//            per element and wait for all of them; yieldNow is effect's
//            explicit "yield to the scheduler".

import { now, trellis, effect, effection, range } from "../lib.mjs";
import { floorGroup } from "../floor.mjs";

export const meta = { n: 100_000, goal: { ms: 2.2 }, what: "spawn+join, 1 checkpoint each" };

export async function raw(n) {
  const task = async () => {
    await null;
  };
  const t0 = now();
  const tasks = new Array(n);
  for (let i = 0; i < n; i++) tasks[i] = task();
  await Promise.all(tasks);
  return now() - t0;
}

export async function trellis_(n) {
  const { withTaskGroup, checkpoint } = await trellis("withTaskGroup", "checkpoint");
  const task = async () => {
    await checkpoint();
  };
  const t0 = now();
  await withTaskGroup(async (tg) => {
    for (let i = 0; i < n; i++) tg.spawn(task);
  });
  return now() - t0;
}

export async function effection_(n) {
  const { run, spawn, until } = await effection();
  const RESOLVED = Promise.resolve();
  function* task() {
    yield* until(RESOLVED);
  }
  const t0 = now();
  await run(function* () {
    const tasks = new Array(n);
    for (let i = 0; i < n; i++) tasks[i] = yield* spawn(task);
    for (let i = 0; i < n; i++) yield* tasks[i];
  });
  return now() - t0;
}

export async function effect_(n) {
  const { Effect } = await effect();
  const items = range(n);
  const t0 = now();
  await Effect.runPromise(
    Effect.forEach(items, () => Effect.yieldNow, { concurrency: "unbounded", discard: true }),
  );
  return now() - t0;
}

/** raw's tasks, each run as a floor task (bench/floor.mjs): the task model's own cost. */
export async function floor(n) {
  const task = async () => {
    await null;
  };
  const t0 = now();
  await floorGroup((spawn) => {
    for (let i = 0; i < n; i++) spawn(task);
  });
  return now() - t0;
}

export const systems = { raw, floor, trellis: trellis_, effection: effection_, effect: effect_ };
