// Shared helpers for the workload modules. Every library is imported lazily,
// inside the system that uses it, so that a `raw` child never pays for (nor
// measures the memory of) effect or effection, and a missing dist/ only breaks
// the trellis rows.

import { performance } from "node:perf_hooks";

export const now = () => performance.now();

const DIST = new URL("../dist/index.js", import.meta.url);

/**
 * Loads trellis from dist/ and checks that every export named is there.
 * Throws a one-line Error otherwise (the child reports it as `error`).
 */
export async function trellis(...names) {
  let mod;
  try {
    mod = await import(DIST.href);
  } catch (err) {
    throw new Error(`cannot load dist/index.js (run \`npm run build\`): ${firstLine(err)}`);
  }
  const missing = names.filter((name) => mod[name] === undefined);
  if (missing.length > 0) throw new Error(`dist/index.js does not export ${missing.join(", ")} yet`);
  return mod;
}

export const effect = () => import("effect");
export const effection = () => import("effection");
export const pLimit = async () => (await import("p-limit")).default;
export const pMap = async () => (await import("p-map")).default;

export function firstLine(err) {
  const text =
    err instanceof Error ? (err.name === "Error" ? err.message : `${err.name}: ${err.message}`) : String(err);
  return text.split("\n")[0];
}

/** Resolves once `cond()` is true, polling with real timers (outside any library). */
export function poll(cond, everyMs = 2) {
  return new Promise((resolve) => {
    const tick = () => (cond() ? resolve() : setTimeout(tick, everyMs));
    tick();
  });
}

/** 0, 1, …, n - 1 */
export const range = (n) => Array.from({ length: n }, (_, i) => i);
