/**
 * `openChannel`: a pair of handles on a new in-memory channel (Trio's `open_memory_channel`).
 *
 * @module
 */
import { currentScope, requireCount, requireOptionalString, requireOptions } from "../core/index.js";
import { ChannelState } from "./channel-state.js";
import { openReceiveChannel, type ReceiveChannel } from "./receive-channel.js";
import { openSendChannel, type SendChannel } from "./send-channel.js";

/** Options of {@link openChannel}. */
export interface OpenChannelOptions {
  /** The channel's name, for the debug task tree (`receive on channel "jobs"`) and leak reports. */
  readonly name?: string;
}

/**
 * Opens a channel for passing values between tasks, and returns its two handles, data flowing
 * left to right: `[send, receive]`. Never yields.
 *
 * With the default capacity 0 the channel is a rendezvous: `send` returns only once a receiver
 * has taken the value, so a producer can never run ahead of its consumers (backpressure), and
 * nothing sits in a buffer when a consumer fails. A capacity `n > 0` lets `n` values wait in a
 * buffer; `Infinity` never makes a sender wait (no backpressure: use it only when the
 * producer is bounded by something else). If in doubt, use 0.
 *
 * Close each handle when its task is done (`using`, or `close()` in `finally`): receivers then
 * see the end of the stream, and senders learn at once that every consumer is gone
 * ({@link BrokenResourceError}) instead of waiting forever.
 *
 * @typeParam T - The type of the values.
 * @param capacity - How many values the buffer holds: an integer ≥ 0, or `Infinity`. Default 0.
 * @returns `[send, receive]`, one {@link SendChannel} and one {@link ReceiveChannel}; clone them
 *   for more producers or consumers.
 * @param options - `name`: shown in the debug task tree (`receive on channel "jobs"`) and in
 *   leak reports. Optional.
 * @throws {RangeError} If `capacity` is not an integer ≥ 0 nor `Infinity`.
 * @example
 * ```ts
 * import { openChannel, withTaskGroup } from "trellis";
 * const [send, receive] = openChannel<string>();
 * await withTaskGroup(async (tg) => {
 *   tg.spawn(async () => {
 *     using tx = send;
 *     await tx.send("hello"); // returns once the loop below has taken it
 *   });
 *   for await (const message of receive) console.log(message);
 * });
 * ```
 */
export function openChannel<T>(capacity: number = 0, options?: OpenChannelOptions): [SendChannel<T>, ReceiveChannel<T>] {
  requireCount("openChannel()", "capacity", capacity, 0, true);
  requireOptions("openChannel()", options);
  const name = requireOptionalString("openChannel()", "options.name", options?.name);
  const state = new ChannelState<T>(capacity, name);
  const runtime = currentScope()?.runtime;
  if (runtime?.debug) state.debugRuntime = runtime;
  return [openSendChannel(state), openReceiveChannel(state)];
}

/** @internal A channel's capacity: an integer ≥ 0 or Infinity (the one count check, core's requireCount). */
export function requireCapacity(where: string, capacity: unknown): asserts capacity is number {
  requireCount(where, "capacity", capacity, 0, true);
}
