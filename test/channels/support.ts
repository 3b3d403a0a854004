// Helpers shared by the channel tests.
import assert from "node:assert/strict";

/**
 * Lets every runnable task run until it blocks: a few macrotask turns, each of which drains all
 * pending microtasks (several, because a schedule point may itself yield to a macrotask).
 */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
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
