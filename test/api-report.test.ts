// The API report (scripts/api-report.mjs) in `npm test`: the declarations each entry of the
// package publishes contain no @internal member and match the committed api/*.api.md.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

test("the published declarations show no internals and match api/*.api.md", () => {
  const result = spawnSync(process.execPath, ["scripts/api-report.mjs"], { cwd: process.cwd(), encoding: "utf8" });
  assert.equal(result.status, 0, `${result.stderr}${result.stdout}`);
});
