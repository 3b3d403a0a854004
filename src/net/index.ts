// The "trellis/net" entry: re-exports only.
export type { AsyncCloseable, SendStream, ReceiveStream, Stream, HalfCloseableStream } from "./stream.js";
export { fromNodeStream, fromNodeStreams, type NodeStreamOptions } from "./from-node-stream.js";
export { StapledStream } from "./stapled-stream.js";
export { SocketStream, type StartTlsOptions } from "./socket-stream.js";
export { connectTcp, type ConnectTcpOptions } from "./connect-tcp.js";
export { connectUnix, type ConnectUnixOptions } from "./connect-unix.js";
export { connectTls, type ConnectTlsOptions } from "./connect-tls.js";
export {
  Listener,
  listenTcp,
  listenUnix,
  listenTls,
  type ListenerAddress,
  type ListenTcpOptions,
  type ListenUnixOptions,
  type ListenTlsOptions,
} from "./listener.js";
export { serve, serveTcp, type ServeOptions, type ServeTcpOptions } from "./serve.js";
export { BufferedStream, type LinesOptions } from "./buffered-stream.js";
export { IncompleteReadError, DelimiterNotFoundError } from "./errors.js";
