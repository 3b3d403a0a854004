#!/usr/bin/env node
// Type-checks the `@example` blocks of the TSDoc in src/ (STYLE.md: examples that compile, as
// Effect's docgen does). Each ```ts block becomes a module under build/examples/ importing the
// package by name, and tsc checks them all. Names an example leaves undefined (`fetchUser`,
// `rows`…) stand for the reader's own code: "cannot find name" is allowed, every other error
// (a wrong trellis method, argument or type, a syntax error) fails. skipLibCheck is off, so the
// published .d.ts files are checked as a user's compiler would see them.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
const out = join(root, "build", "examples");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith(".ts") ? [path] : [];
  });
}

const origin = new Map();
let count = 0;
for (const file of walk(join(root, "src"))) {
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(/@example[^\n]*\n((?:\s*\*[^\n]*\n)*?)\s*\*\s*```ts\n((?:\s*\*[^\n]*\n)*?)\s*\*\s*```/g)) {
    const code = m[2].split("\n").map((line) => line.replace(/^\s*\* ?/, "")).join("\n");
    const name = `example-${++count}.ts`;
    const line = text.slice(0, m.index).split("\n").length;
    origin.set(name, `${relative(root, file)}:${line}`);
    writeFileSync(join(out, name), `${code}\nexport {};\n`);
  }
}
writeFileSync(
  join(out, "tsconfig.json"),
  JSON.stringify({
    extends: "../../tsconfig.base.json",
    compilerOptions: { noEmit: true, skipLibCheck: false, noImplicitAny: false, strict: false, strictNullChecks: true, types: ["node"], lib: ["es2022", "esnext.disposable", "dom"] },
    include: ["*.ts"],
  }),
);
const tsc = join(root, "node_modules", ".bin", "tsc");
const result = spawnSync(tsc, ["-p", join(out, "tsconfig.json"), "--pretty", "false"], { encoding: "utf8" });
const allowed = new Set([2304, 2552, 2582, 7006, 18004]); // cannot find name (…did you mean), shorthand of an undefined name
const errors = (result.stdout + result.stderr)
  .split("\n")
  .filter((l) => /error TS(\d+)/.test(l))
  .filter((l) => !allowed.has(Number(/error TS(\d+)/.exec(l)[1])));
for (const e of errors) {
  const file = /example-\d+\.ts/.exec(e)?.[0];
  console.log(`${file ? origin.get(file) : ""}: ${e.replace(/^.*example-\d+\.ts/, "")}`);
}
console.log(`check-examples: ${count} examples, ${errors.length} errors`);
process.exit(errors.length === 0 ? 0 : 1);
