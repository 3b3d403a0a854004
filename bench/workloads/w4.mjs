// W4 — 100,000 concurrent sleeps of seeded random 0–100 ms.
//
// Measures: wall time from the first spawn until every sleeper has woken and
// been joined. Bounded below by the longest sleep (100 ms); what remains is
// timer bookkeeping and wake-up cost. Goal (Node 26): trellis ≤ 1.0× raw.
// Durations come from mulberry32 with a fixed seed (bench/prng.mjs): the same
// list for every system.
//
// raw:       setTimeout promises + Promise.all.
// floor:     the same setTimeout promises, one per floor task (bench/floor.mjs): what a
//            task per sleep costs even with Node's own timers.
// trellis:   n tasks in one group, each `() => sleep(d)` (the shape of raw's and floor's
//            sleeps: a function returning the sleep's promise, no async frame around it).
// effection: n spawn()ed tasks each `yield* sleep(d)`, joined.
// effect:    Effect.forEach(durations, (d) => Effect.sleep(d), unbounded).

import { now, trellis, effect, effection } from "../lib.mjs";
import { randomDurations } from "../prng.mjs";
import { floorGroup } from "../floor.mjs";

export const meta = { n: 100_000, goal: { ms: 1.2 }, what: "n sleeps of random 0–100 ms" };

export async function raw(n) {
  const durations = randomDurations(n);
  const t0 = now();
  const sleeps = new Array(n);
  for (let i = 0; i < n; i++) sleeps[i] = new Promise((resolve) => setTimeout(resolve, durations[i]));
  await Promise.all(sleeps);
  return now() - t0;
}

export async function trellis_(n) {
  const { withTaskGroup, sleep } = await trellis("withTaskGroup", "sleep");
  const durations = randomDurations(n);
  const t0 = now();
  await withTaskGroup(async (tg) => {
    for (let i = 0; i < n; i++) {
      const d = durations[i];
      tg.spawn(() => sleep(d));
    }
  });
  return now() - t0;
}

export async function effection_(n) {
  const { run, spawn, sleep } = await effection();
  const durations = randomDurations(n);
  const t0 = now();
  await run(function* () {
    const tasks = new Array(n);
    for (let i = 0; i < n; i++) tasks[i] = yield* spawn(() => sleep(durations[i]));
    for (let i = 0; i < n; i++) yield* tasks[i];
  });
  return now() - t0;
}

export async function effect_(n) {
  const { Effect } = await effect();
  const durations = randomDurations(n);
  const t0 = now();
  await Effect.runPromise(
    Effect.forEach(durations, (d) => Effect.sleep(d), { concurrency: "unbounded", discard: true }),
  );
  return now() - t0;
}

/** raw's setTimeout sleeps, each in a floor task (bench/floor.mjs): one task per sleep. */
export async function floor(n) {
  const durations = randomDurations(n);
  const t0 = now();
  await floorGroup((spawn) => {
    for (let i = 0; i < n; i++) {
      const d = durations[i];
      spawn(() => new Promise((resolve) => setTimeout(resolve, d)));
    }
  });
  return now() - t0;
}

export const systems = { raw, floor, trellis: trellis_, effection: effection_, effect: effect_ };
