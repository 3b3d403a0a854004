// W6's worker module for trellis: the same work, and a spin that polls the caller's
// cancellation (through shared memory) between rounds.
import { checkpointIfCancelled } from "trellis/threads";
export { work } from "./w6-work.mjs";
import { work } from "./w6-work.mjs";

/** `seen` (optional): a SharedArrayBuffer where the time the worker saw its cancellation is written. */
export function spin(ms, seen) {
  const end = performance.now() + ms;
  let h = 0;
  try {
    while (performance.now() < end) {
      checkpointIfCancelled();
      h = work(h);
    }
  } catch (err) {
    if (seen !== undefined) new Float64Array(seen)[0] = performance.timeOrigin + performance.now();
    throw err;
  }
  return h;
}
