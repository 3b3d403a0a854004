/**
 * `openRedisChannel`: an acknowledged channel whose buffer is a Redis Stream with a consumer
 * group, for work shared by many processes and machines.
 *
 * @module
 */
import { requireOptions, show } from "../core/index.js";
import { RedisChannelShared } from "./redis-channel-shared.js";
import type { RedisClientLike } from "./redis-client.js";
import { openRedisReceiveChannel, type RedisReceiveChannel } from "./redis-receive-channel.js";
import { openRedisSendChannel, type RedisSendChannel } from "./redis-send-channel.js";
import { StreamReceiver, type InvalidEntry } from "./stream-receiver.js";

/**
 * Options of {@link openRedisChannel}. `null` and `undefined` mean "use the default", as absent.
 *
 * @typeParam T - The type of the values.
 * @example
 * ```ts
 * import type { RedisChannelOptions } from "trellis/redis";
 * const options: RedisChannelOptions<{ id: number }> = { group: "billing", consumer: "host-a", claimIdleMs: 60_000 };
 * ```
 */
export interface RedisChannelOptions<T> {
  /** The consumer group: every process that shares the work uses the same name. Required. */
  readonly group: string;
  /** This consumer's name in the group, unique per process (e.g. host and pid). Required. */
  readonly consumer: string;
  /**
   * Trim the stream to about this many entries at each send (XADD `MAXLEN ~`). Trimming drops
   * the oldest entries **whether or not they were delivered or acknowledged**: set it well above
   * any backlog you expect, or leave it out (the default: no trimming; acknowledged entries
   * then stay in the stream until you trim it yourself).
   */
  readonly maxLen?: number | null | undefined;
  /** A value pending this long (ms) under any consumer is taken over by the next receiver that looks. Default 30 000. */
  readonly claimIdleMs?: number | null | undefined;
  /** How long (ms) one blocking read waits before looking for abandoned values again. Default 5 000. */
  readonly blockMs?: number | null | undefined;
  /**
   * How many values this consumer keeps at hand, read and not yet acknowledged (AMQP's
   * prefetch count). Default 1: read on demand only, as many as there are receives waiting.
   * Above 1, the next values are read while the current ones are worked on and acknowledged,
   * once half of `prefetch` is free (throughput: use about the number of worker tasks, or
   * twice it). Values read ahead are
   * pending under this consumer while they wait here; one that waits half of `claimIdleMs`
   * is not handed out any more (another consumer may be claiming it) and comes back through
   * a claim once idle for `claimIdleMs`.
   */
  readonly prefetch?: number | null | undefined;
  /** Turns a value into the string stored in the entry's `v` field. Default `JSON.stringify`. */
  readonly serialize?: ((value: T) => string) | null | undefined;
  /** Turns an entry's `v` field back into a value. Default `JSON.parse`. */
  readonly deserialize?: ((text: string) => T) | null | undefined;
  /** Where entries that cannot be deserialized are copied before being acknowledged. Default `${key}:dead`. */
  readonly deadLetterKey?: string | null | undefined;
  /** Told of each entry moved aside. Default: a warning on stderr. */
  readonly onInvalid?: ((entry: InvalidEntry) => void) | null | undefined;
}

/**
 * Opens a channel whose buffer is a Redis Stream, shared by every process that opens it with
 * the same `key` and `group`: → `[send, receive]`. Never yields (the consumer group is made, if
 * missing, at the first receive: from id 0 and with MKSTREAM, so values sent before any
 * receiver existed are delivered too).
 *
 * The interface is {@link openAckChannel}'s: `receive()` returns an {@link Envelope}
 * `{ value, id, deliveries, ack() }`, and a value is done only once acknowledged (XACK). A
 * value received by a task that ends before `ack()` goes back to the front of this process's
 * queue; a value held by a process that dies (a crash, SIGKILL, a lost machine) is pending in
 * the group under that consumer, and the first receiver of another process that looks after
 * `claimIdleMs` takes it over (XAUTOCLAIM), `deliveries` one higher. Delivery is at least once:
 * make the work idempotent, or check `deliveries > 1`.
 *
 * `ack()` returns once Redis has replied to its XACK: the acknowledgements of one turn go out
 * as one command, and a failed XACK makes the `ack()` calls of that batch raise
 * `BrokenResourceError` (the values stay pending and are delivered again after `claimIdleMs`).
 *
 * `client` is a connected node-redis client (the `redis` package, an optional peer dependency
 * of `trellis/redis` only). Sends, acknowledgements and claims use it; each receiving side
 * blocks on a duplicate of it, its own connection (tracked as a resource of the run), so a
 * blocked `receive()` is cancellable at once and the client stays free.
 *
 * @typeParam T - The type of the values.
 * @param client - A connected node-redis client.
 * @param key - The stream's key.
 * @param options - `group` and `consumer` (required), and the rest of {@link RedisChannelOptions}.
 * @returns `[send, receive]`: a {@link RedisSendChannel} and a {@link RedisReceiveChannel}.
 * @throws {TypeError} If `client` is not a node-redis client, `key`, `group` or `consumer` is
 *   not a non-empty string, or a function option is not a function.
 * @throws {RangeError} If a numeric option is out of range.
 * @example
 * ```ts
 * import { createClient } from "redis";
 * import { run } from "trellis";
 * import { openRedisChannel } from "trellis/redis";
 * const client = await createClient({ url: "redis://127.0.0.1:6379" }).connect();
 * await run(async () => {
 *   const [send, receive] = openRedisChannel<string>(client, "emails", { group: "mailers", consumer: "a" });
 *   await send.send("hello@example.com");
 *   const job = await receive.receive();
 *   await deliverEmail(job.value);
 *   await job.ack();
 *   receive.close();
 * });
 * await client.close();
 * ```
 */
