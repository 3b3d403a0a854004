/**
 * Errors across the thread boundary. Structured clone keeps only part of an error (no own
 * properties, no subclass, sometimes no `cause`), so errors travel as a plain description and
 * are rebuilt on the other side: the nearest built-in (or trellis) class, `message`, the
 * original `stack`, `cause` and `errors` (rebuilt the same way), and own properties. A thrown
 * non-error (`undefined`, `42`, a string) travels as itself: no thrown value is ever lost.
 *
 * @module
 */
import {
  BrokenResourceError,
  BusyResourceError,
  ClosedResourceError,
  EndOfChannel,
  RuntimeError,
  TaskGroupError,
  TimeoutError,
  WouldBlock,
} from "../core/index.js";

/** A thrown value as it travels: `[0, value]` for a non-error, `[1, description]` for an error. */
export type WireError = readonly [0, unknown] | readonly [1, WireErrorBody];

interface WireErrorBody {
  /** The class to rebuild: a built-in or trellis class name. */
  readonly ctor: string;
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly cause?: WireError;
  readonly errors?: readonly WireError[];
  readonly props?: Record<string, unknown>;
}

type ErrorClass = new (message: string) => Error;

const BUILT_IN: Record<string, ErrorClass> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  TimeoutError,
  ClosedResourceError,
  BrokenResourceError,
  BusyResourceError,
  EndOfChannel,
  WouldBlock,
  RuntimeError,
};
const KNOWN = new Map<unknown, string>(Object.entries(BUILT_IN).map(([name, cls]) => [cls.prototype, name]));
KNOWN.set(AggregateError.prototype, "AggregateError");
KNOWN.set(TaskGroupError.prototype, "TaskGroupError");

const MAX_DEPTH = 8;
const SKIP = new Set(["message", "stack", "cause", "errors", "name"]);

/** Describes `err` for postMessage. Never throws. */
export function toWire(err: unknown, depth = 0): WireError {
  if (!(err instanceof Error)) return [0, err];
  let ctor = "Error";
  for (let proto = Object.getPrototypeOf(err); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const known = KNOWN.get(proto);
    if (known !== undefined) {
      ctor = known;
      break;
    }
  }
  const body: {
    -readonly [K in keyof WireErrorBody]: WireErrorBody[K];
  } = { ctor, name: safeString(() => err.name, "Error"), message: safeString(() => err.message, ""), stack: err.stack };
  if (depth < MAX_DEPTH) {
    if ("cause" in err) body.cause = toWire(err.cause, depth + 1);
    if (err instanceof AggregateError && Array.isArray(err.errors)) body.errors = err.errors.map((e: unknown) => toWire(e, depth + 1));
  }
  for (const key of Object.keys(err)) {
    if (SKIP.has(key)) continue;
    (body.props ??= {})[key] = cloneable((err as unknown as Record<string, unknown>)[key]);
  }
  return [1, body];
}

/** Rebuilds what {@link toWire} described. */
export function fromWire(wire: WireError): unknown {
  if (wire[0] === 0) return wire[1];
  const body = wire[1];
  let err: Error;
  const errors = body.errors?.map(fromWire);
  if (body.ctor === "AggregateError") err = new AggregateError(errors ?? [], body.message);
  else if (body.ctor === "TaskGroupError") err = new TaskGroupError(errors ?? [], body.message);
  else err = new (BUILT_IN[body.ctor] ?? Error)(body.message);
  if (err.name !== body.name) Object.defineProperty(err, "name", { value: body.name, writable: true, configurable: true });
  Object.defineProperty(err, "stack", { value: body.stack, writable: true, configurable: true });
  if (body.cause !== undefined) Object.defineProperty(err, "cause", { value: fromWire(body.cause), writable: true, configurable: true });
  if (body.props !== undefined) Object.assign(err, body.props);
  return err;
}

function safeString(read: () => unknown, fallback: string): string {
  try {
    const value = read();
    return typeof value === "string" ? value : String(value);
  } catch {
    return fallback;
  }
}

/** `value` if structured clone can carry it, else a description of it. */
function cloneable(value: unknown): unknown {
  if (value === null || (typeof value !== "object" && typeof value !== "function" && typeof value !== "symbol")) return value;
  try {
    return structuredClone(value);
  } catch {
    return `[not cloneable: ${safeString(() => String(value), typeof value)}]`;
  }
}

/** For a value the worker could not post (a thrown function, a result holding a socket…). */
export function notCloneable(what: string, value: unknown, cause: unknown): WireError {
  const err = new TypeError(
    `${what} cannot be sent between threads (${safeString(() => String(value), typeof value).slice(0, 60)}): only structured-clonable values travel; return or throw plain data`,
    { cause },
  );
  return toWire(err);
}
