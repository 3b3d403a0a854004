// Successive passes of one (workload, system) pair in one process: how long the JIT takes to
// warm up, and what a forced gc() between passes does to it (bench/RESULTS.md, session 5).
//
//   node --expose-gc bench/passes.mjs W7b trellis [--n 5000] [--passes 4] [--gc-after 1]
//
// Prints one JSON line: {"workload","system","n","passes":[ms, …],"gcAfter"}. With
// --gc-after K, a forced gc() runs after pass K (as the harness runs one after its warm-up).

import { loadWorkload } from "./workloads/index.mjs";

const [workload, system, ...rest] = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = rest.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(rest[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`bad ${name} ${rest[i + 1]}`);
  return v;
};
if (workload === undefined || system === undefined) {
  console.error("usage: node --expose-gc bench/passes.mjs <workload> <system> [--n N] [--passes K] [--gc-after K]");
  process.exit(2);
}
const mod = await loadWorkload(workload);
const fn = mod.systems[system] ?? mod.extraSystems?.[system];
if (!fn) throw new Error(`${workload} has no system "${system}" (has ${Object.keys(mod.systems).join(", ")})`);
const n = flag("--n", Math.round(mod.meta.n / 2));
const count = flag("--passes", 4);
const gcAfter = flag("--gc-after", 0);
if (gcAfter > 0 && typeof globalThis.gc !== "function") throw new Error("--gc-after needs node --expose-gc");
const passes = [];
for (let p = 1; p <= count; p++) {
  const result = await fn(n);
  passes.push(Math.round(typeof result === "number" ? result : result.ms));
  if (p === gcAfter) globalThis.gc();
}
console.log(JSON.stringify({ workload, system, n, passes, gcAfter }));
