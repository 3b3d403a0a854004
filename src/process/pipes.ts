/**
 * The child's pipes as trellis streams, through trellis/net's adapter (one adapter for every
 * Node stream in trellis; none of its own here).
 *
 * Node makes each pipe of a child a `net.Socket` that is a Duplex object, though only one
 * direction is open; the adapter takes it as is, and the types we publish (`SendStream` for
 * stdin, `ReceiveStream` for stdout and stderr) show only the direction that works.
 *
 * @module
 */
import type { Readable, Writable } from "node:stream";
import type { Duplex } from "node:stream";
import { fromNodeStream, type ReceiveStream, type SendStream } from "../net/index.js";

/** @internal The child's stdin: a stream that only sends; `close()` is the child's EOF. */
export function sendPipe(pipe: Writable, label: string): SendStream {
  return fromNodeStream(pipe as Duplex, { label });
}

/** @internal The child's stdout or stderr: a stream that only receives. */
export function receivePipe(pipe: Readable, label: string): ReceiveStream {
  return fromNodeStream(pipe as Duplex, { label });
}
