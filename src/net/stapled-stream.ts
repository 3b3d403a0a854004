/**
 * A two-way stream made of a send stream and a receive stream (Trio's `StapledStream`).
 *
 * @module
 */
import { checkpoint, show } from "../core/index.js";
import type { HalfCloseableStream, ReceiveStream, SendStream } from "./stream.js";

function hasMethods(value: unknown, names: readonly string[]): boolean {
  return typeof value === "object" && value !== null && names.every((n) => typeof (value as Record<string, unknown>)[n] === "function");
}

/**
 * Joins a {@link SendStream} and a {@link ReceiveStream} into one two-way stream: `send`
 * goes to `sendStream`, `receive` reads `receiveStream`, `sendEof` calls `sendStream.sendEof()`
 * when it has one and closes `sendStream` otherwise, and `close` closes both (the send side
 * first). Useful to pair a child process's stdin and stdout, or two memory streams.
 *
 * @example
 * ```ts
 * import { StapledStream, fromNodeStream } from "trellis/net";
 * const both = new StapledStream(fromNodeStream(outSocket), fromNodeStream(inSocket));
 * await both.send("ping");
 * ```
 */
export class StapledStream<S extends SendStream = SendStream, R extends ReceiveStream = ReceiveStream> implements HalfCloseableStream {
  /** The stream `send` writes to. */
  readonly sendStream: S;
  /** The stream `receive` reads from. */
  readonly receiveStream: R;

  /**
   * @param sendStream - Any object with `send` and `close`.
   * @param receiveStream - Any object with `receive` and `close`.
   * @throws {TypeError} If either lacks those methods.
   */
  constructor(sendStream: S, receiveStream: R) {
    if (!hasMethods(sendStream, ["send", "close"])) {
      throw new TypeError(`new StapledStream(): \`sendStream\` must have send() and close() methods, got ${show(sendStream)}`);
    }
    if (!hasMethods(receiveStream, ["receive", "close"])) {
      throw new TypeError(`new StapledStream(): \`receiveStream\` must have receive() and close() methods, got ${show(receiveStream)}`);
    }
    this.sendStream = sendStream;
    this.receiveStream = receiveStream;
  }

  /** {@inheritDoc SendStream.send} */
  send(data: Uint8Array | string): Promise<void> {
    return this.sendStream.send(data);
  }

  /** {@inheritDoc ReceiveStream.receive} */
  receive(maxBytes?: number): Promise<Uint8Array> {
    return this.receiveStream.receive(maxBytes);
  }

  /** Half-closes: `sendStream.sendEof()` if it has one, else `sendStream.close()` (then a checkpoint). */
  async sendEof(): Promise<void> {
    const s = this.sendStream as SendStream & { sendEof?: () => Promise<void> };
    if (typeof s.sendEof === "function") return s.sendEof();
    await checkpoint();
    await s.close();
  }

  /** Closes both streams, the send side first; never raises `Cancelled`. */
  async close(): Promise<void> {
    try {
      await this.sendStream.close();
    } finally {
      await this.receiveStream.close();
    }
  }

  /** Same as {@link StapledStream.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Yields chunks of `receiveStream` until EOF. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      const chunk = await this.receiveStream.receive();
      if (chunk.byteLength === 0) return;
      yield chunk;
    }
  }
}
