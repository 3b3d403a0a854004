/**
 * `BufferedStream`: framing on top of any receive stream (AnyIO's `BufferedByteReceiveStream`).
 *
 * @module
 */
import { checkpoint, requireOptions, schedulePoint, show } from "../core/index.js";
import { DelimiterNotFoundError, IncompleteReadError } from "./errors.js";
import { DEFAULT_MAX_BYTES, requireData, requireMaxBytes } from "../core/index.js";
import type { ReceiveStream, SendStream, Stream } from "./stream.js";

/** Options of {@link BufferedStream.lines}. */
export interface LinesOptions {
  /** The longest line accepted, in bytes, without its newline. Default 65 536. */
  readonly maxBytes?: number | null | undefined;
}

const decoder = new TextDecoder("utf-8");

/**
 * Reads a stream in frames: exactly `n` bytes, up to a delimiter, or line by line. It keeps
 * what it read beyond the frame for the next call, so use only the `BufferedStream` (not the
 * stream under it) for receiving once you made one. `send`, `sendEof` and `close` pass through.
 * Each method is a checkpoint; a cancelled call loses no byte (what it had read stays buffered).
 *
 * @example
 * ```ts
 * import { BufferedStream, connectTcp } from "trellis/net";
 * const reader = new BufferedStream(await connectTcp("127.0.0.1", 6379));
 * await reader.send("PING\r\n");
 * console.log(new TextDecoder().decode(await reader.receiveUntil("\r\n", 1024))); // "+PONG"
 * ```
 */
export class BufferedStream<S extends ReceiveStream = Stream> implements Stream {
  readonly #stream: S;
  #buffer: Uint8Array = new Uint8Array(0);
  #eof = false;

  /** @param stream - Any object with `receive` and `close` (and `send`/`sendEof` to pass through). */
  constructor(stream: S) {
    if (typeof stream !== "object" || stream === null || typeof stream.receive !== "function" || typeof stream.close !== "function") {
      throw new TypeError(`new BufferedStream(): \`stream\` must have receive() and close() methods, got ${show(stream)}`);
    }
    this.#stream = stream;
  }

  /** The wrapped stream. */
  get stream(): S {
    return this.#stream;
  }

  /** Bytes read from the stream but not yet returned. */
  get buffered(): Uint8Array {
    return this.#buffer;
  }

