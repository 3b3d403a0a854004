/**
 * In-memory streams for tests: Trio's `memory_stream_pair` and `lockstep_stream_pair`.
 *
 * @module
 */
import { schedulePoint, show } from "../core/index.js";
import { StapledStream, type HalfCloseableStream, type ReceiveStream, type SendStream } from "../net/index.js";
import { MemoryPipe } from "./memory-pipe.js";

/** Options of {@link memoryStreamPair} and {@link memoryStreamOneWayPair}. */
export interface MemoryStreamOptions {
  /** Bytes each direction buffers before `send` waits for a `receive`. Default 65 536; 0 is lockstep. */
  readonly capacity?: number | null | undefined;
}

/** The sending end of an in-memory one-way stream. */
class MemorySendStream implements SendStream {
  readonly #pipe: MemoryPipe;
  constructor(pipe: MemoryPipe) {
    this.#pipe = pipe;
  }
  send(data: Uint8Array | string): Promise<void> {
    return this.#pipe.send(data);
  }
  sendEof(): Promise<void> {
    return this.#pipe.sendEof();
  }
  async close(): Promise<void> {
    this.#pipe.closeSend();
    await schedulePoint();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The receiving end of an in-memory one-way stream. */
class MemoryReceiveStream implements ReceiveStream {
  readonly #pipe: MemoryPipe;
  constructor(pipe: MemoryPipe) {
    this.#pipe = pipe;
  }
  receive(maxBytes?: number): Promise<Uint8Array> {
    return this.#pipe.receive(maxBytes);
  }
  async close(): Promise<void> {
    this.#pipe.closeReceive();
    await schedulePoint();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      const chunk = await this.#pipe.receive(undefined);
      if (chunk.byteLength === 0) return;
      yield chunk;
    }
  }
}

function capacityOf(where: string, options: MemoryStreamOptions | undefined): number {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError(`${where}: \`options\` must be an object, got ${show(options)}`);
  }
  const c = options?.capacity;
  if (c === undefined || c === null) return 65_536;
  if (typeof c !== "number" || !Number.isInteger(c) || c < 0) {
    throw new RangeError(`${where}: \`options.capacity\` must be an integer ≥ 0 (bytes), got ${show(c)}`);
  }
  return c;
}

let pipes = 0;

/**
 * A connected one-way pair `[send, receive]` in memory: bytes sent on one arrive on the other,
 * with `capacity` bytes of buffer (default 65 536; 0 makes every send wait for receives).
 * `send` after the receiver closed is `BrokenResourceError`; closing the sender is EOF.
 *
 * @example
 * ```ts
 * import { memoryStreamOneWayPair } from "trellis/testing";
 * const [tx, rx] = memoryStreamOneWayPair();
 * await tx.send("hi");
 * console.log(await rx.receive()); // Uint8Array [104, 105]
 * ```
 */
export function memoryStreamOneWayPair(options?: MemoryStreamOptions): [SendStream & { sendEof(): Promise<void> }, ReceiveStream] {
  const pipe = new MemoryPipe(capacityOf("memoryStreamOneWayPair()", options), `memory stream #${++pipes}`);
  return [new MemorySendStream(pipe), new MemoryReceiveStream(pipe)];
}

/**
 * A connected two-way pair `[a, b]` of in-memory {@link HalfCloseableStream}s: what `a` sends,
 * `b` receives and vice versa, each direction buffering `capacity` bytes (default 65 536).
 * Half-close with `sendEof()`; `close()` closes both directions of that end.
 *
 * @example
 * ```ts
 * import { memoryStreamPair } from "trellis/testing";
 * const [client, server] = memoryStreamPair();
 * await client.send("ping");
 * console.log(new TextDecoder().decode(await server.receive())); // "ping"
 * ```
 */
export function memoryStreamPair(options?: MemoryStreamOptions): [HalfCloseableStream, HalfCloseableStream] {
  const capacity = capacityOf("memoryStreamPair()", options);
  const [aTx, bRx] = memoryStreamOneWayPair({ capacity });
  const [bTx, aRx] = memoryStreamOneWayPair({ capacity });
  return [new StapledStream(aTx, aRx), new StapledStream(bTx, bRx)];
}

/**
 * As {@link memoryStreamOneWayPair} with no buffer at all: every `send` waits until receives
 * have taken all of its bytes. Good at finding code that assumes buffering.
 *
 * @example
 * ```ts
 * import { lockstepStreamOneWayPair } from "trellis/testing";
 * const [tx, rx] = lockstepStreamOneWayPair();
 * ```
 */
export function lockstepStreamOneWayPair(): [SendStream & { sendEof(): Promise<void> }, ReceiveStream] {
  return memoryStreamOneWayPair({ capacity: 0 });
}

/**
 * As {@link memoryStreamPair} with no buffering: every `send` waits for the peer's receives.
 *
 * @example
 * ```ts
 * import { lockstepStreamPair, checkHalfCloseableStream } from "trellis/testing";
 * await checkHalfCloseableStream(async () => lockstepStreamPair(), async () => lockstepStreamPair());
 * ```
 */
export function lockstepStreamPair(): [HalfCloseableStream, HalfCloseableStream] {
  return memoryStreamPair({ capacity: 0 });
}
