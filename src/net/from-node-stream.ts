/**
 * Any Node stream as a trellis {@link HalfCloseableStream}.
 *
 * @module
 */
import type { Duplex, Readable, Writable } from "node:stream";
import { show } from "../core/index.js";
import { EngineStream } from "./engine-stream.js";
import { openNodeStreamEngine, type NodeStreamOptions } from "./node-stream-engine.js";
import type { HalfCloseableStream } from "./stream.js";

export type { NodeStreamOptions } from "./node-stream-engine.js";

function isReadable(value: unknown): value is Readable {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Readable).read === "function" &&
    typeof (value as Readable).on === "function" &&
    (value as Readable).readableObjectMode !== true // a byte stream, not a stream of objects
  );
}

function isWritable(value: unknown): value is Writable {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Writable).write === "function" &&
    typeof (value as Writable).end === "function" &&
    (value as Writable).writableObjectMode !== true
  );
}

/**
 * Wraps a Node `Duplex` (a socket, an HTTP upgrade socket, a `PassThrough`…) as a trellis
 * stream. The stream now owns `duplex`: `close()` ends it gracefully (at most
 * `options.closeGraceMs`, default 1 000 ms) and destroys it; do not read or write it directly
 * any more. `send` returns once `duplex` has taken the bytes (its write callback), so a peer
 * that stops reading makes `send` wait; `receive` pulls with `read()`, so Node buffers at most
 * its high-water mark. It registers with the run as a resource of kind `"stream"`.
 *
 * @param duplex - The Node stream, readable and writable.
 * @param options - `label` (shown in wait labels: `stream receive <label>`), `closeGraceMs`.
 * @throws {TypeError} If `duplex` is not a readable and writable Node stream.
 * @example
 * ```ts
 * import { fromNodeStream } from "trellis/net";
 * import { Socket } from "node:net";
 * await using stream = fromNodeStream(new Socket(), { label: "upgrade" });
 * ```
 */
export function fromNodeStream(duplex: Duplex, options?: NodeStreamOptions): HalfCloseableStream {
  if (!isReadable(duplex) || !isWritable(duplex)) {
    throw new TypeError(`fromNodeStream(): \`duplex\` must be a readable and writable Node byte stream (a Duplex, not in object mode), got ${show(duplex)}`);
  }
  return new EngineStream(openNodeStreamEngine(duplex, duplex, options, "fromNodeStream()"));
}

/**
 * Wraps a pair of Node streams (a child process's stdout and stdin, two pipes) as one trellis
 * stream: `receive` reads `readable`, `send` writes `writable`, `sendEof` ends `writable`.
 * Same rules as {@link fromNodeStream}; `close()` closes both.
 *
 * @param readable - Where `receive` reads from.
 * @param writable - Where `send` writes to.
 * @throws {TypeError} If either is not the expected kind of Node stream.
 * @example
 * ```ts
 * import { fromNodeStreams } from "trellis/net";
 * import { spawn } from "node:child_process";
 * const child = spawn("cat");
 * await using pipe = fromNodeStreams(child.stdout, child.stdin, { label: "cat" });
 * await pipe.send("hi");
 * ```
 */
export function fromNodeStreams(readable: Readable, writable: Writable, options?: NodeStreamOptions): HalfCloseableStream {
  if (!isReadable(readable)) throw new TypeError(`fromNodeStreams(): \`readable\` must be a readable Node byte stream (not in object mode), got ${show(readable)}`);
  if (!isWritable(writable)) throw new TypeError(`fromNodeStreams(): \`writable\` must be a writable Node byte stream (not in object mode), got ${show(writable)}`);
  return new EngineStream(openNodeStreamEngine(readable, writable, options, "fromNodeStreams()"));
}
