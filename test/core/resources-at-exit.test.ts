// Resources are owned like tasks (DESIGN.md choice 8): what user code leaves open is closed when
// run() ends, and run() returns only once it is really gone — a terminated worker thread, a
// reaped child process — with no polling needed afterwards.
import { test } from "node:test";
import assert from "node:assert/strict";
import { run } from "../../src/index.js";
import { WorkerPool } from "../../src/threads/index.js";
import { openProcess } from "../../src/process/index.js";
import { fixture } from "../threads/support.js";

const trellisKinds = (): string[] => process.getActiveResourcesInfo().filter((k) => k === "MessagePort" || k === "ProcessWrap" || k === "Worker");

test("a worker pool and a child process left open are gone the moment run() returns", async () => {
  assert.deepEqual(trellisKinds(), [], "nothing before");
  let pid = 0;
  await run(
    async () => {
      const pool = new WorkerPool(fixture(), { size: 1 });
      assert.equal(await pool.run("add", [1, 2]), 3);
      const child = await openProcess(["sleep", "30"]);
      pid = child.pid;
    },
    { handleSignals: false },
  );
  assert.deepEqual(trellisKinds(), [], "run() returned with a thread or child still there");
  assert.throws(() => process.kill(pid, 0), /ESRCH/, "the child was reaped");
});
