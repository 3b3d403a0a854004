// The published shape: the exports map resolves "trellis" and "trellis/testing" to dist/, and
// every public name of API.md §1 is exported from the entry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

const apiNames = [
  "run", "withTaskGroup", "CancelScope", "withCancelScope", "moveOnAfter", "moveOnAt", "failAfter", "failAt",
  "currentSignal", "cancelOnAbort", "wait", "isCancelled", "suppressedErrors", "sleep", "sleepUntil", "sleepForever",
  "currentTime", "checkpoint", "checkpointIfCancelled", "currentTask", "currentEffectiveDeadline",
  "all", "race", "map", "Event", "Lock", "Semaphore", "Condition", "CapacityLimiter", "openChannel", "withSupervisor",
  "Cancelled", "TimeoutError", "ClosedResourceError", "BrokenResourceError", "BusyResourceError", "EndOfChannel",
  "WouldBlock", "TaskGroupError",
];
const testingNames = ["MockClock", "waitAllTasksBlocked", "assertCheckpoints", "assertNoCheckpoints"];

function importFromPackage(specifier: string): string[] {
  // A child process resolves the package by its own name, through the exports map.
  const code = `import(${JSON.stringify(specifier)}).then((m) => console.log(JSON.stringify(Object.keys(m))))`;
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: process.cwd(), encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as string[];
}

test("the trellis entry exports every public name of API.md", () => {
  const names = importFromPackage("trellis");
  for (const name of apiNames) assert.ok(names.includes(name), `"trellis" does not export ${name}`);
});

test("the trellis/testing entry exports the testing kit", () => {
  const names = importFromPackage("trellis/testing");
  for (const name of testingNames) assert.ok(names.includes(name), `"trellis/testing" does not export ${name}`);
});
