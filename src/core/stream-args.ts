/**
 * Argument checks and error messages shared by every stream of `trellis/net` and
 * `trellis/testing`.
 *
 * @internal
 * @module
 */
import { BrokenResourceError, BusyResourceError, ClosedResourceError } from "./errors.js";
import { show } from "./validate.js";

/** The default and the ceiling of `receive(maxBytes)`. */
export const DEFAULT_MAX_BYTES = 65_536;

/** @internal `maxBytes` of `receive`: absent/null means the default; else an integer ≥ 1. */
export function requireMaxBytes(where: string, value: unknown): number {
  if (value === undefined || value === null) return DEFAULT_MAX_BYTES;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`${where}: \`maxBytes\` must be an integer ≥ 1, got ${show(value)}`);
  }
  if (value < 1) throw new RangeError(`${where}: \`maxBytes\` must be an integer ≥ 1, got ${show(value)}`);
  return value;
}

/** @internal `data` of `send`: a Uint8Array (any view of bytes) or a string, sent as UTF-8. */
export function requireData(where: string, value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`${where}: \`data\` must be a Uint8Array (or Buffer) or a string, got ${show(value)}`);
}

/** @internal */
export function closedError(what: string): ClosedResourceError {
  return new ClosedResourceError(`${what}: this stream was closed by this side; open a new connection, or do not close it while it is in use`);
}

/** @internal */
export function eofSentError(what: string): ClosedResourceError {
  return new ClosedResourceError(`${what}: sendEof() was called on this stream, so it sends nothing more; it can still receive`);
}

/** @internal */
export function busyError(what: string, other: string): BusyResourceError {
  return new BusyResourceError(
    `${what}: another task is already in ${other} on this stream; a stream has one sender and one receiver at a time (serialise with a Lock, or give each side its own task)`,
  );
}

/** @internal */
export function brokenAfterCancel(what: string): BrokenResourceError {
  return new BrokenResourceError(
    `${what}: an earlier send on this stream was cancelled mid-way, so how much of it went out is unknown; close this stream and open a new one`,
  );
}

/** @internal Wraps a Node error (ECONNRESET, EPIPE, …) as the stream being broken by its peer. */
export function brokenBy(what: string, cause: unknown): BrokenResourceError {
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String((cause as { code: unknown }).code) : undefined;
  const detail = code !== undefined ? ` (${code})` : cause instanceof Error ? ` (${cause.message})` : "";
  return new BrokenResourceError(`${what}: the connection was broken by the other side or the network${detail}; close this stream`, { cause });
}

/** @internal One shared empty chunk: EOF. */
export const EMPTY = new Uint8Array(0);
