// The "trellis/net" entry: re-exports only.
export type { AsyncCloseable, SendStream, ReceiveStream, Stream, HalfCloseableStream } from "./stream.js";
export { fromNodeStream, fromNodeStreams, type NodeStreamOptions } from "./from-node-stream.js";
export { StapledStream } from "./stapled-stream.js";
