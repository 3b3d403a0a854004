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
