/**
 * A TCP, Unix or TLS connection as a trellis stream.
 *
 * @module
 */
import type { Socket } from "node:net";
import { TLSSocket, connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { checkpointIfCancelled, requireDuration, requireOptions } from "../core/index.js";
import { chunksOf } from "./engine-stream.js";
import { DEFAULT_CLOSE_GRACE_MS, NodeStreamEngine } from "./node-stream-engine.js";
import { formatAddress } from "./address.js";
import type { HalfCloseableStream } from "./stream.js";
import { tlsHandshake } from "./tls-handshake.js";

/** Options of {@link SocketStream.startTls}: Node's `tls.connect` options, plus `isServer`. */
export interface StartTlsOptions extends Omit<ConnectionOptions, "socket"> {
  /** Take the server's side of the handshake (then `key`/`cert` are required). Default false. */
  readonly isServer?: boolean | null | undefined;
  /** How long `close()` waits for a graceful end (real ms). Default 1 000. */
  readonly closeGraceMs?: number | null | undefined;
}

let makeSocketStream: (engine: NodeStreamEngine, socket: Socket) => SocketStream;

/**
 * A connected socket (TCP, Unix or TLS): a {@link HalfCloseableStream} plus its addresses and
 * the underlying Node socket. Made by `connectTcp`, `connectUnix`, `connectTls` and
 * `Listener.accept()`. It registers with the run as a resource of kind `"socket"`, labelled
 * with the peer's address, and waits are labelled `socket receive 127.0.0.1:4000`.
 *
 * @example
 * ```ts
 * import { connectTcp } from "trellis/net";
 * await using conn = await connectTcp("127.0.0.1", 8080);
 * console.log(conn.localAddress, "→", conn.remoteAddress);
 * ```
 */
export class SocketStream implements HalfCloseableStream {
  readonly #engine: NodeStreamEngine;
  readonly #socket: Socket;

  // Made by connectTcp, connectUnix, connectTls and Listener.accept (openSocketStream): private,
  // so the published type shows no constructor. Not a subclass of the internal EngineStream, so
  // the published type names no internal class: the stream methods forward to the engine here.
  private constructor(engine: NodeStreamEngine, socket: Socket) {
    this.#engine = engine;
    this.#socket = socket;
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

  /** Same as {@link SocketStream.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.#engine.close();
  }

  /** Yields chunks until EOF; leaving the loop early does not close the stream. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    return chunksOf(this.#engine);
  }

  /** The underlying Node socket (a `TLSSocket` for TLS). Reading or writing it directly bypasses the stream. */
  get socket(): Socket {
    return this.#socket;
  }

  /** This side's address, `127.0.0.1:53211` (a path or `""` for Unix sockets). */
  get localAddress(): string {
    const s = this.#socket;
    if (s.localPort === undefined) return s.localAddress ?? "";
    return formatAddress(s.localAddress, s.localPort);
  }

  /**
   * The peer's address, `127.0.0.1:4000` (the path for Unix sockets). For an accepted
   * connection it is asked of the system on first use (it costs a system call, so it is not
   * asked for every connection): read it while the connection is open; after `close()` it is
   * `""` unless it was read before.
   */
  get remoteAddress(): string {
    return this.#engine.peerAddress();
  }

  /**
   * Turns Nagle's algorithm off (`true`, the default for trellis sockets) or on. Never waits.
   *
   * @example
   * ```ts
   * import { connectTcp } from "trellis/net";
   * const conn = await connectTcp("127.0.0.1", 8080);
   * conn.setNoDelay(false); // batch small writes
   * ```
   */
  setNoDelay(noDelay = true): this {
    this.#socket.setNoDelay(noDelay);
    return this;
  }

  /**
   * Upgrades this connection to TLS (STARTTLS) and returns the TLS stream; this stream is then
   * closed for use (its methods throw `ClosedResourceError`) and the TLS stream owns the
   * socket. A checkpoint; cancelling it destroys the connection. No send or receive may be in
   * progress, and nothing may have arrived that was not received yet.
   *
   * @param options - Node's `tls.connect` options (`servername`, `ca`, `rejectUnauthorized`…),
   *   or `{ isServer: true, key, cert }` for the server's side.
   * @throws {BrokenResourceError} If the handshake fails (bad certificate, hostname mismatch,
   *   peer gone); `cause` holds Node's error.
   * @example
   * ```ts
   * import { connectTcp } from "trellis/net";
   * const plain = await connectTcp("127.0.0.1", 2525);
   * await plain.send("STARTTLS\r\n");
   * await using secure = await plain.startTls({ servername: "mail.example" });
   * ```
   */
  async startTls(options?: StartTlsOptions): Promise<SocketStream> {
    requireOptions("startTls()", options);
    const grace = options?.closeGraceMs;
    const closeGraceMs = grace === undefined || grace === null ? undefined : requireDuration("startTls()", "options.closeGraceMs", grace);
    checkpointIfCancelled();
    const label = this.#engine.label;
    this.#engine.release("startTls()", "this stream was upgraded to TLS by startTls(); use the stream it returned");
    const { isServer, closeGraceMs: _grace, ...tlsOptions } = options ?? {};
    const socket = this.#socket;
    const tlsSocket =
      isServer === true
        ? new TLSSocket(socket, { ...(tlsOptions as object), isServer: true })
        : tlsConnect({ ...tlsOptions, socket });
    try {
      await tlsHandshake(tlsSocket, isServer === true ? "secure" : "secureConnect", label);
    } catch (err) {
      socket.destroy(); // destroying the TLS socket after a failed handshake leaves the TCP one open
      throw err;
    }
    return openSocketStream(tlsSocket, closeGraceMs, label);
  }

  static {
    makeSocketStream = (engine, socket) => new SocketStream(engine, socket);
  }
}

/**
 * @internal A stream over a connected socket (SocketStream's constructor is private), labelled
 * `label`, or when that is undefined by a label made on first use (no string, no system call
 * per connection): the peer's address asked of `socket` if `askPeer` (an accepted socket), with
 * `host:port` (the listener's address) once it can no longer be asked; else `host:port` itself
 * (the address connected to). `closeGraceMs` is already checked; undefined means the default.
 */
export function openSocketStream(
  socket: Socket,
  closeGraceMs: number | undefined,
  label: string | undefined,
  host?: string,
  port?: number,
  askPeer = false,
): SocketStream {
  const engine = new NodeStreamEngine(socket, socket, "socket", closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS, label, askPeer ? socket : undefined, host, port);
  return makeSocketStream(engine, socket);
}
