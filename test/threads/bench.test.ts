// W6 still runs: every system (trellis, tinypool, piscina, inline) produces a measurement at a
// hundredth of n. A smoke test of the workload, not a benchmark: no number is checked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

test("bench/run.mjs measures W6 for trellis, tinypool, piscina and inline", () => {
  const args = ["bench/run.mjs", "--json", "--scale", "0.01", "--only", "W6"];
  const result = spawnSync(process.execPath, args, { cwd: process.cwd(), encoding: "utf8", timeout: 120_000 });
  assert.equal(result.status, 0, result.stderr);
  const rows = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as { system: string; ms?: number; error?: string });
  assert.deepEqual(rows.map((r) => r.system).sort(), ["inline", "piscina", "tinypool", "trellis"]);
  for (const row of rows) {
    assert.equal(row.error, undefined, `${row.system}: ${row.error}`);
    assert.ok(typeof row.ms === "number" && row.ms > 0);
  }
});
