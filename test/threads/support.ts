// Shared by the threads tests: the fixture module's URL, and waiting for worker threads to go.
import { setTimeout as delay } from "node:timers/promises";

export const fixture = (name = "basic") => new URL(`../../../test/fixtures/threads/${name}.mjs`, import.meta.url);

/** The handles of trellis/threads that must not outlive a pool. */
export function threadHandles(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r === "Worker" || r === "MessagePort");
}

/** Polls `cond` with real timers (a worker's `exit` event comes asynchronously); false after ~2 s. */
export async function eventually(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return true;
    await delay(5);
  }
  return cond();
}
