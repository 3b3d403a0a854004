// W6 — CPU calls through a pool of 2 worker threads.
//
// Measures: wall time of n calls of a ~3 µs CPU function (w6-work.mjs), all submitted at once,
// through a pool of 2 warm workers (pool start-up excluded). Goal (Node 26): trellis ≥ the
// throughput of tinypool and piscina in the same run (ms ≤ theirs).
//
// trellis:  WorkerPool({ size: 2 }), pool.run("work", [i]).
// tinypool: new Tinypool({ minThreads: 2, maxThreads: 2 }), pool.run(i, { name: "work" }).
// piscina:  new Piscina({ minThreads: 2, maxThreads: 2 }), pool.run(i, { name: "work" }).
// inline:   the same function on the main thread (what the work itself costs).
//
// Run this file directly (`node bench/workloads/w6.mjs [--n 10000]`) for the other two numbers
// of the issue: 1,000 calls each cancelled mid-way (a synchronous 50 ms loop cancelled after
// ~2 ms; latency = from the cancellation to the caller's `Cancelled`/AbortError, p50/p99, and
// for trellis also to the moment the worker's loop saw it), and
// the memory of an idle worker (RSS growth per started, idle worker).

import { now, range } from "../lib.mjs";
import { work } from "./w6-work.mjs";

export const meta = { n: 10_000, goal: { ms: 1.0 }, what: "n small CPU calls through 2 worker threads" };

const WORK = new URL("./w6-work.mjs", import.meta.url);
const TRELLIS_WORKER = new URL("./w6-trellis-worker.mjs", import.meta.url);
const threads = () => import(new URL("../../dist/threads/index.js", import.meta.url).href);

export async function inline(n) {
  const t0 = now();
  const results = new Array(n);
  for (let i = 0; i < n; i++) results[i] = await Promise.resolve(work(i));
  return now() - t0;
}

export async function trellis(n) {
  const { WorkerPool } = await threads();
  const pool = new WorkerPool(TRELLIS_WORKER, { size: 2 });
  try {
    await Promise.all([pool.run("work", [1]), pool.run("work", [2])]);
    const t0 = now();
    await Promise.all(range(n).map((i) => pool.run("work", [i])));
    return now() - t0;
  } finally {
    await pool.close();
  }
}

async function peer(Pool, n) {
  const pool = new Pool({ filename: WORK.href, minThreads: 2, maxThreads: 2 });
  try {
    await Promise.all([pool.run(1, { name: "work" }), pool.run(2, { name: "work" })]);
    const t0 = now();
    await Promise.all(range(n).map((i) => pool.run(i, { name: "work" })));
    return now() - t0;
  } finally {
    await pool.destroy();
  }
}

export const tinypool = async (n) => peer((await import("tinypool")).Tinypool, n);
export const piscina = async (n) => peer((await import("piscina")).Piscina, n);

export const systems = { inline, trellis, tinypool, piscina };

// ---- the numbers `npm run bench` does not show: cancellation latency, idle worker memory ----

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/**
 * `calls` sync 50 ms calls, each cancelled ~2 ms after it starts, one at a time (a second
 * spinning thread on a 2-core machine would measure the OS scheduler, not the cancellation).
 */
async function cancelLatencies(system, calls) {
  const lat = [];
  const seenLat = [];
  const wall = () => performance.timeOrigin + now();
  const lane = async (runOne) => {
    for (let i = 0; i < calls; i++) await runOne();
  };
  if (system === "trellis") {
    const { WorkerPool } = await threads();
    const { withCancelScope, isCancelled } = await import(new URL("../../dist/index.js", import.meta.url).href);
    const pool = new WorkerPool(TRELLIS_WORKER, { size: 2 });
    await Promise.all([pool.run("work", [1]), pool.run("work", [2])]);
    const runOne = () =>
      withCancelScope(async (scope) => {
        let cancelledAt = 0;
        const seen = new SharedArrayBuffer(8);
        setTimeout(() => {
          cancelledAt = wall();
          scope.cancel();
        }, 2);
        try {
          await pool.run("spin", [50, seen]);
        } catch (err) {
          if (!isCancelled(err)) throw err;
          lat.push(wall() - cancelledAt);
          seenLat.push(new Float64Array(seen)[0] - cancelledAt);
          throw err;
        }
      });
    const t0 = now();
    await lane(runOne);
    const ms = now() - t0;
    const replaced = pool.statistics().replaced;
    await pool.close();
    return { ms, lat, seenLat, replaced };
  }
  const Pool = system === "tinypool" ? (await import("tinypool")).Tinypool : (await import("piscina")).Piscina;
  const pool = new Pool({ filename: WORK.href, minThreads: 2, maxThreads: 2 });
  await Promise.all([pool.run(1, { name: "work" }), pool.run(2, { name: "work" })]);
  const runOne = async () => {
    const controller = new AbortController();
    let cancelledAt = 0;
    setTimeout(() => {
      cancelledAt = now();
      controller.abort();
    }, 2);
    try {
      await pool.run(50, { name: "spin", signal: controller.signal });
    } catch {
      lat.push(now() - cancelledAt);
    }
  };
  const t0 = now();
  await lane(runOne);
  const ms = now() - t0;
  await pool.destroy();
  return { ms, lat };
}

async function idleWorkerMemory(k = 4) {
  const { WorkerPool } = await threads();
  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  const pool = new WorkerPool(TRELLIS_WORKER, { size: k });
  await Promise.all(range(k).map(() => pool.run("spin", [30])));
  await new Promise((resolve) => setTimeout(resolve, 50));
  globalThis.gc?.();
  const after = process.memoryUsage().rss;
  await pool.close();
  return (after - before) / k / 2 ** 20;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const nFlag = process.argv.indexOf("--n");
  const n = nFlag > 0 ? Number(process.argv[nFlag + 1]) : meta.n;
  const calls = 1_000;
  const cancelOnly = process.argv.includes("--cancel-only");
  for (const [name, fn] of cancelOnly ? [] : Object.entries(systems)) {
    await fn(Math.round(n / 10));
    console.log(`W6 ${name.padEnd(8)} ${n} calls: ${(await fn(n)).toFixed(1)} ms`);
  }
  for (const system of cancelOnly ? ["trellis"] : ["trellis", "tinypool", "piscina"]) {
    const { ms, lat, seenLat, replaced } = await cancelLatencies(system, calls);
    lat.sort((a, b) => a - b);
    seenLat?.sort((a, b) => a - b);
    console.log(
      `W6 cancel ${system.padEnd(8)} ${calls} calls cancelled mid-way: ${ms.toFixed(0)} ms, ` +
        `latency p50 ${percentile(lat, 50).toFixed(2)} ms, p99 ${percentile(lat, 99).toFixed(2)} ms, max ${lat.at(-1).toFixed(2)} ms` +
        (replaced === undefined ? "" : `, workers replaced ${replaced}`) +
        (seenLat === undefined ? "" : `; seen by the worker's loop: p50 ${percentile(seenLat, 50).toFixed(2)} ms, p99 ${percentile(seenLat, 99).toFixed(2)} ms`),
    );
  }
  console.log(`W6 memory: ${(await idleWorkerMemory()).toFixed(1)} MB RSS per idle trellis worker`);
}
