// The small CPU function of W6, shared by every system (not a workload: the name has a dash).
// About 3 µs of integer mixing: small enough that per-call overhead decides the throughput.
export function work(seed) {
  let h = seed | 0;
  for (let k = 0; k < 1500; k++) h = (Math.imul(h ^ (h >>> 15), 2246822507) + k) | 0;
  return h;
}

/** A synchronous loop of `ms` that never yields: what a cancelled call must stop. */
export function spin(ms) {
  const end = performance.now() + ms;
  let h = 0;
  while (performance.now() < end) h = work(h);
  return h;
}

export default work;
