/**
 * `openAckChannel`: a channel whose values stay in flight until acknowledged (the seeds'
 * "RetryingChannel").
 *
 * @module
 */
import { AckChannelState } from "./ack-channel-state.js";
import { openAckReceiveChannel, type AckReceiveChannel } from "./ack-receive-channel.js";
import { requireCapacity } from "./open-channel.js";
import { openSendChannel, type SendChannel } from "./send-channel.js";

/**
 * Opens an acknowledged channel and returns its two handles, `[send, receive]`. Never yields.
 *
 * It is {@link openChannel} (same capacity, backpressure, clone, close and errors; the send
 * handle is a plain {@link SendChannel}) with one more promise: a value is not gone when it is
 * received, only when it is acknowledged. `receive()` returns an {@link Envelope}
 * `{ value, id, deliveries, ack() }`; if the task that received the value ends — returns,
 * fails or is cancelled — before calling `ack()`, or the receive handle is closed first, the
 * value goes back to the *front* of the queue (order is kept) and the next receiver gets it,
 * with `deliveries` one higher. A crashing worker loses no job.
 *
 * Capacity counts the values waiting in the buffer, as for `openChannel`; values in flight do
 * not count (a producer is held back by work not yet started, not by work being done). A value
 * that comes back takes its place at the front even when the buffer is full, so the buffer may
 * hold up to `capacity` + the values in flight for a while; senders wait until it is under
 * `capacity` again.
 *
 * Outside any task (no `run()`), there is no task whose end returns a value: it stays in
 * flight until `ack()` or until its receive handle is closed.
 *
 * @typeParam T - The type of the values.
 * @param capacity - How many values the buffer holds: an integer ≥ 0, or `Infinity`. Default 0.
 * @returns `[send, receive]`: a {@link SendChannel} and an {@link AckReceiveChannel}.
 * @throws {RangeError} If `capacity` is not an integer ≥ 0 nor `Infinity`.
 * @example
 * ```ts
 * import { openAckChannel, withTaskGroup } from "trellis";
 * const [send, receive] = openAckChannel<string>(10);
 * await withTaskGroup(async (tg) => {
 *   for (let w = 0; w < 3; w++) {
 *     const rx = receive.clone();
 *     tg.spawn(async () => {
 *       using _ = rx;
 *       for await (const job of rx) {
 *         await handle(job.value, job.deliveries);
 *         await job.ack();
 *       }
 *     });
 *   }
 *   receive.close();
 *   using tx = send;
 *   for (const job of ["a", "b", "c"]) await tx.send(job);
 * });
 * ```
 */
export function openAckChannel<T>(capacity: number = 0): [SendChannel<T>, AckReceiveChannel<T>] {
  requireCapacity("openAckChannel()", capacity);
  const state = new AckChannelState<T>(capacity);
  return [openSendChannel(state), openAckReceiveChannel(state)];
}
