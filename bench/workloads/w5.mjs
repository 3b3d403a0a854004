// W5 — map over 100,000 items with concurrency 100, one checkpoint per item.
//
// Measures: wall time of the whole map call, results collected in input order.
// Overhead of a bounded-concurrency map per item. Goal (Node 26): trellis ≤ 3× raw.
//
// raw:     100 hand-written worker loops pulling the next index from a shared
//          counter, `await null` per item, results[i] stored in place.
// trellis: map(items, async () => { await checkpoint(); }, { concurrency: 100 }).
// p-map:   pMap(items, async () => { await null; }, { concurrency: 100 }).
// effect:  Effect.forEach(items, () => Effect.yieldNow, { concurrency: 100 })
//          (results collected, not discarded, to match map).
// effection: skipped — no bounded-concurrency map built in.

import { now, trellis, effect, pMap, range } from "../lib.mjs";

export const meta = { n: 100_000, goal: { ms: 2.5 }, what: "map, concurrency 100, 1 checkpoint each" };

const CONCURRENCY = 100;

export async function raw(n) {
  const items = range(n);
  const fn = async (item) => {
    await null;
    return item;
  };
  const t0 = now();
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  const workers = [];
  for (let w = 0; w < CONCURRENCY; w++) workers.push(worker());
  await Promise.all(workers);
  return now() - t0;
}

export async function trellis_(n) {
  const { map, checkpoint } = await trellis("map", "checkpoint");
  const items = range(n);
  const t0 = now();
  await map(
    items,
    async (item) => {
      await checkpoint();
      return item;
    },
    { concurrency: CONCURRENCY },
  );
  return now() - t0;
}

export async function p_map(n) {
  const pMapFn = await pMap();
  const items = range(n);
  const t0 = now();
  await pMapFn(
    items,
    async (item) => {
      await null;
      return item;
    },
    { concurrency: CONCURRENCY },
  );
  return now() - t0;
}

export async function effect_(n) {
  const { Effect } = await effect();
  const items = range(n);
  const t0 = now();
  await Effect.runPromise(
    Effect.forEach(items, (item) => Effect.as(Effect.yieldNow, item), { concurrency: CONCURRENCY }),
  );
  return now() - t0;
}

export const systems = { raw, trellis: trellis_, "p-map": p_map, effect: effect_ };
