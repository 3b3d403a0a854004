// runProcess with large volumes (API.md §3 "trellis/process"): 100 MB both ways through real
// children. In a file of their own, so that their time on a loaded machine does not eat into
// the other tests' budget.
import { test } from "node:test";
import assert from "node:assert/strict";
import { run } from "../../src/index.js";
import { runProcess } from "../../src/process/index.js";
import { assertNothingLeft, nodeArgv, resourcesNow } from "./support.js";

test("stdin and stdout run concurrently: 100 MB through cat never deadlocks", async () => {
  const before = resourcesNow();
  await run(async () => {
    const input = new Uint8Array(100 * 1024 * 1024);
    for (let i = 0; i < input.length; i += 4096) input[i] = (i / 4096) & 0xff;
    const r = await runProcess(["cat"], { input, maxBuffer: Infinity });
    assert.equal(r.stdout.byteLength, input.byteLength);
    assert.ok(Buffer.from(r.stdout).equals(Buffer.from(input)), "cat's output differs from its input");
  });
  await assertNothingLeft(before);
});

test("a child writing 100 MB is captured whole within maxBuffer", async () => {
  await run(async () => {
    const code = "const b = Buffer.alloc(1 << 20, 121); let n = 100; (function w() { while (n > 0) { n--; if (!process.stdout.write(b)) return process.stdout.once('drain', w); } })()";
    const r = await runProcess(nodeArgv(code), { maxBuffer: 100 * 1024 * 1024 });
    assert.equal(r.stdout.byteLength, 100 * 1024 * 1024);
  });
});

