/**
 * The receiving handle of a Redis channel: a facade over the shared {@link StreamReceiver}.
 *
 * @module
 */
import { WouldBlock, countCheckpoint, currentScope, currentTaskImpl, sliceExpired, yieldToEventLoop } from "../core/index.js";
import type { AckChannelStatistics, Envelope } from "../channels/index.js";
import type { RedisChannelShared } from "./redis-channel-shared.js";
import { closedReceiver, type ReceiveTicket } from "./stream-receiver.js";

let make: (shared: RedisChannelShared<unknown>) => RedisReceiveChannel<unknown>;

/**
 * The receiving end of a channel made by `openRedisChannel`: one consumer of the stream's
 * consumer group. As `AckReceiveChannel` of `openAckChannel`: each value comes in an
 * {@link Envelope} and stays pending (in the group's pending entries list, under this
 * consumer) until `envelope.ack()` (XACK). If the task that received it ends first, it goes
 * back to the front of this receiver's queue; if this whole process dies, another consumer of
 * the group claims it once it has been idle for `claimIdleMs`.
 *
 * The stream has no end: `receive()` never raises `EndOfChannel` and `for await` runs until
 * it is cancelled or the handle is closed.
 *
 * @typeParam T - The type of the values received.
 * @example
 * ```ts
 * import { createClient } from "redis";
 * import { openRedisChannel } from "trellis/redis";
 * const client = await createClient().connect();
 * const [send, receive] = openRedisChannel<{ photo: number }>(client, "jobs", { group: "resizers", consumer: `worker-${process.pid}` });
 * send.close(); // this process only consumes
 * using rx = receive;
 * for await (const job of rx) {
 *   await resize(job.value.photo); // a crash here: the job is delivered again, elsewhere if need be
 *   await job.ack();
 * }
 * ```
 */
export class RedisReceiveChannel<T> implements Disposable, AsyncDisposable, AsyncIterable<Envelope<T>> {
  #shared: RedisChannelShared<T>;
  #closed = false;
  /** What its waiting receives and `for await` steps leave in the receiver's queue. */
  #ticket: ReceiveTicket = { handle: this, asStep: false };
  #stepTicket: ReceiveTicket = { handle: this, asStep: true };

  // Handles come from openRedisChannel() and clone() (private: the published type shows none).
  private constructor(shared: RedisChannelShared<T>) {
    this.#shared = shared;
    shared.receiver.openHandles++;
  }

  /**
   * Receives the next value: one read before (buffered), handed back by a task of this
   * process, abandoned by a dead consumer (claimed after `claimIdleMs`), or new. A checkpoint;
   * a receive cancelled while it waits returns at once and takes nothing (a blocking read in
   * progress is cut short with CLIENT UNBLOCK; what it had read stays for the next receive).
   *
   * @returns The value in its envelope; `deliveries` is Redis's delivery count.
   * @throws {ClosedResourceError} If this handle is closed, or is closed while the call waits.
   * @throws {BrokenResourceError} If Redis failed under the read (a restart, a lost connection,
   *   the group deleted): the cause is attached, and the channel's receive side stays broken —
   *   open a new channel once Redis is back.
   * @throws {Cancelled} If the calling context is cancelled before a value arrives.
   * @example
   * ```ts
   * import { moveOnAfter } from "trellis";
   * import { createClient } from "redis";
   * import { openRedisChannel } from "trellis/redis";
   * const [, receive] = openRedisChannel<string>(await createClient().connect(), "k", { group: "g", consumer: "c" });
   * const job = await moveOnAfter(10_000, () => receive.receive());
   * if (job !== undefined) await job.ack();
   * ```
   */
  receive(): Promise<Envelope<T>> {
    return this.#receive(false);
  }

