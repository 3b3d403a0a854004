/**
 * Argument checks shared by the public functions: each names the function and the argument
 * and shows the bad value with its type, so the message alone says what to fix.
 *
 * @module
 */

/** @internal `12.5 (number)`, `"abc" (string)`, `undefined`. */
export function show(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (typeof value === "function") return `a function (${value.name || "anonymous"})`;
  let text: string;
  try {
    text = typeof value === "string" ? JSON.stringify(value) : String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  return `${text} (${typeof value})`;
}

/** @internal */
export function requireFunction(where: string, name: string, value: unknown): void {
  if (typeof value !== "function") {
    throw new TypeError(`${where}: \`${name}\` must be a function, got ${show(value)}`);
  }
}

/**
 * @internal A duration in ms: a number ≥ 0 (Infinity allowed), not NaN. A value that is not a
 * number at all (`"100"`) is a `TypeError`; a number out of range (NaN, negative) a `RangeError`.
 */
export function requireDuration(where: string, name: string, value: unknown): number {
  if (typeof value !== "number") {
    throw new TypeError(`${where}: \`${name}\` must be a number of milliseconds ≥ 0, got ${show(value)}`);
  }
  if (Number.isNaN(value)) {
    throw new RangeError(`${where}: \`${name}\` must be a number of milliseconds ≥ 0, got ${show(value)}`);
  }
  if (value < 0) {
    throw new RangeError(`${where}: \`${name}\` must be ≥ 0 milliseconds, got ${show(value)}`);
  }
  return value;
}

/** @internal A deadline on the run's clock: any number but NaN (±Infinity allowed); a non-number is a `TypeError`. */
export function requireDeadline(where: string, name: string, value: unknown): number {
  if (typeof value !== "number") {
    throw new TypeError(`${where}: \`${name}\` must be a number (a time on the run's clock, or Infinity), got ${show(value)}`);
  }
  if (Number.isNaN(value)) {
    throw new RangeError(`${where}: \`${name}\` must be a number (a time on the run's clock, or Infinity), got ${show(value)}`);
  }
  return value;
}

/** @internal */
export function requireBoolean(where: string, name: string, value: unknown): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(`${where}: \`${name}\` must be a boolean, got ${show(value)}`);
  }
  return value;
}

/** @internal */
/** @internal A string option; `null` and `undefined` both mean "not given" (undefined). */
export function requireOptionalString(where: string, name: string, value: unknown): string | undefined {
  if (value == null) return undefined;
  if (typeof value !== "string") {
    throw new TypeError(`${where}: \`${name}\` must be a string, got ${show(value)}`);
  }
  return value;
}

/**
 * @internal An options argument: a plain object, or `null`/`undefined` for "none given".
 * The one rule for options: `null`, `undefined` and absent all mean "not given, use the
 * default", for the options argument and for every option in it.
 */
export function requireOptions(where: string, value: unknown): void {
  if (value != null && typeof value !== "object") {
    throw new TypeError(`${where}: \`options\` must be an object, got ${show(value)}`);
  }
}

/**
 * @internal The one check of a count (permits, tokens, capacity, concurrency, restarts): returns
 * `value` if it is an integer ≥ `min`, or `Infinity` when `allowInfinity`; otherwise a
 * `TypeError` (not a number) or `RangeError` naming the function and the argument.
 */
export function requireCount(where: string, name: string, value: unknown, min: number, allowInfinity: boolean): number {
  if (typeof value === "number" && (value === Infinity ? allowInfinity : Number.isInteger(value) && value >= min)) return value;
  const expected = `an integer ≥ ${min}${allowInfinity ? " or Infinity" : ""}`;
  const Err = typeof value === "number" ? RangeError : TypeError;
  throw new Err(`${where}: \`${name}\` must be ${expected}, got ${show(value)}`);
}

/** @internal One of a fixed set of strings, e.g. a group's `errors` mode. */
export function requireOneOf<T extends string>(where: string, name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    const choices = allowed.map((a) => JSON.stringify(a)).join(" or ");
    throw new TypeError(`${where}: \`${name}\` must be ${choices}, got ${show(value)}`);
  }
  return value as T;
}
