#!/usr/bin/env node
// Benchmark driver: runs every (workload, system) pair in its own child
// process (bench/workload.mjs), one after the other, and prints a table or
// JSON lines. See bench/README.md.
//
//   node bench/run.mjs                        table, current node
//   node bench/run.mjs --json                 one JSON object per line
//   node bench/run.mjs --only W1,W3 --system trellis,raw
//   node bench/run.mjs --node "$(bash bench/node26.sh)"

import { spawn, execFileSync } from "node:child_process";
import { availableParallelism, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { WORKLOADS, loadWorkload } from "./workloads/index.mjs";

const USAGE = `usage: node bench/run.mjs [--json] [--only W1,W2b,…] [--system raw,trellis,…]
                         [--node PATH] [--runs K] [--stat median|min] [--timeout SECONDS] [--scale F]
                         [--warmup F]
  --json      one JSON object per line: {"workload","system","n","ms","rssMb"[,"allocB"][, more, e.g. W8's p99Ms]}
              (or {"workload","system","n","error"} when a system cannot run)
  --only      workloads to run (default: all of ${WORKLOADS.join(", ")})
  --system    systems to run (default: every system a workload defines)
  --node      node binary that runs the workloads (default: this one)
  --runs      run each pair K times (a fresh child each, systems taken in turn, the order reversed
                every other run); report ms by --stat and the peak RSS (default 1)
  --stat      how K runs are summarised: median (default) or min (robust to a busy machine)
  --timeout   seconds before a child is killed and reported as an error (default 180)
  --scale     multiply every n by F (smoke tests only; results are not comparable)
  --warmup    the warm-up pass runs F × n units, for every workload (default: each workload's
                meta.warmup × n, else n/10; W7b warms up with a whole pass, see its header)`;

function parseArgs(argv) {
  const opts = {
    json: false,
    only: null,
    system: null,
    node: process.execPath,
    runs: 1,
    stat: "median",
    timeout: 180,
    scale: 1,
    warmup: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    const list = () => value().split(",").map((s) => s.trim()).filter(Boolean);
    if (arg === "--json") opts.json = true;
    else if (arg === "--only") opts.only = list();
    else if (arg === "--system" || arg === "--systems") opts.system = list();
    else if (arg === "--node") opts.node = value();
    else if (arg === "--runs") opts.runs = positive(arg, value(), true);
    else if (arg === "--stat") {
      opts.stat = value();
      if (opts.stat !== "median" && opts.stat !== "min") fail("--stat must be median or min");
    } else if (arg === "--timeout") opts.timeout = positive(arg, value());
    else if (arg === "--scale") opts.scale = positive(arg, value());
    else if (arg === "--warmup") opts.warmup = positive(arg, value());
    else if (arg === "-h" || arg === "--help") {
      console.log(USAGE);
      process.exit(0);
    } else fail(`unknown argument ${arg}`);
  }
  return opts;
}

function positive(name, text, integer = false) {
  const v = Number(text);
  if (!(v > 0) || (integer && !Number.isInteger(v))) fail(`${name} must be a positive ${integer ? "integer" : "number"}`);
  return v;
}

function fail(message) {
  console.error(`run.mjs: ${message}\n${USAGE}`);
  process.exit(2);
}

const CHILD = fileURLToPath(new URL("./workload.mjs", import.meta.url));

/** Runs one child; resolves with its JSON result (never rejects). */
function runChild(node, workload, system, n, warmup, timeoutSec) {
  return new Promise((resolve) => {
    const args = ["--expose-gc", CHILD, workload, system, "--n", String(n)];
    if (warmup !== null) args.push("--warmup", String(warmup));
    const child = spawn(node, args, {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutSec * 1000);
    const done = (error) => {
      clearTimeout(timer);
      const line = stdout.trim().split("\n").reverse().find((l) => l.startsWith("{"));
      if (!error && line) {
        try {
          return resolve(JSON.parse(line));
        } catch {}
      }
      const why =
        error ??
        (timedOut
          ? `timed out after ${timeoutSec} s`
          : `child exited without a result: ${stderr.trim().split("\n").slice(-1)[0] || "no output"}`);
      resolve({ workload, system, n, error: why });
    };
    child.on("error", (err) => done(`cannot start ${node}: ${err.message}`));
    child.on("close", () => done());
  });
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Runs every system of one workload `opts.runs` times, round-robin, the order reversed every
 * other run (raw, trellis, trellis, raw, …): a machine whose state drifts during the run
 * weighs on every system alike, and no system always runs right after another (W7b leaves
 * ~20,000 sockets in TIME_WAIT for a minute, which the next child meets). A system that fails
 * once is not run again. Calls `report` as each system's last run ends.
 */
async function measureAll(opts, workload, systems, n, report) {
  const summarise = opts.stat === "min" ? (ms) => Math.min(...ms) : median;
  const runs = new Map(systems.map((system) => [system, []]));
  const failed = new Map();
  const warmup = opts.warmup === null ? null : Math.max(1, Math.round(n * opts.warmup));
  for (let r = 0; r < opts.runs; r++) {
    for (const system of r % 2 === 0 ? systems : [...systems].reverse()) {
      if (failed.has(system)) continue;
      if (r === 0 && !opts.json) process.stderr.write(`  ${workload} ${system} … ${opts.runs > 1 ? "\n" : ""}`);
      const res = await runChild(opts.node, workload, system, n, warmup, opts.timeout);
      if (res.error) failed.set(system, { workload, system, n, error: res.error });
      else runs.get(system).push(res);
      if (r === opts.runs - 1 || res.error) report(failed.get(system) ?? summary(workload, system, n, runs.get(system), summarise));
    }
  }
}

function summary(workload, system, n, results, summarise) {
  const out = {
    workload,
    system,
    n,
    ms: Math.round(summarise(results.map((r) => r.ms)) * 100) / 100,
    rssMb: Math.max(...results.map((r) => r.rssMb)),
    ...(results[0].allocB === undefined ? {} : { allocB: median(results.map((r) => r.allocB)) }),
  };
  // Further measurements a workload reports (W8: p99Ms, p50Ms, cpuUs): their median.
  for (const [key, value] of Object.entries(results[0])) {
    if (!(key in out) && key !== "workload" && typeof value === "number") out[key] = median(results.map((r) => r[key]));
  }
  return out;
}

// ---------------------------------------------------------------- table

function fmt(v, digits = 1) {
  return typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "n/a";
}

function ratio(v, base) {
  return typeof v === "number" && typeof base === "number" && base > 0 ? v / base : undefined;
}

function goalText(goal, msRatio, rssRatio) {
  if (!goal) return "";
  const parts = [];
  const check = (limit, r, label) => {
    const verdict = r === undefined ? "n/a" : r <= limit ? "ok" : "MISS";
    parts.push(`${label}≤${limit.toFixed(1)}× ${verdict}`);
  };
  if (goal.ms !== undefined) check(goal.ms, msRatio, "");
  if (goal.rss !== undefined) check(goal.rss, rssRatio, "rss");
  return parts.join(", ");
}

function printTable(rows, header) {
  const cols = ["workload", "system", "n", "ms", "×raw", "rss MB", "rss ×raw", "B/unit", "goal (trellis)"];
  const right = new Set(["n", "ms", "×raw", "rss MB", "rss ×raw", "B/unit"]);
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells.map((c, i) => (right.has(cols[i]) ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join("  ");
  console.log(header);
  console.log(line(cols).trimEnd());
  console.log(line(widths.map((w) => "-".repeat(w))));
  let last;
  for (const r of rows) {
    if (last !== undefined && r[0] !== last) console.log("");
    console.log(line(r).trimEnd());
    last = r[0];
  }
}

// ---------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const only = opts.only ?? WORKLOADS;
  const nodeVersion = (() => {
    try {
      return execFileSync(opts.node, ["--version"], { encoding: "utf8" }).trim();
    } catch (err) {
      fail(`--node ${opts.node} does not run: ${err.message}`);
    }
  })();
  const header =
    `trellis bench — node ${nodeVersion} (${opts.node}), ${process.platform}-${process.arch}, ` +
    `${availableParallelism()} cpus, ${(totalmem() / 2 ** 30).toFixed(1)} GiB` +
    (opts.runs > 1 ? `, ${opts.stat} of ${opts.runs} runs` : "") +
    (opts.scale !== 1 ? `, n scaled ×${opts.scale} (NOT comparable)` : "");
  if (!opts.json) console.error(header);

  const rows = [];
  for (const id of only) {
    let mod;
    try {
      mod = await loadWorkload(id);
    } catch (err) {
      fail(err.message);
    }
    const workload = WORKLOADS.find((w) => w.toLowerCase() === id.toLowerCase());
    const n = Math.max(1, Math.round(mod.meta.n * opts.scale));
    const known = { ...mod.systems, ...mod.extraSystems };
    // Always the workload's own order (raw first, so ratios can be computed).
    const systems = opts.system ? Object.keys(known).filter((s) => opts.system.includes(s)) : Object.keys(mod.systems);
    let raw;
    const byRun = opts.runs > 1;
    await measureAll(opts, workload, systems, n, (res) => {
      const system = res.system;
      if (opts.json) console.log(JSON.stringify(res));
      else {
        const p99 = res.p99Ms === undefined ? "" : `, p99 ${fmt(res.p99Ms, 2)} ms`;
        const text = res.error ? `error: ${res.error}` : `${fmt(res.ms)} ms${p99}, ${fmt(res.rssMb)} MB`;
        process.stderr.write(byRun ? `  ${workload} ${system}: ${text}\n` : `${text}\n`);
      }
      if (system === "raw" && !res.error) raw = res;
      const msRatio = ratio(res.ms, raw?.ms);
      const rssRatio = ratio(res.rssMb, raw?.rssMb);
      rows.push([
        workload,
        system,
        n,
        fmt(res.ms),
        system === "raw" ? "1.00" : fmt(msRatio, 2),
        fmt(res.rssMb),
        system === "raw" ? "1.00" : fmt(rssRatio, 2),
        res.allocB === undefined ? "" : String(res.allocB),
        system === "trellis" ? goalText(mod.meta.goal, msRatio, rssRatio) : "",
      ]);
    });
  }
  if (!opts.json) printTable(rows, header);
}

await main();
