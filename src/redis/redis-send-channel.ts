/**
 * The sending handle of a Redis channel: XADD to the stream.
 *
 * @module
 */
import { ClosedResourceError, WouldBlock, currentScope, show } from "../core/index.js";
import type { AckChannelStatistics } from "../channels/index.js";
import { sendAndWait } from "./xadd-wait.js";
import type { RedisChannelShared } from "./redis-channel-shared.js";

let make: (shared: RedisChannelShared<unknown>) => RedisSendChannel<unknown>;

/**
 * The sending end of a channel made by `openRedisChannel`: each `send` appends the value to the
 * Redis Stream (XADD), where every consumer of the group, in any process, may receive it.
 *
 * Closing: a send handle is local to this process. Closing it (or all of them) only stops this
 * process from sending; the stream has no end that receivers could see, since other processes
 * may still send. Closing every receive handle does not break senders either: the stream
 * outlives its consumers, and values wait in it for the next one.
 *
 * @typeParam T - The type of the values sent.
 * @example
 * ```ts
 * import { createClient } from "redis";
 * import { openRedisChannel } from "trellis/redis";
 * const client = await createClient().connect();
 * const [send, receive] = openRedisChannel<{ photo: number }>(client, "jobs", { group: "resizers", consumer: "web-1" });
 * receive.close(); // this process only produces
 * await send.send({ photo: 17 });
 * ```
 */
export class RedisSendChannel<T> implements Disposable {
  #shared: RedisChannelShared<T>;
  #closed = false;

  // Handles come from openRedisChannel() and clone() (private: the published type shows none).
  private constructor(shared: RedisChannelShared<T>) {
    this.#shared = shared;
    shared.openSendHandles++;
  }

  /**
   * Appends `value` to the stream (XADD) and returns once Redis has stored it. A checkpoint.
   * Never waits for room: Redis Streams have no capacity (see the `maxLen` option).
   * Cancelled while the XADD travels, the send raises `Cancelled`, and the value may or may
   * not have been added (a network round trip cannot be taken back).
   *
   * @param value - The value; serialized with the channel's `serialize` (JSON by default).
   * @throws {TypeError} If `value` cannot be serialized (JSON: `undefined`, a function, a
   *   BigInt, a cycle).
   * @throws {ClosedResourceError} If this handle is closed.
   * @throws {BrokenResourceError} If Redis failed or is unreachable (the cause is attached).
   * @throws {Cancelled} If the calling context is cancelled.
   * @example
   * ```ts
   * import { createClient } from "redis";
   * import { openRedisChannel } from "trellis/redis";
   * const [send] = openRedisChannel<string>(await createClient().connect(), "mail", { group: "g", consumer: "c" });
   * await send.send("welcome@example.com");
   * ```
   */
  send(value: T): Promise<void> {
    const scope = currentScope();
    if (scope !== undefined && scope.cause !== null) return scope.rejectCancelled();
    if (this.#closed) return Promise.reject(closedSender("RedisSendChannel.send()"));
    const shared = this.#shared;
    let text: string;
    try {
      text = serializeOrThrow(shared.serialize, value);
    } catch (err) {
      return Promise.reject(err);
    }
    const settings = shared.receiver.settings;
    const args = shared.maxLen === undefined ? ["XADD", settings.key, "*", "v", text] : ["XADD", settings.key, "MAXLEN", "~", String(shared.maxLen), "*", "v", text];
    return sendAndWait(settings.client, args, scope, shared.sendLabel, settings.key, shared as RedisChannelShared<unknown>);
  }

  /**
   * Always throws {@link WouldBlock} (or the handle's error): adding to a Redis Stream needs a
   * round trip, so it can never complete without waiting. Use `send`.
   *
   * @throws {WouldBlock} Always, on an open handle.
   * @throws {ClosedResourceError} If this handle is closed.
   * @example
   * ```ts
   * import { WouldBlock } from "trellis";
   * import { createClient } from "redis";
   * import { openRedisChannel } from "trellis/redis";
   * const [send] = openRedisChannel<number>(await createClient().connect(), "k", { group: "g", consumer: "c" });
   * try { send.trySend(1); } catch (err) { console.log(err instanceof WouldBlock); } // true
   * ```
   */
  trySend(value: T): void {
    void value;
    if (this.#closed) throw closedSender("RedisSendChannel.trySend()");
    throw new WouldBlock(
      "RedisSendChannel.trySend(): adding to a Redis Stream needs a round trip to Redis, so it cannot be done without waiting; use `await send(value)`",
    );
  }

  /**
   * A new send handle on the same channel (for another producer task). Never yields.
   *
   * @throws {ClosedResourceError} If this handle is closed.
   * @example
   * ```ts
   * import { createClient } from "redis";
   * import { openRedisChannel } from "trellis/redis";
   * const [send] = openRedisChannel<number>(await createClient().connect(), "k", { group: "g", consumer: "c" });
   * const second = send.clone();
   * ```
   */
  clone(): RedisSendChannel<T> {
    if (this.#closed) throw closedSender("RedisSendChannel.clone()");
    return new RedisSendChannel(this.#shared);
  }

  /**
   * Closes this handle: idempotent, synchronous, works in a cancelled scope. Later sends on it
   * throw {@link ClosedResourceError}; a send already in flight completes. Nothing is written
   * to the stream: receivers (here or elsewhere) are not told, since other processes may
   * still send.
   *
   * @example
   * ```ts
   * import { createClient } from "redis";
   * import { openRedisChannel } from "trellis/redis";
   * const [send] = openRedisChannel<number>(await createClient().connect(), "k", { group: "g", consumer: "c" });
   * send.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#shared.openSendHandles--;
  }

  /**
   * Same as {@link RedisSendChannel.close}, for `using`.
   *
   * @example
   * ```ts
   * import { createClient } from "redis";
   * import { openRedisChannel } from "trellis/redis";
   * const [send] = openRedisChannel<number>(await createClient().connect(), "k", { group: "g", consumer: "c" });
   * { using tx = send; await tx.send(1); }
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * A snapshot of this process's side of the channel (see `RedisReceiveChannel.statistics`);
   * `tasksWaitingSend` counts sends whose XADD is in flight. Never yields.
   *
   * @example
   * ```ts
   * import { createClient } from "redis";
   * import { openRedisChannel } from "trellis/redis";
   * const [send] = openRedisChannel<number>(await createClient().connect(), "k", { group: "g", consumer: "c" });
   * console.log(send.statistics().openSendChannels); // 1
   * ```
   */
  statistics(): AckChannelStatistics {
    return this.#shared.statistics();
  }

  static {
    make = (shared) => new RedisSendChannel(shared);
  }
}

/** @internal A new handle on `shared` (the constructor is private). */
export function openRedisSendChannel<T>(shared: RedisChannelShared<T>): RedisSendChannel<T> {
  return make(shared as RedisChannelShared<unknown>) as RedisSendChannel<T>;
}

/** @internal */
export function serializeOrThrow<T>(serialize: (value: T) => string, value: T): string {
  let text: unknown;
  try {
    text = serialize(value);
  } catch (err) {
    throw new TypeError(`RedisSendChannel.send(): \`value\` could not be serialized (${String(err)}); pass a \`serialize\` option that handles it`, {
      cause: err,
    });
  }
  if (typeof text !== "string") {
    throw new TypeError(
      `RedisSendChannel.send(): \`value\` ${show(value)} serialized to ${show(text)}, not a string (JSON cannot encode it); ` +
        "send a value JSON can encode, or pass a `serialize` option",
    );
  }
  return text;
}

function closedSender(where: string): ClosedResourceError {
  return new ClosedResourceError(
    `${where}: this send handle is closed (by its close(), or at the end of its \`using\` block); use a handle that is still open, or clone() this one before closing it`,
  );
}
