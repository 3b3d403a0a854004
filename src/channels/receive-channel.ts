/**
 * The receiving handle of a channel, and its `for await` iterator.
 *
 * @module
 */
import { inspect, type InspectOptions } from "node:util";
import { EndOfChannel, countCheckpoint, currentScope, forgetLeak, rejectIfCancelled, sliceExpired, watchForLeak, yieldToEventLoop } from "../core/index.js";

/** Stands for a handle collected while open: no wait can belong to it. */
const ORPHAN = {};
import {
  NOTHING,
  closedHandle,
  endOfChannel,
  receiveWouldBlock,
  ChannelState,
  type ChannelStatistics,
} from "./channel-state.js";

let stepOf: <T>(channel: ReceiveChannel<T>) => Promise<IteratorResult<T, undefined>>;
let makeReceive: (state: ChannelState<unknown>) => ReceiveChannel<unknown>;

/**
 * The receiving end of a channel made by {@link openChannel}. Several handles may share one
 * channel ({@link ReceiveChannel.clone}); each value goes to exactly one receiver, waiting
 * receivers being served in FIFO order. `for await` over a handle yields values until every
 * send handle is closed and the buffer is drained. `using` closes it at the end of a block.
 *
 * Once every receive handle is closed, senders get {@link BrokenResourceError}: close your
 * handle when a consumer stops (in `finally`, or with `using`), so that producers do not wait
 * for a consumer that is gone.
 *
 * @typeParam T - The type of the values received.
 * @example
 * ```ts
 * import { openChannel, withTaskGroup } from "trellis";
 * const [send, receive] = openChannel<number>();
 * await withTaskGroup(async (tg) => {
 *   tg.spawn(async () => { using rx = receive; for await (const n of rx) console.log(n); });
 *   using tx = send;
 *   for (let i = 0; i < 3; i++) await tx.send(i);
 * });
 * ```
 */
export class ReceiveChannel<T> implements Disposable, AsyncIterable<T> {
  /** The channel's shared state (the engine; this handle is a facade over it). */
  readonly #state: ChannelState<T>;
  private closed = false;

  // Handles come from openChannel() and clone(); `new ReceiveChannel(…)` in plain JS throws a TypeError saying so.
  private constructor(state: ChannelState<T>) {
    if (!(state instanceof ChannelState)) {
      throw new TypeError(`ReceiveChannel cannot be constructed directly; use openChannel() (or clone() of a handle you have)`);
    }
    this.#state = state;
    state.openReceiveChannels++;
    if (state.debugRuntime !== undefined) {
      watchForLeak(state.debugRuntime, this, "receive handle", `of ${state.describe()}`, () => state.closeReceive(ORPHAN));
    }
  }

  /**
   * Receives the next value, waiting until one is sent. A checkpoint: raises `Cancelled` if
   * the caller is cancelled, and yields at least once. A receive cancelled while waiting takes
   * nothing (the next value goes to the next receiver); a receive that was handed a value
   * before the cancellation arrived returns it.
   *
   * @returns The next value.
   * @throws {EndOfChannel} If every send handle is closed and nothing is buffered: the normal
   *   end of the stream (`for await` turns it into the end of the loop).
   * @throws {ClosedResourceError} If this handle is closed, or is closed while the call waits.
   * @throws {Cancelled} If the calling context is cancelled before a value arrives.
   * @example
   * ```ts
   * import { openChannel, moveOnAfter } from "trellis";
   * const [send, receive] = openChannel<string>();
   * const reply = await moveOnAfter(1_000, () => receive.receive());
   * if (reply === undefined) console.log("no reply within 1 s");
   * ```
   */
  receive(): Promise<T> {
    // Not an `async` function, for the same reason as `SendChannel.send`.
    const scope = currentScope();
    const cancelled = rejectIfCancelled(scope);
    if (cancelled !== undefined) return cancelled;
    let value: T | typeof NOTHING;
    try {
      value = this.take("ReceiveChannel.receive()");
    } catch (err) {
      return Promise.reject(err);
    }
    if (value !== NOTHING) {
      countCheckpoint(scope); // the cancel check above and settledSoon's schedule point
      return settledSoon(value);
    }
    const waiters = this.#state.receiveWaiters;
    return waiters.park<T>(waiters, this, scope);
  }

