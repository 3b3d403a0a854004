#!/usr/bin/env node
// `npm run demo`: the seed articles' scenarios replayed, each first with plain promises (the
// failure) and then with trellis (the fix). Every scenario is a module in examples/scenarios/
// exporting { title, seed, order, plain, trellis }; both functions return a short summary line
// and print what a user would see. The whole tour runs in a few seconds.
import { readdirSync } from "node:fs";

const dir = new URL("./scenarios/", import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith(".mjs")).sort();
const scenarios = [];
for (const file of files) scenarios.push(await import(new URL(file, dir)));
scenarios.sort((a, b) => a.order - b.order);

const started = performance.now();
let failures = 0;
for (const s of scenarios) {
  console.log(`\n━━ ${s.title}  (seed ${s.seed})`);
  for (const [label, fn] of [["plain promises", s.plain], ["trellis       ", s.trellis]]) {
    try {
      const summary = await fn();
      console.log(`  ${label} → ${summary}`);
    } catch (err) {
      failures++;
      console.log(`  ${label} → the demo itself failed: ${err?.stack ?? err}`);
    }
  }
}
console.log(`\n${scenarios.length} scenarios in ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exitCode = failures === 0 ? 0 : 1;
