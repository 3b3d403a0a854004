// W1k4 — W1 (spawn and join 100,000 tasks, one checkpoint each) while the spawner has four other
// AsyncLocalStorage stores entered, as a service with tracing, logging and request-context
// libraries has.
//
// Why: every async context frame Node makes holds the values of *all* stores entered where it was
// made. trellis gives each task its own context (one AsyncLocalStorage of its own, entered in the
// task's start), so each task copies the other stores' entries too; raw promises make no frame per
// task, and Effect keeps its fibers' context itself. Goal (Node 26): trellis ≤ 3.0× raw, and
// faster than Effect.
//
// Every system enters the same four stores (each with its own value) before its clock starts.

import { AsyncLocalStorage } from "node:async_hooks";
import { now, trellis, effect, range } from "../lib.mjs";
import { floorGroup } from "../floor.mjs";

export const meta = { n: 100_000, goal: { ms: 3.0 }, what: "W1 with 4 other AsyncLocalStorage stores entered" };

/** The four stores of other libraries (tracing, logging, request context, metrics). */
const stores = [new AsyncLocalStorage(), new AsyncLocalStorage(), new AsyncLocalStorage(), new AsyncLocalStorage()];
function enterStores() {
  stores.forEach((store, i) => store.enterWith({ library: i }));
}
function checkStores() {
  for (let i = 0; i < stores.length; i++) if (stores[i].getStore()?.library !== i) throw new Error(`store ${i} lost`);
}

export async function raw(n) {
  enterStores();
  const task = async () => {
    await null;
  };
  const t0 = now();
  const tasks = new Array(n);
  for (let i = 0; i < n; i++) tasks[i] = task();
  await Promise.all(tasks);
  const ms = now() - t0;
  checkStores();
  return ms;
}

export async function trellis_(n) {
  const { withTaskGroup, checkpoint } = await trellis("withTaskGroup", "checkpoint");
  enterStores();
  let seen = 0;
  const task = async () => {
    await checkpoint();
    if (seen++ === 0) checkStores(); // a task sees the spawner's stores
  };
  const t0 = now();
  await withTaskGroup(async (tg) => {
    for (let i = 0; i < n; i++) tg.spawn(task);
  });
  const ms = now() - t0;
  checkStores();
  return ms;
}

export async function effect_(n) {
  const { Effect } = await effect();
  enterStores();
  const items = range(n);
  const t0 = now();
  await Effect.runPromise(
    Effect.forEach(items, () => Effect.yieldNow, { concurrency: "unbounded", discard: true }),
  );
  const ms = now() - t0;
  checkStores();
  return ms;
}

/** raw's tasks, each run as a floor task (bench/floor.mjs), with the stores entered. */
export async function floor(n) {
  enterStores();
  const task = async () => {
    await null;
  };
  const t0 = now();
  await floorGroup((spawn) => {
    for (let i = 0; i < n; i++) spawn(task);
  });
  return now() - t0;
}

export const systems = { raw, floor, trellis: trellis_, effect: effect_ };
