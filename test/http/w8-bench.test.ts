// The W8 benchmark still runs: both systems serve a hundredth of n requests to the load
// generator and report ms and p99Ms (a smoke test; numbers are not checked).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

test("bench/run.mjs measures W8 for raw and trellis, with p99 latency", () => {
  const args = ["bench/run.mjs", "--json", "--scale", "0.01", "--only", "W8"];
  const result = spawnSync(process.execPath, args, { cwd: process.cwd(), encoding: "utf8", timeout: 120_000 });
  assert.equal(result.status, 0, result.stderr);
  const rows = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(rows.map((r) => r.system), ["raw", "trellis"]);
  for (const row of rows) {
    assert.equal(row.error, undefined, `${row.system}: ${String(row.error)}`);
    assert.equal(row.n, 200);
    assert.ok(typeof row.ms === "number" && row.ms > 0, `${row.system} has no time`);
    assert.ok(typeof row.p99Ms === "number" && row.p99Ms > 0, `${row.system} has no p99`);
  }
});
