// Worker module for examples/threads.mjs and the seed 002 "threads" scenario. It imports
// "trellis/threads" like any worker module of a WorkerPool: the same import works in the
// main thread and in the worker.
import { callMain, callMainSync, checkpointIfCancelled } from "trellis/threads";
import { sleep } from "trellis";

/** A synchronous CPU loop of `ms` that polls the caller's cancellation (shared memory). */
export function spin(ms) {
  const end = performance.now() + ms;
  let rounds = 0;
  while (performance.now() < end) {
    checkpointIfCancelled(); // throws Cancelled as soon as the caller is cancelled
    for (let k = 0; k < 1_000; k++) rounds = (Math.imul(rounds ^ k, 2654435761) + 1) | 0;
  }
  return rounds;
}

/** CPU work, then a synchronous call back into the main thread, then more CPU work. */
export function crunchAndSave(ms) {
  spin(ms);
  callMainSync("save", "half-way"); // blocks this thread until the main-thread handler settles
  return spin(ms);
}

/** An async job: reports progress to the main thread between chunks of work. */
export async function resize(name, chunks) {
  for (let i = 1; i <= chunks; i++) {
    spin(10);
    await callMain("progress", name, i, chunks);
    await sleep(1); // trellis works in the worker: sleep, checkpoint, currentSignal…
  }
  return `${name}: ${chunks} chunks`;
}

export function fail() {
  const err = new RangeError("width must be positive", { cause: { width: -3 } });
  err.code = "E_WIDTH";
  throw err;
}
