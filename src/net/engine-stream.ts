/**
 * The public face of a Node-backed stream: a thin class over a {@link NodeStreamEngine} held
 * in a `#private` field, so the published types show only the {@link HalfCloseableStream}
 * methods.
 *
 * @internal
 * @module
 */
import type { NodeStreamEngine } from "./node-stream-engine.js";
import type { HalfCloseableStream } from "./stream.js";

/** @internal Base of the streams made from Node streams (fromNodeStream, SocketStream). */
export class EngineStream implements HalfCloseableStream {
  readonly #engine: NodeStreamEngine;

  /** @internal */
  constructor(engine: NodeStreamEngine) {
    this.#engine = engine;
    engine.track(this);
  }

  /** {@inheritDoc SendStream.send} */
  send(data: Uint8Array | string): Promise<void> {
    return this.#engine.send(data);
  }

  /** {@inheritDoc ReceiveStream.receive} */
  receive(maxBytes?: number): Promise<Uint8Array> {
    return this.#engine.receive(maxBytes);
  }

  /** {@inheritDoc HalfCloseableStream.sendEof} */
  sendEof(): Promise<void> {
    return this.#engine.sendEof();
  }

  /** {@inheritDoc AsyncCloseable.close} */
  close(): Promise<void> {
    return this.#engine.close();
  }

  /** Same as {@link EngineStream.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.#engine.close();
  }

  /** Yields chunks until EOF; leaving the loop early does not close the stream. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      const chunk = await this.#engine.receive(undefined);
      if (chunk.byteLength === 0) return;
      yield chunk;
    }
  }
}
