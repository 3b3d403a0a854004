// Helpers shared by the sync and channel tests.
import assert from "node:assert/strict";
import { waitAllTasksBlocked } from "../../src/testing/index.js";

/**
 * Lets every other task of the run run until it blocks in a trellis wait (a lock, a channel, an
 * event, `wait(promise)`…). It asks the run itself (waitAllTasksBlocked), so it does not depend
 * on how many event-loop turns the others happen to need. A checkpoint: call it from a task
 * that is not cancelled.
 */
export function settle(): Promise<void> {
  return waitAllTasksBlocked();
}

/** After a run: no timer or immediate of ours is left behind. */
export async function assertNoTimersLeft(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  const left = process.getActiveResourcesInfo().filter((r) => r === "Timeout" || r === "Immediate");
  assert.deepEqual(left, [], "a timer or immediate was left armed");
}

/** The name of the error `promise` rejects with, or "ok" if it fulfils. */
export async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "ok";
  } catch (err) {
    return err instanceof Error ? err.name : String(err);
  }
}
