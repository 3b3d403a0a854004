// Child process: runs one (workload, system) pair and prints ONE JSON line.
//
//   node --expose-gc bench/workload.mjs W1 trellis [--n 100000] [--warmup 10000]
//
// A warm-up pass runs first (--warmup units; default meta.warmup × n, meta.warmup being the
// fraction of n a workload may set, else n / 10), then gc(), then the measured pass. Output:
//   {"workload":"W1","system":"trellis","n":100000,"ms":12.3,"rssMb":80.1,"allocB":1300}
// or, when the system cannot run (e.g. dist/ lacks an export):
//   {"workload":"W1","system":"trellis","n":100000,"error":"..."}
// rssMb is the process's peak RSS (process.resourceUsage().maxRSS / 1024),
// warm-up included.

import { getHeapStatistics } from "node:v8";
import { firstLine } from "./lib.mjs";
import { loadWorkload } from "./workloads/index.mjs";

const WARMUP_RATIO = 0.1;

/** Bytes the heap has allocated since the process started, where V8 reports it. */
function allocatedBytes() {
  return getHeapStatistics().total_allocated_bytes;
}

async function main() {
  const [workload, system, ...rest] = process.argv.slice(2);
  let n;
  const nFlag = rest.indexOf("--n");
  if (nFlag >= 0) n = Number(rest[nFlag + 1]);
  const out = { workload, system, n };
  try {
    const mod = await loadWorkload(workload);
    n ??= mod.meta.n;
    out.n = n;
    if (!Number.isInteger(n) || n < 1) throw new Error(`bad --n ${rest[nFlag + 1]}`);
    const warmupFlag = rest.indexOf("--warmup");
    const warmup = warmupFlag >= 0 ? Number(rest[warmupFlag + 1]) : Math.max(1, Math.round(n * (mod.meta.warmup ?? WARMUP_RATIO)));
    if (!Number.isInteger(warmup) || warmup < 1) throw new Error(`bad --warmup ${rest[warmupFlag + 1]}`);
    const fn = mod.systems[system] ?? mod.extraSystems?.[system];
    if (!fn) throw new Error(`${workload} has no system "${system}" (has ${Object.keys(mod.systems).join(", ")})`);
    await fn(warmup);
    globalThis.gc?.();
    const allocatedBefore = allocatedBytes();
    const result = await fn(n);
    const allocatedAfter = allocatedBytes();
    // A system returns its ms, or { ms, ...more measurements } (W8's p99Ms), kept in the line.
    const ms = typeof result === "number" ? result : result.ms;
    out.ms = Math.round(ms * 100) / 100;
    if (typeof result === "object") for (const [key, value] of Object.entries(result)) if (key !== "ms") out[key] = value;
    // Bytes allocated per unit of work (Node 24+ reports the total): unlike ms, the same from
    // run to run, so small changes to a hot path show even on a noisy machine.
    if (allocatedBefore !== undefined) out.allocB = Math.round((allocatedAfter - allocatedBefore) / n);
    out.rssMb = Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
  } catch (err) {
    out.error = firstLine(err);
  }
  process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(0));
}

await main();