export function openRedisChannel<T>(
  client: RedisClientLike,
  key: string,
  options: RedisChannelOptions<T>,
): [RedisSendChannel<T>, RedisReceiveChannel<T>] {
  const where = "openRedisChannel()";
  if (
    client === null ||
    typeof client !== "object" ||
    typeof (client as { sendCommand?: unknown }).sendCommand !== "function" ||
    typeof (client as { duplicate?: unknown }).duplicate !== "function"
  ) {
    throw new TypeError(`${where}: \`client\` must be a connected node-redis client (from createClient() of the "redis" package), got ${show(client)}`);
  }
  requireName(where, "key", key);
  requireOptions(where, options);
  if (options === undefined || options === null) {
    throw new TypeError(`${where}: \`options\` with \`group\` and \`consumer\` is required, got ${show(options)}`);
  }
  requireName(where, "options.group", options.group);
  requireName(where, "options.consumer", options.consumer);
  const maxLen = optionalCount(where, "options.maxLen", options.maxLen, undefined);
  const claimIdleMs = optionalCount(where, "options.claimIdleMs", options.claimIdleMs, 30_000, 0)!;
  const blockMs = optionalCount(where, "options.blockMs", options.blockMs, 5_000)!;
  const prefetch = optionalCount(where, "options.prefetch", options.prefetch, 1)!;
  const serialize = optionalFunction(where, "options.serialize", options.serialize) ?? (JSON.stringify as (value: T) => string);
  const deserialize = optionalFunction(where, "options.deserialize", options.deserialize) ?? (JSON.parse as (text: string) => T);
  const onInvalid = optionalFunction(where, "options.onInvalid", options.onInvalid) ?? warnInvalid(key);
  const deadLetterKey = options.deadLetterKey ?? `${key}:dead`;
  requireName(where, "options.deadLetterKey", deadLetterKey);
  const receiver = new StreamReceiver<T>({
    client,
    key,
    group: options.group,
    consumer: options.consumer,
    claimIdleMs,
    blockMs,
    prefetch,
    deadLetterKey,
    deserialize,
    onInvalid,
  });
  const shared = new RedisChannelShared<T>(receiver, maxLen, serialize);
  return [openRedisSendChannel(shared), openRedisReceiveChannel(shared)];
}

function requireName(where: string, name: string, value: unknown): asserts value is string {
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(`${where}: \`${name}\` must be a non-empty string, got ${show(value)}`);
  }
}

/** An integer ≥ min (1 unless said), or the default when null/undefined. */
function optionalCount(where: string, name: string, value: unknown, fallback: number | undefined, min = 1): number | undefined {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${where}: \`${name}\` must be an integer ≥ ${min}, got ${show(value)}`);
  }
  return value;
}

function optionalFunction<F>(where: string, name: string, value: F | null | undefined): F | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "function") throw new TypeError(`${where}: \`${name}\` must be a function, got ${show(value)}`);
  return value;
}

function warnInvalid(key: string): (entry: InvalidEntry) => void {
  return (entry) => {
    const why = entry.error instanceof Error ? entry.error.message : String(entry.error);
    process.stderr.write(
      `trellis/redis: entry ${entry.id} of stream "${key}" could not be deserialized (${why}); ` +
        `it was copied to "${entry.movedTo}" and acknowledged, so it will not be delivered. Pass \`onInvalid\` to handle such entries yourself.\n`,
    );
  };
}
