#!/usr/bin/env node
// Runs every compiled test file (build/test/**/*.test.js) with node's test runner.
// Node 20's `node --test` takes no globs, so we list the files ourselves.
// A test that hangs fails after 60 s instead of hanging the suite.
// Usage: node scripts/run-tests.mjs [substring-filter ...]
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
const testRoot = join(root, "build", "test");

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (name.endsWith(".test.js")) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = collect(testRoot).filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)));
if (files.length === 0) {
  console.error("run-tests: no test files found under build/test (did `npm run build:test` run?)");
  process.exit(1);
}
const result = spawnSync(process.execPath, ["--test", "--test-reporter=spec", "--test-timeout=60000", ...files], { stdio: "inherit" });
process.exit(result.status ?? 1);
