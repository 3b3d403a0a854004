/**
 * Every error class trellis throws, in one place (as undici keeps its errors), each with a
 * fixed `name`, a docstring saying when you get it, and `cause` passed through.
 *
 * @module
 */
import { show } from "./validate.js";

/** Where a cancellation came from; carried by {@link Cancelled.source}. */
export type CancelSource = "explicit" | "deadline" | "abort" | "sibling" | "signal";

const internal = Symbol("trellis.internal");

/** The private constructor of Cancelled, for makeCancelled. */
let construct: (reason: unknown, source: CancelSource, message: string) => Cancelled;

/**
 * Raised at checkpoints inside a cancelled scope. Level-triggered: while the scope stays
 * cancelled, **every** checkpoint inside it raises `Cancelled` again, also in `finally` blocks
 * and after a caught `Cancelled`, until control leaves the scope, which then absorbs it.
 *
 * Do not swallow it: rethrow it, or let it propagate. Test for it with {@link isCancelled}.
 * Its constructor is internal; user code never makes one.
 *
 * @example
 * ```ts
 * import { isCancelled } from "trellis";
 * try { await work(); } catch (err) { if (!isCancelled(err)) log(err); throw err; }
 * ```
 */
export class Cancelled extends Error {
  /** The reason given to the first `cancel()` of the scope that was cancelled. */
  readonly reason: unknown;
  /** What cancelled it: an explicit `cancel()`, a deadline, an AbortSignal, a failing sibling, an OS signal. */
  readonly source: CancelSource;

  // Trio gives Cancelled no public constructor either: cancel a scope instead. Private, so the
  // published type shows none; makeCancelled (below) is the one maker.
  private constructor(token: symbol, reason: unknown, source: CancelSource, message: string) {
    if (token !== internal) {
      throw new TypeError(
        "Cancelled cannot be constructed by user code; cancel a scope instead (scope.cancel(), tg.cancel(), task.cancel())",
      );
    }
    super(message);
    this.reason = reason;
    this.source = source;
  }

  static {
    construct = (reason, source, message) => new Cancelled(internal, reason, source, message);
  }
}
Object.defineProperty(Cancelled.prototype, "name", { value: "Cancelled" });

const escaped = new WeakSet<Cancelled>();

/**
 * @internal Marks a `Cancelled` that escaped a task or a group body whose own scopes were not
 * cancelled (another task's, passed on by `await t.result()`): from then on it is a failure
 * like any other, which no cancelled scope absorbs on its way out.
 */
export function markEscapedCancelled(err: unknown): void {
  if (err instanceof Cancelled) escaped.add(err);
}

/** @internal True for a `Cancelled` marked by {@link markEscapedCancelled}. */
export function isEscapedCancelled(err: Cancelled): boolean {
  return escaped.has(err);
}

/** @internal Makes a `Cancelled`; `withStack: false` skips the stack capture for bulk wake-ups. */
export function makeCancelled(reason: unknown, source: CancelSource, scopeName: string | undefined, withStack = true): Cancelled {
  const where = scopeName === undefined ? "" : ` (scope "${scopeName}")`;
  const why = reason === undefined ? "" : `: ${describeReason(reason)}`;
  const message = `cancelled by ${source}${where}${why}`;
  if (withStack) return construct(reason, source, message);
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return construct(reason, source, message);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function describeReason(reason: unknown): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  return typeof reason === "string" ? reason : String(reason);
}

/**
 * True for trellis cancellation errors. Use it in `catch` blocks that must let cancellation
 * through.
 *
 * @example
 * ```ts
 * import { isCancelled } from "trellis";
 * try { await step(); } catch (err) { if (isCancelled(err)) throw err; report(err); }
 * ```
 */
export function isCancelled(err: unknown): err is Cancelled {
  return err instanceof Cancelled;
}

/** Base of trellis's own errors that are not cancellation. */
class TrellisError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown by `failAfter`/`failAt` when the deadline passes before the body finishes.
 *
 * @example
 * ```ts
 * import { failAfter, TimeoutError } from "trellis";
 * try { await failAfter(1_000, () => connect()); } catch (err) { if (err instanceof TimeoutError) retryLater(); else throw err; }
 * ```
 */
export class TimeoutError extends TrellisError {}
Object.defineProperty(TimeoutError.prototype, "name", { value: "TimeoutError" });

/**
 * You used a resource that *you* closed (a channel handle after `close()`, a finished task
 * group). Compare {@link BrokenResourceError}: the *other* side went away.
 *
 * @example
 * ```ts
 * import { openChannel, ClosedResourceError } from "trellis";
 * const [send] = openChannel();
 * send.close();
 * await send.send(1).catch((err) => console.log(err instanceof ClosedResourceError)); // true
 * ```
 */
export class ClosedResourceError extends TrellisError {}
Object.defineProperty(ClosedResourceError.prototype, "name", { value: "ClosedResourceError" });

/**
 * The resource was broken by someone else: every receiver of a channel is closed, a lock's
 * owner task ended while holding it, a peer reset a connection. `cause` says why when known.
 *
 * @example
 * ```ts
 * import { openChannel, BrokenResourceError } from "trellis";
 * const [send, receive] = openChannel();
 * receive.close();
 * await send.send(1).catch((err) => console.log(err instanceof BrokenResourceError)); // true: nobody can receive
 * ```
 */
export class BrokenResourceError extends TrellisError {}
Object.defineProperty(BrokenResourceError.prototype, "name", { value: "BrokenResourceError" });

