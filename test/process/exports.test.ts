// The published shape of trellis/process and trellis/signals: the exports map resolves them by
// name, and they export the names of API.md §3.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

function exportsOf(specifier: string): string[] {
  const code = `import(${JSON.stringify(specifier)}).then((m) => console.log(JSON.stringify(Object.keys(m))))`;
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: process.cwd(), encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as string[];
}

test("trellis/process exports runProcess, openProcess and ProcessError", () => {
  assert.deepEqual(exportsOf("trellis/process").sort(), ["ProcessError", "openProcess", "runProcess"]);
});

test("trellis/signals exports openSignalReceiver", () => {
  assert.deepEqual(exportsOf("trellis/signals"), ["openSignalReceiver"]);
});
