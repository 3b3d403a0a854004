// Helpers for the trellis/process tests: real children, checked with the OS's own view.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

export const NODE = process.execPath;

/** A node child running `code` (CommonJS, so `require` works in it). */
export function nodeArgv(code: string): string[] {
  return [NODE, "-e", code];
}

/** True while `pid` is a live process (a zombie, already dead and waiting to be reaped, is not). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

const OURS = /Process|Pipe|Timeout|Immediate|Signal/;

/** What is active now (the test runner's own pipes among it): take it before a test. */
export function resourcesNow(): string[] {
  return process.getActiveResourcesInfo().filter((r) => OURS.test(r)).sort();
}

/**
 * After a run: no child process, pipe or timer of ours is left beyond `before` (what was there
 * when the test began), and trellis's exit listener (kept only while children live) is gone.
 */
export async function assertNothingLeft(before: readonly string[] = []): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  const left = resourcesNow();
  for (const r of before) {
    const i = left.indexOf(r);
    if (i >= 0) left.splice(i, 1);
  }
  assert.deepEqual(left, [], "a child process, pipe or timer was left behind");
  assert.ok(!process.listeners("exit").some((f) => f.name === "killLiveChildren"), "trellis's exit listener was left behind");
}
