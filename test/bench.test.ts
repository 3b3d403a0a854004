// The benchmark harness still runs: every system of the workloads that have a floor produces a
// measurement (at a hundredth of n, so this is a smoke test, not a benchmark), and where V8
// reports allocation (Node 24+) the bytes per unit too. Numbers are not checked: timing
// assertions in tests would be flaky, and the goals live in `npm run bench`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { getHeapStatistics } from "node:v8";

interface Row {
  workload: string;
  system: string;
  n: number;
  ms?: number;
  rssMb?: number;
  allocB?: number;
  error?: string;
}

test("bench/run.mjs measures raw, floor and trellis on W1, W4 and W5b", () => {
  const args = ["bench/run.mjs", "--json", "--scale", "0.01", "--only", "W1,W4,W5b", "--system", "raw,floor,trellis"];
  const result = spawnSync(process.execPath, args, { cwd: process.cwd(), encoding: "utf8", timeout: 120_000 });
  assert.equal(result.status, 0, result.stderr);
  const rows = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as Row);
  const seen = rows.map((r) => `${r.workload} ${r.system}`).sort();
  assert.deepEqual(seen, ["W1 floor", "W1 raw", "W1 trellis", "W4 floor", "W4 raw", "W4 trellis", "W5b floor", "W5b raw", "W5b trellis"]);
  const reportsAllocation = "total_allocated_bytes" in getHeapStatistics();
  for (const row of rows) {
    assert.equal(row.error, undefined, `${row.workload} ${row.system}: ${row.error}`);
    assert.ok(typeof row.ms === "number" && row.ms > 0, `${row.workload} ${row.system} has no time`);
    assert.equal(row.n, 1000);
    if (reportsAllocation) assert.ok(typeof row.allocB === "number" && row.allocB > 0, `${row.workload} ${row.system} has no allocB`);
    else assert.equal(row.allocB, undefined);
  }
});

test("bench/run.mjs --warmup sets the warm-up pass of every workload, and refuses what is not a positive number", () => {
  const args = ["bench/run.mjs", "--json", "--scale", "0.01", "--runs", "2", "--warmup", "0.5", "--only", "W1", "--system", "raw,trellis"];
  const result = spawnSync(process.execPath, args, { cwd: process.cwd(), encoding: "utf8", timeout: 120_000 });
  assert.equal(result.status, 0, result.stderr);
  const rows = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as Row);
  assert.deepEqual(rows.map((r) => r.system).sort(), ["raw", "trellis"]);
  for (const row of rows) assert.equal(row.error, undefined, `${row.system}: ${row.error}`);
  const refused = spawnSync(process.execPath, ["bench/run.mjs", "--warmup", "0"], { cwd: process.cwd(), encoding: "utf8", timeout: 30_000 });
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /--warmup must be a positive number/);
  // The child takes the warm-up as a count of units, and says so when it is not one.
  const child = spawnSync(process.execPath, ["--expose-gc", "bench/workload.mjs", "W1", "raw", "--n", "100", "--warmup", "2.5"], { cwd: process.cwd(), encoding: "utf8", timeout: 30_000 });
  assert.match(JSON.parse(child.stdout.trim()).error, /bad --warmup 2\.5/);
});

test("bench/passes.mjs times successive passes in one process, with a forced gc() where asked", () => {
  const args = ["--expose-gc", "bench/passes.mjs", "W1", "raw", "--n", "100", "--passes", "3", "--gc-after", "1"];
  const result = spawnSync(process.execPath, args, { cwd: process.cwd(), encoding: "utf8", timeout: 30_000 });
  assert.equal(result.status, 0, result.stderr);
  const out = JSON.parse(result.stdout.trim()) as { passes: number[]; n: number; gcAfter: number };
  assert.equal(out.n, 100);
  assert.equal(out.gcAfter, 1);
  assert.equal(out.passes.length, 3);
  for (const ms of out.passes) assert.ok(typeof ms === "number" && ms >= 0);
  const noGc = spawnSync(process.execPath, ["bench/passes.mjs", "W1", "raw", "--n", "10", "--gc-after", "1"], { cwd: process.cwd(), encoding: "utf8", timeout: 30_000 });
  assert.notEqual(noGc.status, 0);
  assert.match(noGc.stderr, /--gc-after needs node --expose-gc/);
});
