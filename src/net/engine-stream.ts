/**
 * The public face of a Node-backed stream: a thin class over a {@link NodeStreamEngine} held
 * in a `#private` field, so the published types show only the {@link HalfCloseableStream}
 * methods.
 *
 * @internal
 * @module
 */
import type { ChunkResults, NodeStreamEngine } from "./node-stream-engine.js";
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
  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    return chunksOf(this.#engine);
  }
}

/** The iterator of an {@link EngineStream}: `receive()` until the empty chunk of EOF. */
class ChunkIterator implements AsyncIterableIterator<Uint8Array>, ChunkResults {
  #done = false;
  readonly #engine: NodeStreamEngine;

  constructor(engine: NodeStreamEngine) {
    this.#engine = engine;
  }

  /** Called by the engine where it hands a chunk over (no `then` per chunk). */
  result(chunk: Uint8Array): IteratorResult<Uint8Array, undefined> {
    if (chunk.byteLength !== 0) return { value: chunk, done: false };
    this.#done = true;
    return END;
  }

  next(): Promise<IteratorResult<Uint8Array, undefined>> {
    return this.#done ? Promise.resolve(END) : this.#engine.receiveNext(this);
  }

  return(): Promise<IteratorResult<Uint8Array, undefined>> {
    this.#done = true;
    return Promise.resolve(END);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * @internal The `for await` of a Node-backed stream. A plain iterator over receive() rather
 * than an async generator: one promise per chunk instead of a generator's several (servers
 * loop over this per connection).
 */
export function chunksOf(engine: NodeStreamEngine): AsyncIterableIterator<Uint8Array> {
  return new ChunkIterator(engine);
}

const END: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });
