// W3 — cancel 100,000 tasks sleeping 1 h in one group.
//
// Measures: wall time from the cancel call (tg.cancel(), abort(), halt(),
// interrupt) to the moment the group has exited, i.e. every timer cleared and
// every task unwound — NOT the spawn time. The child's peak RSS (rssMb) is the
// other number that matters here: memory held by 100k parked tasks.
// Goal (Node 26): trellis ≤ 1.5× raw time and ≤ 1.2× raw RSS.
//
// Every system counts its tasks as they start and waits (polling with a real
// timer) until all n are parked in their sleep, then runs a full gc() (the
// child has --expose-gc) so that garbage left by spawning is not collected
// inside the timed cancel, and only then cancels.
//
// raw:       setTimeout promises; each registers a cancel callback (clearTimeout
//            + reject) in one Set; ONE AbortSignal listener walks the Set (never
//            one listener per task); joined with Promise.all.
// trellis:   withTaskGroup, tg.spawn(async () => { await sleep(1 h) }), then
//            tg.cancel() from the body.
// effection: a parent task spawns the n sleepers then suspends; `yield*
//            parent.halt()` tears the subtree down.
// effect:    one forked fiber running Effect.forEach(…, sleep 1 h, unbounded);
//            Fiber.interrupt on it interrupts the children and waits for them.

import { now, poll, trellis, effect, effection, range } from "../lib.mjs";

export const meta = { n: 100_000, goal: { ms: 1.3, rss: 1.15 }, what: "cancel→exit of n sleeping tasks" };

const HOUR = 3_600_000;

export async function raw(n) {
  const controller = new AbortController();
  const cancels = new Set();
  controller.signal.addEventListener(
    "abort",
    () => {
      for (const cancel of cancels) cancel();
      cancels.clear();
    },
    { once: true },
  );
  const CANCELLED = new Error("cancelled");
  let started = 0;
  const task = async () => {
    started++;
    try {
      await new Promise((resolve, reject) => {
        const cancel = () => {
          clearTimeout(timer);
          reject(CANCELLED);
        };
        const timer = setTimeout(() => {
          cancels.delete(cancel);
          resolve();
        }, HOUR);
        cancels.add(cancel);
      });
    } catch (err) {
      if (err !== CANCELLED) throw err;
    }
  };
  const tasks = new Array(n);
  for (let i = 0; i < n; i++) tasks[i] = task();
  await poll(() => started === n);
  globalThis.gc?.();
  const t0 = now();
  controller.abort();
  await Promise.all(tasks);
  return now() - t0;
}

export async function trellis_(n) {
  const { withTaskGroup, sleep } = await trellis("withTaskGroup", "sleep");
  let started = 0;
  let t0 = 0;
  const task = async () => {
    started++;
    await sleep(HOUR);
  };
  await withTaskGroup(async (tg) => {
    for (let i = 0; i < n; i++) tg.spawn(task);
    await poll(() => started === n);
    globalThis.gc?.();
    t0 = now();
    tg.cancel();
  });
  return now() - t0;
}

export async function effection_(n) {
  const { run, spawn, sleep, suspend, until } = await effection();
  let started = 0;
  let t0 = 0;
  function* task() {
    started++;
    yield* sleep(HOUR);
  }
  await run(function* () {
    const parent = yield* spawn(function* () {
      for (let i = 0; i < n; i++) yield* spawn(task);
      yield* suspend();
    });
    yield* until(poll(() => started === n));
    globalThis.gc?.();
    t0 = now();
    yield* parent.halt();
  });
  return now() - t0;
}

export async function effect_(n) {
  const { Effect, Fiber } = await effect();
  let started = 0;
  let t0 = 0;
  const task = Effect.andThen(
    Effect.sync(() => {
      started++;
    }),
    Effect.sleep(HOUR),
  );
  const items = range(n);
  await Effect.runPromise(
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(
        Effect.forEach(items, () => task, { concurrency: "unbounded", discard: true }),
      );
      yield* Effect.promise(() => poll(() => started === n));
      globalThis.gc?.();
      t0 = now();
      yield* Fiber.interrupt(fiber);
    }),
  );
  return now() - t0;
}

export const systems = { raw, trellis: trellis_, effection: effection_, effect: effect_ };