  /** One step of `for await`: `receive()`, with the end of the stream as `done`. */
  #step(): Promise<IteratorResult<T, undefined>> {
    const scope = currentScope();
    const cancelled = rejectIfCancelled(scope);
    if (cancelled !== undefined) return cancelled;
    if (this.closed) return Promise.reject(closedHandle("for await (… of ReceiveChannel)", "receive"));
    const state = this.#state;
    const value = state.take();
    if (value !== NOTHING || state.hasEnded()) {
      countCheckpoint(scope); // the cancel check above and settledSoon's schedule point
      return settledSoon<IteratorResult<T, undefined>>(value !== NOTHING ? { done: false, value } : DONE);
    }
    const waiters = state.receiveWaiters;
    return waiters.park<T>(waiters, this, scope).then(toStep, endToDone);
  }

  /**
   * Receives a value if one is ready (buffered, or offered by a waiting sender); otherwise
   * throws {@link WouldBlock} and takes nothing. Never yields. A value sent while receivers
   * wait goes to the first of them, so `tryReceive` never overtakes a waiting `receive`.
   *
   * @returns The next value.
   * @throws {WouldBlock} If no value is ready.
   * @throws {EndOfChannel} If every send handle is closed and nothing is buffered.
   * @throws {ClosedResourceError} If this handle is closed.
   * @example
   * ```ts
   * import { openChannel, WouldBlock } from "trellis";
   * const [send, receive] = openChannel<number>(16);
   * send.trySend(1);
   * const batch: number[] = [];
   * try { for (;;) batch.push(receive.tryReceive()); } catch (err) { if (!(err instanceof WouldBlock)) throw err; }
   * ```
   */
  tryReceive(): T {
    const value = this.take("ReceiveChannel.tryReceive()");
    if (value === NOTHING) throw receiveWouldBlock();
    return value;
  }

  /** The non-blocking attempt shared by `receive`, `tryReceive` and the iterator. */
  private take(where: string): T | typeof NOTHING {
    if (this.closed) throw closedHandle(where, "receive");
    const state = this.#state;
    const value = state.take();
    if (value === NOTHING && state.hasEnded()) throw endOfChannel(where);
    return value;
  }

  /**
   * Returns a new receive handle on the same channel. Values are shared out, not copied: each
   * goes to one receiver (this is a work queue, not a broadcast). Give each consumer its own
   * clone and let it close that clone when it stops (fan-out): senders get
   * {@link BrokenResourceError} only once every receive handle is closed. Never yields.
   *
   * @returns A new, open receive handle.
   * @throws {ClosedResourceError} If this handle is closed.
   * @example
   * ```ts
   * import { openChannel, withTaskGroup } from "trellis";
   * const [send, receive] = openChannel<string>();
   * await withTaskGroup(async (tg) => {
   *   for (let w = 0; w < 4; w++) {
   *     const rx = receive.clone();
   *     tg.spawn(async () => { using _ = rx; for await (const job of rx) console.log(w, job); });
   *   }
   *   receive.close();
   *   using tx = send;
   *   for (const job of ["a", "b", "c"]) await tx.send(job);
   * });
   * ```
   */
  clone(): ReceiveChannel<T> {
    if (this.closed) throw closedHandle("ReceiveChannel.clone()", "receive");
    return new ReceiveChannel(this.#state);
  }

  /**
   * Closes this handle. Idempotent, synchronous, never yields, and works inside a cancelled
   * scope. Receives waiting on this handle fail with {@link ClosedResourceError}. When it is
   * the last open receive handle, waiting and later sends fail with
   * {@link BrokenResourceError}, and values still buffered are dropped (no one can receive
   * them any more). Other handles are not affected.
   *
   * @example
   * ```ts
   * import { openChannel } from "trellis";
   * const [send, receive] = openChannel<number>(1);
   * receive.close();
   * try { send.trySend(1); } catch (err) { console.log((err as Error).name); } // BrokenResourceError
   * ```
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.#state.debugRuntime !== undefined) forgetLeak(this);
    this.#state.closeReceive(this);
  }

  /**
   * Same as {@link ReceiveChannel.close}, so that `using rx = receive.clone()` closes the clone
   * at the end of the block, however the block ends.
   *
   * @example
   * ```ts
   * import { openChannel } from "trellis";
   * const [, receive] = openChannel<string>();
   * { using rx = receive.clone(); } // rx is closed here
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Iterates the values with `for await`: each step is a `receive()` (a checkpoint), and the
   * loop ends cleanly when every send handle is closed and the buffer is drained. Leaving the
   * loop early (`break`, `return`, an error) does **not** close the handle, as in Trio: close
   * it yourself (`using`), or keep receiving from it later.
   *
   * @returns An async iterator over the values received.
   * @throws {ClosedResourceError} From a step, if this handle is closed.
   * @throws {Cancelled} From a step, if the calling context is cancelled.
   * @example
   * ```ts
   * import { openChannel } from "trellis";
   * const [send, receive] = openChannel<number>(3);
   * for (const n of [1, 2, 3]) send.trySend(n);
   * send.close();
   * for await (const n of receive) console.log(n); // 1 2 3
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return new ChannelIterator(this);
  }

  /**
   * A snapshot of the channel (shared by all its handles): buffer use, capacity, open handles
   * on each side, waiting calls on each side. A fresh object on every call; never yields.
   *
   * @example
   * ```ts
   * import { openChannel } from "trellis";
   * const [, receive] = openChannel<number>();
   * console.log(receive.statistics().tasksWaitingReceive); // 0
   * ```
   */
  statistics(): ChannelStatistics {
    return this.#state.statistics();
  }

  static {
    makeReceive = (state) => new ReceiveChannel(state);
    stepOf = (channel) => channel.#step();
    // `util.inspect` shows whether this handle is open and the channel's live state.
    Object.defineProperty(ReceiveChannel.prototype, inspect.custom, {
      value(this: ReceiveChannel<unknown>, depth: number, options: InspectOptions): string {
        return this.#state.inspect("ReceiveChannel", this.closed, depth, options);
      },
      writable: true,
      configurable: true,
    });
  }
}