/**
 * Two tasks tried to use a resource that allows one user at a time (e.g. two concurrent
 * receives on a stream).
 *
 * @example
 * ```ts
 * import { BusyResourceError } from "trellis";
 * try { await stream.receive(); } catch (err) { if (err instanceof BusyResourceError) console.error("two readers on one stream"); throw err; }
 * ```
 */
export class BusyResourceError extends TrellisError {}
Object.defineProperty(BusyResourceError.prototype, "name", { value: "BusyResourceError" });

/**
 * `receive()` on a channel whose senders are all closed and whose buffer is empty: the normal
 * end of a stream of values (`for await` turns it into the end of the loop).
 *
 * @example
 * ```ts
 * import { EndOfChannel } from "trellis";
 * for (;;) {
 *   try { handle(await receive.receive()); } catch (err) { if (err instanceof EndOfChannel) break; throw err; }
 * }
 * ```
 */
export class EndOfChannel extends TrellisError {}
Object.defineProperty(EndOfChannel.prototype, "name", { value: "EndOfChannel" });

/**
 * Thrown by every `try…` method (`tryAcquire`, `trySend`, `tryReceive`) when the operation
 * would have to wait.
 *
 * @example
 * ```ts
 * import { Lock, WouldBlock } from "trellis";
 * const lock = new Lock();
 * try { lock.tryAcquire(); } catch (err) { if (err instanceof WouldBlock) console.log("busy, skipping"); else throw err; }
 * ```
 */
export class WouldBlock extends TrellisError {}
Object.defineProperty(WouldBlock.prototype, "name", { value: "WouldBlock" });

/**
 * Misuse of an API in a way that the types could not rule out (calling `started()` twice, a task
 * started with `tg.start` that returned without calling `started`). The message says what to do.
 *
 * @example
 * ```ts
 * import { Lock, RuntimeError } from "trellis";
 * try { new Lock().release(); } catch (err) { console.log(err instanceof RuntimeError); } // true: not held
 * ```
 */
export class RuntimeError extends TrellisError {}
Object.defineProperty(RuntimeError.prototype, "name", { value: "RuntimeError" });

/**
 * Thrown by a task group opened with `errors: "aggregate"` when any of its tasks failed; holds
 * every error in `errors`, in the order they happened. `Cancelled` is never among them. A group
 * in `errors: "first"` mode throws one too when its first error is not an object (`throw 42`,
 * `throw undefined`) and later errors followed: a primitive cannot carry them (see
 * {@link suppressedErrors}), so all of them are kept here instead.
 *
 * User code may construct one (to test its error handling, say): `errors` must be an array
 * (or other iterable) and `message` a string when given.
 *
 * @example
 * ```ts
 * import { withTaskGroup, TaskGroupError } from "trellis";
 * try {
 *   await withTaskGroup(async (tg) => { tg.spawn(a); tg.spawn(b); }, { errors: "aggregate" });
 * } catch (err) { if (err instanceof TaskGroupError) for (const e of err.errors) log(e); }
 * ```
 */
export class TaskGroupError extends AggregateError {
  constructor(errors: Iterable<unknown>, message?: string) {
    if (errors === null || typeof errors !== "object" || typeof errors[Symbol.iterator] !== "function") {
      throw new TypeError(`new TaskGroupError(): \`errors\` must be an array of errors, got ${show(errors)}`);
    }
    if (message !== undefined && typeof message !== "string") {
      throw new TypeError(`new TaskGroupError(): \`message\` must be a string, got ${show(message)}`);
    }
    super(errors, message);
  }
}
Object.defineProperty(TaskGroupError.prototype, "name", { value: "TaskGroupError" });

const suppressed = new WeakMap<object, unknown[]>();

/**
 * The later errors of a task group that threw `err` in `errors: "first"` mode: they are not
 * lost, and `run()` prints them. Empty when there were none.
 *
 * @example
 * ```ts
 * import { suppressedErrors, withTaskGroup } from "trellis";
 * try { await withTaskGroup(body); } catch (err) { for (const e of suppressedErrors(err)) log(e); throw err; }
 * ```
 */
export function suppressedErrors(err: unknown): readonly unknown[] {
  if (!canCarry(err)) return [];
  return suppressed.get(err) ?? [];
}

/** True for values a WeakMap can key: objects and functions (never primitives). */
function canCarry(err: unknown): err is object {
  return (typeof err === "object" && err !== null) || typeof err === "function";
}

/** @internal */
export function addSuppressed(err: unknown, more: readonly unknown[]): void {
  if (!canCarry(err) || more.length === 0) return;
  const list = suppressed.get(err);
  if (list === undefined) suppressed.set(err, [...more]);
  else list.push(...more);
}

/**
 * @internal The one error that stands for `errors` (at least one) in "first" mode: the first,
 * with the others kept in {@link suppressedErrors}; or, when the first is a primitive that
 * cannot carry them (`throw 42`, `throw undefined`), a `TaskGroupError` holding all of them.
 */
export function firstWithSuppressed(errors: readonly unknown[], label: string): unknown {
  const first = errors[0];
  if (errors.length === 1) return first;
  if (canCarry(first)) {
    addSuppressed(first, errors.slice(1));
    return first;
  }
  return new TaskGroupError(
    errors,
    `${label} failed with ${errors.length} errors; the first (${show(first)}) is not an object and cannot carry the others, so all of them are in \`errors\``,
  );
}