  /** `receive()`, or one step of `for await` (`asStep`): one promise either way. */
  #receive(asStep: false): Promise<Envelope<T>>;
  #receive(asStep: true): Promise<IteratorResult<Envelope<T>, undefined>>;
  #receive(asStep: boolean): Promise<Envelope<T> | IteratorResult<Envelope<T>, undefined>> {
    const scope = currentScope();
    if (scope !== undefined && scope.cause !== null) return scope.rejectCancelled();
    if (this.#closed) return Promise.reject(closedReceiver("RedisReceiveChannel.receive()"));
    const receiver = this.#shared.receiver;
    try {
      const ready = receiver.takeBuffered();
      if (ready !== undefined) {
        const delivery = receiver.deliver(ready, this, scope?.task);
        countCheckpoint(scope); // the cancel check above and settledSoon's schedule point
        return settledSoon(asStep ? { done: false, value: delivery } : delivery);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    // The waker makes the envelope (or the step's result) and wakes us with it.
    return receiver.waitForEntry(asStep ? this.#stepTicket : this.#ticket, scope);
  }

  /**
   * Receives a value already read from Redis and buffered here, if any; otherwise throws
   * {@link WouldBlock} (it never reads from Redis, which needs a round trip). Never yields.
   *
   * @throws {WouldBlock} If nothing is buffered.
   * @throws {ClosedResourceError} If this handle is closed.
   * @throws {BrokenResourceError} If the receive side is broken.
   * @example
   * ```ts
   * import { WouldBlock } from "trellis";
   * import { createClient } from "redis";
   * import { openRedisChannel } from "trellis/redis";
   * const [, receive] = openRedisChannel<string>(await createClient().connect(), "k", { group: "g", consumer: "c" });
   * try { await receive.tryReceive().ack(); } catch (err) { if (!(err instanceof WouldBlock)) throw err; }
   * ```
   */
  tryReceive(): Envelope<T> {
    if (this.#closed) throw closedReceiver("RedisReceiveChannel.tryReceive()");
    const receiver = this.#shared.receiver;
    const ready = receiver.takeBuffered();
    if (ready === undefined) {
      throw new WouldBlock("RedisReceiveChannel.tryReceive(): nothing read from Redis is buffered here; use `await receive()` to wait for a value");
    }
    return receiver.deliver(ready, this, currentTaskImpl());
  }

  /**
   * A new receive handle of the same consumer (for another task of this process: they share
   * one blocking connection and one local queue). Never yields.
   *
   * @throws {ClosedResourceError} If this handle is closed.
   * @example
   * ```ts
   * import { createClient } from "redis";
   * import { openRedisChannel } from "trellis/redis";
   * const [, receive] = openRedisChannel<string>(await createClient().connect(), "k", { group: "g", consumer: "c" });
   * const second = receive.clone();
   * ```
   */
  clone(): RedisReceiveChannel<T> {
    if (this.#closed) throw closedReceiver("RedisReceiveChannel.clone()");
    return new RedisReceiveChannel(this.#shared);
  }

  /**
   * Closes this handle: idempotent, synchronous, works in a cancelled scope. Receives waiting
   * on it fail with {@link ClosedResourceError}. The values received through it and not yet
   * acknowledged go back to the front of this process's queue (their envelopes' `ack()` then
   * throws `RuntimeError`). When it is the last receive handle of the channel, everything this
   * consumer has read and not acknowledged is handed back to the group at once (XCLAIM with a
   * large IDLE, so another consumer's next claim takes it without waiting `claimIdleMs`; if
   * Redis cannot be reached then, the values stay pending and are claimed after `claimIdleMs`
   * as a dead consumer's would be), the blocking read is stopped and its connection closed.
   * Senders are not affected.
   *
   * @example
   * ```ts
   * import { createClient } from "redis";
   * import { openRedisChannel } from "trellis/redis";
   * const [, receive] = openRedisChannel<string>(await createClient().connect(), "k", { group: "g", consumer: "c" });
   * receive.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const receiver = this.#shared.receiver;
    if (receiver.openHandles > 1) receiver.giveBack(receiver.held((d) => d.owner === this));
    receiver.closeHandle(this);
  }

  /**
   * Same as {@link RedisReceiveChannel.close}, for `using`.
   *
   * @example
   * ```ts
   * import { createClient } from "redis";
   * import { openRedisChannel } from "trellis/redis";
   * const [, receive] = openRedisChannel<string>(await createClient().connect(), "k", { group: "g", consumer: "c" });
   * { using rx = receive; }
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Same as {@link RedisReceiveChannel.close}, for `await using`.
   *
   * @example
   * ```ts
   * import { createClient } from "redis";
   * import { openRedisChannel } from "trellis/redis";
   * const [, receive] = openRedisChannel<string>(await createClient().connect(), "k", { group: "g", consumer: "c" });
   * { await using rx = receive; }
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /**
   * Iterates the envelopes with `for await`; each step is a `receive()`. The stream has no
   * end: the loop runs until it is cancelled, broken out of, or fails.
   *
   * @example
   * ```ts
   * import { createClient } from "redis";
   * import { openRedisChannel } from "trellis/redis";
   * const [, receive] = openRedisChannel<string>(await createClient().connect(), "k", { group: "g", consumer: "c" });
   * for await (const job of receive) await job.ack();
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Envelope<T>> {
    const iterator: AsyncIterableIterator<Envelope<T>> = {
      next: () => this.#receive(true),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /**
   * A snapshot of this process's side of the channel: `currentBufferUsed` (values read from
   * Redis, not yet handed out), `maxBufferSize` (the `prefetch` option), open handles here,
   * waiting calls, and `inFlight` (handed out, not yet acknowledged). Never yields.
   *
   * @example
   * ```ts
   * import { createClient } from "redis";
   * import { openRedisChannel } from "trellis/redis";
   * const [, receive] = openRedisChannel<string>(await createClient().connect(), "k", { group: "g", consumer: "c" });
   * console.log(receive.statistics().inFlight); // 0
   * ```
   */
  statistics(): AckChannelStatistics {
    return this.#shared.statistics();
  }

  static {
    make = (shared) => new RedisReceiveChannel(shared);
  }
}

/** @internal A new handle on `shared` (the constructor is private). */
export function openRedisReceiveChannel<T>(shared: RedisChannelShared<T>): RedisReceiveChannel<T> {
  return make(shared as RedisChannelShared<unknown>) as RedisReceiveChannel<T>;
}

/** A value now, through a schedule point: one promise, no closure, unless the slice is spent. */
function settledSoon<V>(value: V): Promise<V> {
  return sliceExpired() ? yieldToEventLoop().then(() => value) : Promise.resolve(value);
}