/** @internal One step of `for await` over `channel` (its `#step`), for handles built on it. */
export function receiveStep<T>(channel: ReceiveChannel<T>): Promise<IteratorResult<T, undefined>> {
  return stepOf(channel);
}

/** @internal A new handle on `state` (openChannel's; user code cannot call the constructor). */
export function openReceiveChannel<T>(state: ChannelState<T>): ReceiveChannel<T> {
  return makeReceive(state) as ReceiveChannel<T>;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A promise of `value` that the caller's `await` makes a schedule point: settled at once on
 * the common path (one microtask turn), or after a turn of the event loop once the current
 * slice of work has run long enough (see the core's scheduler).
 */
function settledSoon<V>(value: V): Promise<V> {
  return sliceExpired() ? yieldToEventLoop().then(() => value) : Promise.resolve(value);
}

function toStep<T>(value: T): IteratorResult<T, undefined> {
  return { done: false, value };
}

function endToDone(err: unknown): IteratorResult<never, undefined> {
  if (err instanceof EndOfChannel) return DONE;
  throw err;
}

/** What `for await` drives; `return` is left out on purpose: leaving the loop closes nothing. */
class ChannelIterator<T> implements AsyncIterableIterator<T> {
  constructor(private readonly channel: ReceiveChannel<T>) {}

  next(): Promise<IteratorResult<T, undefined>> {
    return stepOf(this.channel);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
