/**
 * The sending handle of a channel.
 *
 * @module
 */
import { inspect, type InspectOptions } from "node:util";
import { completeCheckpoint, currentScope, forgetLeak, rejectIfCancelled, watchForLeak } from "../core/index.js";

/** Stands for a handle collected while open: no wait can belong to it. */
const ORPHAN = {};
import {
  SendWait,
  brokenChannel,
  closedHandle,
  sendWouldBlock,
  ChannelState,
  type ChannelStatistics,
} from "./channel-state.js";

let makeSend: (state: ChannelState<unknown>) => SendChannel<unknown>;

/**
 * The sending end of a channel made by {@link openChannel}. Several handles may share one
 * channel ({@link SendChannel.clone}); each is closed on its own, and receivers see the end of
 * the stream ({@link EndOfChannel}, or the end of a `for await` loop) once every send handle is
 * closed and the buffer is drained. `using` closes it at the end of a block.
 *
 * Closed vs broken: {@link ClosedResourceError} means *this* handle was closed (your mistake);
 * {@link BrokenResourceError} means every receive handle is closed (the other side went away).
 *
 * @typeParam T - The type of the values sent.
 * @example
 * ```ts
 * import { openChannel, withTaskGroup } from "trellis";
 * const [send, receive] = openChannel<string>();
 * await withTaskGroup(async (tg) => {
 *   tg.spawn(async () => {
 *     using tx = send; // closed when the producer ends, however it ends
 *     for (const word of ["a", "b", "c"]) await tx.send(word);
 *   });
 *   for await (const word of receive) console.log(word);
 * });
 * ```
 */
export class SendChannel<T> implements Disposable {
  /** The channel's shared state (the engine; this handle is a facade over it). */
  readonly #state: ChannelState<T>;
  private closed = false;

  // Handles come from openChannel() and clone(); `new SendChannel(…)` in plain JS throws a TypeError saying so.
  private constructor(state: ChannelState<T>) {
    if (!(state instanceof ChannelState)) {
      throw new TypeError(`SendChannel cannot be constructed directly; use openChannel() (or clone() of a handle you have)`);
    }
    this.#state = state;
    state.openSendChannels++;
    if (state.debugRuntime !== undefined) {
      watchForLeak(state.debugRuntime, this, "send handle", `of ${state.describe()}`, () => state.closeSend(ORPHAN));
    }
  }

  /**
   * Sends `value`, waiting until a receiver has taken it (capacity 0) or there is room in the
   * buffer. A checkpoint: raises `Cancelled` if the caller is cancelled, and yields at least
   * once. A send that is cancelled while waiting leaves the channel as it was (the value is not
   * sent); a send whose value was taken before the cancellation arrived returns normally.
   * Waiting senders are served in FIFO order.
   *
   * @param value - The value to send; any value, `undefined` included.
   * @throws {ClosedResourceError} If this handle is closed, or is closed while the send waits.
   * @throws {BrokenResourceError} If every receive handle is closed, also while the send waits
   *   (the value is then not delivered).
   * @throws {Cancelled} If the calling context is cancelled before the value is taken.
   * @example
   * ```ts
   * import { openChannel } from "trellis";
   * const [send, receive] = openChannel<number>(10);
   * await send.send(1); // returns at once: there is room in the buffer
   * ```
   */
  send(value: T): Promise<void> {
    // Not an `async` function: on the common path (room, or a receiver waiting) it returns a
    // settled promise and allocates nothing, and errors still arrive as rejections.
    const scope = currentScope();
    const cancelled = rejectIfCancelled(scope);
    if (cancelled !== undefined) return cancelled;
    try {
      if (this.offer("SendChannel.send()", value)) return completeCheckpoint(scope);
    } catch (err) {
      return Promise.reject(err);
    }
    const waiters = this.#state.sendWaiters;
    return waiters.park<void>(waiters, new SendWait(value, this), scope);
  }

