/**
 * The one argument check of the sync layer: a count of permits, tokens or waiters.
 *
 * @module
 */
import { show } from "../core/index.js";

/**
 * Returns `value` if it is an integer ≥ `min` (or `Infinity` when allowed); otherwise throws a
 * `TypeError` (not a number) or `RangeError` naming the function and the argument. @internal
 */
export function requireCount(where: string, name: string, value: unknown, min: number, allowInfinity: boolean): number {
  const expected = `an integer ≥ ${min}${allowInfinity ? " or Infinity" : ""}`;
  if (typeof value !== "number") {
    throw new TypeError(`${where}: \`${name}\` must be ${expected}, got ${show(value)}`);
  }
  const ok = value === Infinity ? allowInfinity : Number.isInteger(value) && value >= min;
  if (!ok) throw new RangeError(`${where}: \`${name}\` must be ${expected}, got ${show(value)}`);
  return value;
}
