/**
 * Listeners: `listenTcp`, `listenUnix`, `listenTls` and the {@link Listener} they return.
 *
 * Node accepts connections as they arrive (its server cannot be told to stop accepting), so the
 * listener keeps accepted sockets, paused and unread, until `accept()` takes them; at most
 * `backlog` of them (default 511): beyond that new connections are closed at once, which
 * is what a full kernel backlog does too.
 *
 * @module
 */
import { existsSync, lstatSync, unlinkSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import {
  park,
  requireOptions,
  requireOptionalString,
  requireDuration,
  show,
  wake,
  wakeWithError,
} from "../core/index.js";
import { formatAddress, requireHost, requirePort, requireUnixPath } from "./address.js";
import { openSocketStream, type SocketStream } from "./socket-stream.js";
import { ListenerEngine, ignore } from "./listener-engine.js";

/** Where a {@link Listener} listens. `String(address)` is `127.0.0.1:4000` or the path. */
export interface ListenerAddress {
  /** The bound IP address (TCP). */
  readonly host?: string;
  /** The bound port (TCP): the one the system picked when you asked for 0. */
  readonly port?: number;
  /** `"IPv4"` or `"IPv6"` (TCP). */
  readonly family?: string;
  /** The socket's path (Unix). */
  readonly path?: string;
  /** `127.0.0.1:4000`, `[::1]:4000` or the path. */
  toString(): string;
}

/** Options of {@link listenTcp}. */
export interface ListenTcpOptions {
  /** The address to bind. Default `"127.0.0.1"`; `"::"` or `"0.0.0.0"` for every interface. */
  readonly host?: string | null | undefined;
  /** Accepted connections kept waiting for `accept()` (and the kernel's backlog). Default 511. */
  readonly backlog?: number | null | undefined;
  /** Bind IPv6 only (for `"::"`). Default false. */
  readonly ipv6Only?: boolean | null | undefined;
  /** `closeGraceMs` of the accepted streams. Default 1 000. */
  readonly closeGraceMs?: number | null | undefined;
}

/** Options of {@link listenUnix}. */
export interface ListenUnixOptions {
  /** Accepted connections kept waiting for `accept()`. Default 511. */
  readonly backlog?: number | null | undefined;
  /** `closeGraceMs` of the accepted streams. Default 1 000. */
  readonly closeGraceMs?: number | null | undefined;
}

/** Options of {@link listenTls}: Node's `tls.createServer` options plus {@link ListenTcpOptions}. */
export interface ListenTlsOptions extends tls.TlsOptions, ListenTcpOptions {}

let makeListener: (engine: ListenerEngine) => Listener;

/**
 * A listening socket: take connections with {@link Listener.accept}, or hand it to `serve`.
 * It registers with the run as a resource of kind `"listener"` labelled with its address, and
 * waits in `accept()` are labelled `accept on 127.0.0.1:4000`.
 *
 * @example
 * ```ts
 * import { listenTcp } from "trellis/net";
 * await using listener = await listenTcp(0);
 * console.log(`listening on ${listener.address}`);
 * await using conn = await listener.accept();
 * ```
 */
export class Listener implements AsyncDisposable {
  readonly #engine: ListenerEngine;

  // Listeners come from listenTcp, listenUnix and listenTls (private: the published type shows none).
  private constructor(engine: ListenerEngine) {
    this.#engine = engine;
    engine.track(this);
  }

  /** Where it listens: `{ host, port, family }` or `{ path }`; `String(address)` is `127.0.0.1:4000`. */
  get address(): ListenerAddress {
    return this.#engine.address;
  }

  /** The underlying Node server. */
  get server(): net.Server {
    return this.#engine.server;
  }

  /**
   * Waits for the next connection and returns it as a {@link SocketStream} (for `listenTls`,
   * once its handshake has succeeded; failed handshakes never reach `accept`). A checkpoint; a
   * cancelled accept takes no connection (the next `accept` gets it).
   *
   * @throws {ClosedResourceError} After `close()`, also for a task blocked in `accept`.
   * @throws {BusyResourceError} If another task is already in `accept()`.
   * @example
   * ```ts
   * import { listenTcp } from "trellis/net";
   * await using listener = await listenTcp(8080);
   * for (;;) { const conn = await listener.accept(); await conn.send("hi\n"); await conn.close(); }
   * ```
   */
  accept(): Promise<SocketStream> {
    // Not an async function: one promise reaction per accept, and #adopt runs in the caller's
    // context (AsyncLocalStorage follows the reaction), so the stream is tracked by its run.
    return this.#engine.accept().then(this.#adopt);
  }

  /** Wraps an accepted socket (one function per listener, not a closure per accept). */
  readonly #adopt = (socket: net.Socket): SocketStream => {
    socket.off("error", ignore);
    // Nagle is already off on accepted TCP sockets: listenTcp's server turns it off as it accepts.
    const engine = this.#engine;
    const address = engine.address;
    if (address.path !== undefined) return openSocketStream(socket, engine.closeGraceMs, address.path);
    // Labelled by the peer's address, asked of the system only if a label is ever needed.
    return openSocketStream(socket, engine.closeGraceMs, undefined, address.host, address.port, true);
  };

  /**
   * Stops listening: connections not yet accepted are closed, a task blocked in `accept()` gets
   * `ClosedResourceError`, a Unix socket file is removed. Streams already accepted stay open.
   * Idempotent; never raises `Cancelled`.
   *
   * @example
   * ```ts
   * import { listenTcp } from "trellis/net";
   * const listener = await listenTcp(0);
   * await listener.close();
   * ```
   */
  close(): Promise<void> {
    return this.#engine.close();
  }

  /** Same as {@link Listener.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.#engine.close();
  }

  static {
    makeListener = (engine) => new Listener(engine);
  }
}

function requireBacklog(where: string, value: unknown): number {
  if (value === undefined || value === null) return 511;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${where}: \`options.backlog\` must be an integer ≥ 1, got ${show(value)}`);
  }
  return value;
}

function grace(where: string, value: unknown): number | undefined {
  return value === undefined || value === null ? undefined : requireDuration(where, "options.closeGraceMs", value);
}

/** Starts `server` listening; one park, whose abort closes it. */
function startListening(server: net.Server, listenOptions: net.ListenOptions, label: string): Promise<void> {
  return park<void>(`listen on ${label}`, (parked) => {
    const onError = (err: unknown): void => {
      server.off("listening", onListening);
      server.close();
      wakeWithError(parked, err);
    };
    const onListening = (): void => {
      server.off("error", onError);
      wake(parked, undefined);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(listenOptions);
    parked.abort = () => {
      server.off("error", onError);
      server.off("listening", onListening);
      server.close();
      return true;
    };
  });
}

async function listenInet(where: string, server: net.Server, port: number, options: ListenTcpOptions | undefined, event: string): Promise<Listener> {
  requirePort(where, port, true);
  requireOptions(where, options);
  const host = options?.host == null ? "127.0.0.1" : requireHost(where, requireOptionalString(where, "options.host", options.host));
  const backlog = requireBacklog(where, options?.backlog);
  const closeGraceMs = grace(where, options?.closeGraceMs);
  const ipv6Only = options?.ipv6Only == null ? false : options.ipv6Only === true;
  await startListening(server, { port, host, backlog, ipv6Only }, formatAddress(host, port));
  const info = server.address() as net.AddressInfo;
  const address: ListenerAddress = {
    host: info.address,
    port: info.port,
    family: info.family,
    toString: () => formatAddress(info.address, info.port),
  };
  return makeListener(new ListenerEngine(server, address, backlog, closeGraceMs, undefined, event));
}

/**
 * Listens for TCP connections on `port` (0 picks a free port: read it from
 * `listener.address.port`). A checkpoint.
 *
 * @param port - An integer from 0 to 65535.
 * @param options - `host` (default `"127.0.0.1"`), `backlog` (511), `ipv6Only`, `closeGraceMs`.
 * @throws {RangeError} If `port` is out of range.
 * @throws {Error} Node's `EADDRINUSE` when the port is taken, `EACCES` when it is privileged.
 * @example
 * ```ts
 * import { listenTcp } from "trellis/net";
 * await using listener = await listenTcp(0);
 * console.log(listener.address.port);
 * ```
 */
export function listenTcp(port: number, options?: ListenTcpOptions): Promise<Listener> {
  // noDelay: Node turns Nagle off as it accepts.
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
  return listenInet("listenTcp()", server, port, options, "connection");
}

/**
 * Listens for TLS connections on `port`: `accept()` returns streams whose handshake has
 * succeeded. A checkpoint.
 *
 * @param port - An integer from 0 to 65535.
 * @param options - Node's `tls.createServer` options (`key`, `cert`, `ca`, `requestCert`…) and
 *   {@link listenTcp}'s.
 * @example
 * ```ts
 * import { listenTls } from "trellis/net";
 * await using listener = await listenTls(8443, { key: myKey, cert: myCert });
 * ```
 */
export function listenTls(port: number, options: ListenTlsOptions): Promise<Listener> {
  if (typeof options !== "object" || options === null) {
    return Promise.reject(new TypeError(`listenTls(): \`options\` must be an object with at least \`key\` and \`cert\`, got ${show(options)}`));
  }
  const { host, backlog, ipv6Only, closeGraceMs, ...tlsOptions } = options;
  let server: tls.Server;
  try {
    // Not allowHalfOpen during the handshake: with it, a server socket whose client gave up
    // mid-handshake is never reported nor closed. Accepted sockets are made half-open after.
    server = tls.createServer(tlsOptions as tls.TlsOptions);
  } catch (err) {
    return Promise.reject(err);
  }
  return listenInet("listenTls()", server, port, { host, backlog, ipv6Only, closeGraceMs }, "secureConnection");
}

/**
 * Listens on a Unix domain socket at `path`. A stale socket file left by a dead process is
 * replaced; any other file there is an error. The file is removed by `close()`. A checkpoint.
 *
 * @param path - At most 107 bytes on Linux, 103 elsewhere.
 * @param options - `backlog` (511), `closeGraceMs`.
 * @throws {TypeError} If `path` is not a non-empty string.
 * @throws {RangeError} If `path` is too long for a Unix socket.
 * @throws {Error} `EADDRINUSE` if a live server listens there or a non-socket file is in the
 *   way; `EACCES`/`ENOENT` for a directory that cannot hold it.
 * @example
 * ```ts
 * import { listenUnix } from "trellis/net";
 * await using listener = await listenUnix("/tmp/app.sock");
 * ```
 */
export async function listenUnix(path: string, options?: ListenUnixOptions): Promise<Listener> {
  const where = "listenUnix()";
  requireUnixPath(where, path);
  requireOptions(where, options);
  const backlog = requireBacklog(where, options?.backlog);
  const closeGraceMs = grace(where, options?.closeGraceMs);
  if (existsSync(path)) await removeStale(where, path);
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await startListening(server, { path, backlog }, path);
  const address: ListenerAddress = { path, toString: () => path };
  return makeListener(new ListenerEngine(server, address, backlog, closeGraceMs, path, "connection"));
}

/** A socket file nobody answers on is removed; a live one or a non-socket is EADDRINUSE. */
async function removeStale(where: string, path: string): Promise<void> {
  let isSocket = false;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  const inUse = (why: string) =>
    Object.assign(new Error(`${where}: ${path} ${why}; choose another path or remove it`), { code: "EADDRINUSE", path });
  if (!isSocket) throw inUse("exists and is not a socket");
  const alive = await park<boolean>(`probe ${path}`, (parked) => {
    const probe = net.connect({ path });
    probe.once("connect", () => {
      probe.destroy();
      wake(parked, true);
    });
    probe.once("error", () => {
      probe.destroy();
      wake(parked, false);
    });
    parked.abort = () => {
      probe.removeAllListeners();
      probe.on("error", ignore);
      probe.destroy();
      return true;
    };
  });
  if (alive) throw inUse("is in use by a live server");
  try {
    unlinkSync(path);
  } catch (err) {
    throw Object.assign(new Error(`${where}: the stale socket file ${path} cannot be removed (${(err as Error).message}); remove it or choose another path`, { cause: err }), {
      code: (err as { code?: unknown }).code,
    });
  }
}
