/**
 * The byte-stream interfaces of `trellis/net`, after Trio's `trio.abc` streams: a
 * {@link SendStream}, a {@link ReceiveStream}, both at once ({@link Stream}), and a stream that
 * can close its sending half while still receiving ({@link HalfCloseableStream}).
 *
 * Every method that returns a promise is a checkpoint, except `close()`, which always
 * succeeds (see {@link AsyncCloseable.close}).
 *
 * @module
 */

/**
 * Something with an asynchronous, idempotent close that always succeeds.
 *
 * @example
 * ```ts
 * import type { AsyncCloseable } from "trellis/net";
 * async function shutdown(all: AsyncCloseable[]) { for (const r of all) await r.close(); }
 * ```
 */
export interface AsyncCloseable extends AsyncDisposable {
  /**
   * Closes the resource: gracefully within a bounded time, then forcefully. Idempotent. It
   * never raises `Cancelled` and succeeds inside a cancelled scope (an `await using` that ends
   * because of a cancellation must not turn that `Cancelled` into a `SuppressedError`).
   * Tasks blocked in other methods of the resource are woken with `ClosedResourceError`.
   */
  close(): Promise<void>;
}

/**
 * The sending half of a byte stream.
 *
 * @example
 * ```ts
 * import type { SendStream } from "trellis/net";
 * async function greet(out: SendStream) { await out.send("hello\n"); }
 * ```
 */
export interface SendStream extends AsyncCloseable {
  /**
   * Sends all of `data` (a string is sent as UTF-8) and returns once the underlying resource
   * (the kernel's socket buffer, a pipe) has taken every byte: nothing is buffered in user
   * space, so a peer that stops reading makes `send` wait. A checkpoint.
   * Throws `BusyResourceError` if another `send` (or `sendEof`) is in progress,
   * `ClosedResourceError` after `close()` (or `sendEof()`), `BrokenResourceError` when the
   * peer is gone or after a `send` was cancelled mid-way (the bytes it had handed over may or
   * may not have gone out, so the stream's position is unknown).
   */
  send(data: Uint8Array | string): Promise<void>;
}

/**
 * The receiving half of a byte stream. Iterating it yields chunks until the end of the stream.
 *
 * @example
 * ```ts
 * import type { ReceiveStream } from "trellis/net";
 * async function drain(input: ReceiveStream) { for await (const chunk of input) console.log(chunk.length); }
 * ```
 */
export interface ReceiveStream extends AsyncCloseable, AsyncIterable<Uint8Array> {
  /**
   * Waits for data and returns between 1 and `maxBytes` bytes (default 65 536), or an empty
   * chunk once the peer has finished sending (EOF): an empty chunk means EOF and nothing else,
   * and every later call returns an empty chunk again. A checkpoint; a cancelled `receive`
   * takes no data (nothing is lost). Throws `BusyResourceError` if another `receive` is in
   * progress, `ClosedResourceError` after `close()`, `BrokenResourceError` on a reset.
   */
  receive(maxBytes?: number): Promise<Uint8Array>;
}

/**
 * A bidirectional byte stream: a TCP or Unix connection, a TLS session, a memory pair.
 *
 * @example
 * ```ts
 * import type { Stream } from "trellis/net";
 * async function echo(s: Stream) { for await (const chunk of s) await s.send(chunk); }
 * ```
 */
export interface Stream extends SendStream, ReceiveStream {}

/**
 * A {@link Stream} whose sending half can be closed on its own (TCP's `shutdown(SHUT_WR)`):
 * the peer then receives EOF while this side can still receive.
 *
 * @example
 * ```ts
 * import type { HalfCloseableStream } from "trellis/net";
 * async function request(s: HalfCloseableStream) { await s.send("GET"); await s.sendEof(); return s.receive(); }
 * ```
 */
export interface HalfCloseableStream extends Stream {
  /**
   * Closes the sending half: the peer receives EOF after the data already sent. Idempotent; a
   * checkpoint. Later `send`s throw `ClosedResourceError`; `receive` goes on working.
   */
  sendEof(): Promise<void>;
}
