// Shared by the core and time tests.
import assert from "node:assert/strict";

/** Runs `fn` and returns what it threw (or rejected with); fails the test if it did not throw. */
export async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  assert.fail("expected the call to throw");
}