  /** Reads one more chunk into the buffer; false at EOF. */
  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = await this.#stream.receive(DEFAULT_MAX_BYTES);
    if (chunk.byteLength === 0) {
      this.#eof = true;
      return false;
    }
    if (this.#buffer.byteLength === 0) this.#buffer = chunk;
    else {
      const joined = new Uint8Array(this.#buffer.byteLength + chunk.byteLength);
      joined.set(this.#buffer);
      joined.set(chunk, this.#buffer.byteLength);
      this.#buffer = joined;
    }
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    return out;
  }

  /**
   * Returns the buffered bytes (at most `maxBytes`), or waits for the next chunk if none are
   * buffered; an empty chunk at EOF. A checkpoint.
   *
   * @example
   * ```ts
   * import { BufferedStream } from "trellis/net";
   * const chunk = await new BufferedStream(conn).receiveSome(1024);
   * ```
   */
  async receiveSome(maxBytes?: number): Promise<Uint8Array> {
    const max = requireMaxBytes("receiveSome()", maxBytes);
    if (this.#buffer.byteLength > 0) {
      await checkpoint();
      return this.#take(max);
    }
    if (!(await this.#fill())) {
      await checkpoint();
      return new Uint8Array(0);
    }
    return this.#take(max);
  }

  /** Same as {@link BufferedStream.receiveSome}, so a BufferedStream is a {@link Stream}. */
  receive(maxBytes?: number): Promise<Uint8Array> {
    return this.receiveSome(maxBytes);
  }

  /**
   * Returns exactly `n` bytes, waiting for as many chunks as it takes. A checkpoint.
   *
   * @throws {IncompleteReadError} If the stream ends first (`partial` holds what arrived).
   * @throws {RangeError} If `n` is not an integer ≥ 0.
   * @example
   * ```ts
   * import { BufferedStream } from "trellis/net";
   * const reader = new BufferedStream(conn);
   * const length = new DataView((await reader.receiveExactly(4)).buffer).getUint32(0);
   * const body = await reader.receiveExactly(length);
   * ```
   */
  async receiveExactly(n: number): Promise<Uint8Array> {
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new RangeError(`receiveExactly(): \`n\` must be an integer ≥ 0, got ${show(n)}`);
    if (this.#buffer.byteLength >= n) await checkpoint();
    while (this.#buffer.byteLength < n) {
      if (!(await this.#fill())) {
        const partial = this.#take(this.#buffer.byteLength);
        throw new IncompleteReadError(`receiveExactly(${n}): the stream ended after ${partial.byteLength} bytes`, partial);
      }
    }
    return this.#take(n);
  }

  /**
   * Returns the bytes before the next `delimiter` and consumes the delimiter too (as AnyIO's
   * `receive_until`). A checkpoint.
   *
   * @param delimiter - A non-empty string (UTF-8) or bytes.
   * @param maxBytes - The most bytes to read looking for it.
   * @throws {DelimiterNotFoundError} If `maxBytes` bytes arrived without the delimiter (they stay buffered).
   * @throws {IncompleteReadError} If the stream ends first.
   * @example
   * ```ts
   * import { BufferedStream } from "trellis/net";
   * const header = await new BufferedStream(conn).receiveUntil("\r\n\r\n", 16_384);
   * ```
   */
  async receiveUntil(delimiter: Uint8Array | string, maxBytes: number): Promise<Uint8Array> {
    const delim = requireData("receiveUntil()", delimiter);
    if (delim.byteLength === 0) throw new RangeError("receiveUntil(): `delimiter` must not be empty");
    const max = requireMaxBytes("receiveUntil()", maxBytes);
    let searched = 0;
    let first = true;
    for (;;) {
      const at = indexOf(this.#buffer, delim, Math.max(0, searched - delim.byteLength + 1));
      if (at !== -1 && at <= max) {
        if (first) await checkpoint();
        const out = this.#take(at);
        this.#take(delim.byteLength);
        return out;
      }
      searched = this.#buffer.byteLength;
      if (searched >= max + delim.byteLength) {
        if (first) await schedulePoint();
        throw new DelimiterNotFoundError(`receiveUntil(): no delimiter within ${max} bytes; read a bounded amount with receiveSome(), or raise maxBytes`);
      }
      first = false;
      if (!(await this.#fill())) {
        const partial = this.#take(this.#buffer.byteLength);
        throw new IncompleteReadError(`receiveUntil(): the stream ended after ${partial.byteLength} bytes without the delimiter`, partial);
      }
    }
  }

  /**
   * Yields the stream's lines as strings (UTF-8, without `\n` or `\r\n`), then a last line
   * without a newline if the stream ends with one. Each step is a checkpoint.
   *
   * @throws {DelimiterNotFoundError} If a line is longer than `maxBytes`.
   * @example
   * ```ts
   * import { BufferedStream } from "trellis/net";
   * for await (const line of new BufferedStream(conn).lines({ maxBytes: 4096 })) console.log(line);
   * ```
   */
  async *lines(options?: LinesOptions): AsyncGenerator<string, void, undefined> {
    requireOptions("lines()", options);
    const max = requireMaxBytes("lines()", options?.maxBytes);
    for (;;) {
      let line: Uint8Array;
      try {
        line = await this.receiveUntil("\n", max + 1);
      } catch (err) {
        if (err instanceof IncompleteReadError) {
          if (err.partial.byteLength > 0) yield decoder.decode(err.partial);
          return;
        }
        throw err;
      }
      if (line.byteLength > 0 && line[line.byteLength - 1] === 13) line = line.subarray(0, -1);
      else if (line.byteLength > max) throw new DelimiterNotFoundError(`lines(): a line is longer than ${max} bytes; raise maxBytes`);
      yield decoder.decode(line);
    }
  }

  /** Passes through to the wrapped stream's `send`. */
  send(data: Uint8Array | string): Promise<void> {
    const s = this.#stream as unknown as Partial<SendStream>;
    if (typeof s.send !== "function") return Promise.reject(new TypeError("send(): the wrapped stream cannot send"));
    return s.send(data);
  }

  /** Passes through to the wrapped stream's `sendEof`. */
  sendEof(): Promise<void> {
    const s = this.#stream as unknown as { sendEof?: () => Promise<void> };
    if (typeof s.sendEof !== "function") return Promise.reject(new TypeError("sendEof(): the wrapped stream cannot half-close"));
    return s.sendEof();
  }

  /** Closes the wrapped stream; buffered bytes are dropped. */
  close(): Promise<void> {
    this.#buffer = new Uint8Array(0);
    return this.#stream.close();
  }

  /** Same as {@link BufferedStream.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Yields buffered bytes then chunks until EOF. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      const chunk = await this.receiveSome();
      if (chunk.byteLength === 0) return;
      yield chunk;
    }
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle, from);
}
