// What debug mode costs: W1's shape (spawn and join n tasks, one checkpoint each) inside
// run(main, { debug }) with debug off, then on (spawn stacks, wait timestamps, the blocked-loop
// detector's thread). Each mode runs in its own child process, alternating, --runs times.
//
//   node bench/debug-cost.mjs [--n 100000] [--runs 3] [--node /path/to/node]
//
// Prints one JSON line per run: {"mode","n","ms","allocB"} (allocB: heap bytes allocated per
// task, where V8 reports it, Node 24+), then the medians and the ratio on over off.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};

if (args[0] === "--child") {
  const mode = args[1];
  const n = Number(args[2]);
  const { getHeapStatistics } = await import("node:v8");
  const { run, withTaskGroup, checkpoint } = await import("../dist/index.js");
  const task = async () => {
    await checkpoint();
  };
  const once = (count) =>
    run(
      async () => {
        const t0 = performance.now();
        await withTaskGroup(async (tg) => {
          for (let i = 0; i < count; i++) tg.spawn(task);
        });
        return performance.now() - t0;
      },
      { debug: mode === "on", handleSignals: false },
    );
  await once(Math.round(n / 10));
  globalThis.gc?.();
  const before = getHeapStatistics().total_allocated_bytes;
  const ms = await once(n);
  const after = getHeapStatistics().total_allocated_bytes;
  const out = { mode, n, ms: Math.round(ms * 100) / 100 };
  if (before !== undefined) out.allocB = Math.round((after - before) / n);
  process.stdout.write(JSON.stringify(out) + "\n");
} else {
  const n = Number(flag("--n", "100000"));
  const runs = Number(flag("--runs", "3"));
  const node = flag("--node", process.execPath);
  const self = fileURLToPath(import.meta.url);
  const results = { off: [], on: [] };
  for (let r = 0; r < runs; r++) {
    for (const mode of ["off", "on"]) {
      const child = spawnSync(node, ["--expose-gc", self, "--child", mode, String(n)], { encoding: "utf8" });
      if (child.status !== 0) throw new Error(`${mode}: ${child.stderr}`);
      const line = child.stdout.trim().split("\n").at(-1);
      console.log(line);
      results[mode].push(JSON.parse(line));
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary = {};
  for (const mode of ["off", "on"]) {
    summary[mode] = { ms: median(results[mode].map((x) => x.ms)), allocB: median(results[mode].map((x) => x.allocB ?? NaN)) };
  }
  summary.ratio = Math.round((summary.on.ms / summary.off.ms) * 10) / 10;
  console.log(JSON.stringify({ summary }));
}
