// Every runnable program in examples/ (the README's and the docs') must run and exit 0, so
// that the snippets the docs point to cannot rot.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const root = process.cwd();
const dir = join(root, "examples");
const programs = readdirSync(dir).filter((f) => f.endsWith(".mjs") && f !== "demo.mjs");

for (const file of programs) {
  test(`examples/${file} runs and exits 0`, () => {
    const result = spawnSync(process.execPath, [join(dir, file)], { cwd: root, encoding: "utf8", timeout: 20_000 });
    assert.equal(result.status, 0, `exit ${result.status} signal ${result.signal}\n${result.stdout}\n${result.stderr}`);
  });
}

test("the demo runs every scenario and exits 0", () => {
  const result = spawnSync(process.execPath, [join(dir, "demo.mjs")], { cwd: root, encoding: "utf8", timeout: 60_000 });
  assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /scenarios in/);
});
