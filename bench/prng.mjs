// Small seeded PRNG (mulberry32) so that every system gets the same inputs.

export const SEED = 0x7e11_15;

/** Returns a function yielding floats in [0, 1), deterministic for a seed. */
export function mulberry32(seed = SEED) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n integer durations in [0, maxMs] ms, the same for every system. */
export function randomDurations(n, maxMs = 100, seed = SEED) {
  const next = mulberry32(seed);
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(next() * (maxMs + 1));
  return out;
}