  /**
   * Sends `value` if that needs no waiting (a receiver is waiting, or the buffer has room);
   * otherwise throws {@link WouldBlock} and sends nothing. Never yields. A slot freed while a
   * sender waits goes to that sender, so `trySend` never overtakes a waiting `send`.
   *
   * @param value - The value to send.
   * @throws {WouldBlock} If the value could not be sent without waiting.
   * @throws {ClosedResourceError} If this handle is closed.
   * @throws {BrokenResourceError} If every receive handle is closed.
   * @example
   * ```ts
   * import { openChannel, WouldBlock } from "trellis";
   * const [send] = openChannel<string>(100);
   * let dropped = 0;
   * try { send.trySend("metric"); } catch (err) { if (err instanceof WouldBlock) dropped++; else throw err; }
   * ```
   */
  trySend(value: T): void {
    if (!this.offer("SendChannel.trySend()", value)) throw sendWouldBlock(this.#state.capacity);
  }

  /** The non-blocking attempt shared by `send` and `trySend`. */
  private offer(where: string, value: T): boolean {
    if (this.closed) throw closedHandle(where, "send");
    const state = this.#state;
    if (state.openReceiveChannels === 0) throw brokenChannel(where);
    return state.offer(value);
  }

  /**
   * Returns a new send handle on the same channel. Receivers see the end of the stream only
   * once every handle (this one, its clones, theirs) is closed: give each producer its own
   * clone and let it close that clone when it finishes (fan-in). Never yields.
   *
   * @returns A new, open send handle.
   * @throws {ClosedResourceError} If this handle is closed.
   * @example
   * ```ts
   * import { openChannel, withTaskGroup } from "trellis";
   * const [send, receive] = openChannel<number>();
   * await withTaskGroup(async (tg) => {
   *   for (const id of [1, 2, 3]) {
   *     const tx = send.clone();
   *     tg.spawn(async () => { using _ = tx; await tx.send(id); });
   *   }
   *   send.close(); // only the clones remain: the loop below ends when they are all closed
   *   for await (const id of receive) console.log(id);
   * });
   * ```
   */
  clone(): SendChannel<T> {
    if (this.closed) throw closedHandle("SendChannel.clone()", "send");
    return new SendChannel(this.#state);
  }

  /**
   * Closes this handle. Idempotent, synchronous, never yields, and works inside a cancelled
   * scope. Sends waiting on this handle fail with {@link ClosedResourceError}; when it is the
   * last open send handle, receivers get {@link EndOfChannel} once the buffer is drained (values
   * already buffered are still delivered). Other handles are not affected.
   *
   * @example
   * ```ts
   * import { openChannel } from "trellis";
   * const [send, receive] = openChannel<number>(2);
   * await send.send(1);
   * send.close();
   * for await (const n of receive) console.log(n); // 1, then the loop ends
   * ```
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.#state.debugRuntime !== undefined) forgetLeak(this);
    this.#state.closeSend(this);
  }

  /**
   * Same as {@link SendChannel.close}, so that `using tx = send.clone()` closes the clone at
   * the end of the block.
   *
   * @example
   * ```ts
   * import { openChannel } from "trellis";
   * const [send] = openChannel<string>(1);
   * { using tx = send.clone(); tx.trySend("hello"); } // tx is closed here
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * A snapshot of the channel (shared by all its handles): buffer use, capacity, open handles
   * on each side, waiting calls on each side. A fresh object on every call; never yields.
   *
   * @example
   * ```ts
   * import { openChannel } from "trellis";
   * const [send] = openChannel<number>(8);
   * send.trySend(1);
   * console.log(send.statistics().currentBufferUsed); // 1
   * ```
   */
  statistics(): ChannelStatistics {
    return this.#state.statistics();
  }

  static {
    makeSend = (state) => new SendChannel(state);
    // `util.inspect` shows whether this handle is open and the channel's live state.
    Object.defineProperty(SendChannel.prototype, inspect.custom, {
      value(this: SendChannel<unknown>, depth: number, options: InspectOptions): string {
        return this.#state.inspect("SendChannel", this.closed, depth, options);
      },
      writable: true,
      configurable: true,
    });
  }
}

/** @internal A new handle on `state` (openChannel's; user code cannot call the constructor). */
export function openSendChannel<T>(state: ChannelState<T>): SendChannel<T> {
  return makeSend(state) as SendChannel<T>;
}
