// W6's worker module for trellis: the same work, and a spin that polls the caller's
// cancellation (through shared memory) between rounds.
import { checkpointIfCancelled } from "trellis/threads";
export { work } from "./w6-work.mjs";
import { work } from "./w6-work.mjs";

export function spin(ms) {
  const end = performance.now() + ms;
  let h = 0;
  while (performance.now() < end) {
    checkpointIfCancelled();
    h = work(h);
  }
  return h;
}
