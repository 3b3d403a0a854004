/**
 * `connectTcp`: Happy Eyeballs (RFC 8305) over every address a name resolves to.
 *
 * We run the attempts ourselves rather than use Node's `autoSelectFamily`: Node's closes an
 * attempt when the next one starts (after `autoSelectFamilyAttemptTimeout`), so on a path
 * slower than that delay every attempt is abandoned in turn and the connection fails, where RFC
 * 8305 keeps the earlier attempts running. Here every attempt started stays in the race until
 * it fails or another wins; a failure starts the next attempt at once; the winner's rivals are
 * destroyed before `connectTcp` returns; a cancellation destroys them all.
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import net from "node:net";
import {
  currentScope,
  park,
  requireDuration,
  requireOptions,
  requireBoolean,
  requireOptionalString,
  show,
  wait,
  wake,
  wakeWithError,
  type Parked,
  type WaitAborter,
  type WaitDescriber,
  type WaitRegistrar,
} from "../core/index.js";
import { formatAddress, requireHost, requirePort } from "./address.js";
import { openSocketStream, type SocketStream } from "./socket-stream.js";
import { kOwner } from "./node-stream-engine.js";

/** Options of {@link connectTcp}. */
export interface ConnectTcpOptions {
  /** Delay before starting the attempt to the next address while earlier ones are still pending (ms). Default 250. */
  readonly happyEyeballsDelayMs?: number | null | undefined;
  /** The local address to connect from. */
  readonly localAddress?: string | null | undefined;
  /** Disable Nagle's algorithm. Default true. */
  readonly noDelay?: boolean | null | undefined;
  /** How long `close()` waits for a graceful end (real ms). Default 1 000. */
  readonly closeGraceMs?: number | null | undefined;
}

/** The address each winning socket was connected to. */
const connectedTo = new WeakMap<net.Socket, string>();

interface Target {
  readonly address: string;
  readonly family: number;
}

/**
 * Connects to `host:port` over TCP and returns the connection as a {@link SocketStream}. The
 * name is resolved with the system resolver (`dns.lookup`, so `/etc/hosts` applies) and every
 * address is tried, IPv6 and IPv4 interleaved, attempts staggered by `happyEyeballsDelayMs`;
 * the first to connect wins and the others are closed. A checkpoint: cancelling it aborts every
 * attempt and leaves no socket behind (a name lookup already in the system resolver is
 * abandoned; it finishes on its own).
 *
 * @param host - A host name or an IP address (`"localhost"`, `"127.0.0.1"`, `"::1"`, `"[::1]"`).
 * @param port - An integer from 1 to 65535.
 * @param options - `happyEyeballsDelayMs` (250), `localAddress`, `noDelay` (true), `closeGraceMs`.
 * @throws {TypeError} If `host` is not a host name or IP address.
 * @throws {RangeError} If `port` is out of range.
 * @throws {Error} Node's error (`ECONNREFUSED`, `ENOTFOUND`…) when one address was tried; an
 *   `AggregateError` holding each attempt's error when several were (its `code` is the first's).
 * @example
 * ```ts
 * import { connectTcp } from "trellis/net";
 * await using conn = await connectTcp("localhost", 8080);
 * await conn.send("GET / HTTP/1.0\r\n\r\n");
 * ```
 */
export function connectTcp(host: string, port: number, options?: ConnectTcpOptions): Promise<SocketStream> {
  // Not one async function: the checks and the IP-literal path (a connection storm's) make no
  // async frame with every local of the name-resolving path.
  try {
    return connectChecked(host, port, options);
  } catch (err) {
    return Promise.reject(err);
  }
}

function connectChecked(host: string, port: number, options: ConnectTcpOptions | undefined): Promise<SocketStream> {
  const where = "connectTcp()";
  const name = requireHost(where, host);
  requirePort(where, port, false);
  requireOptions(where, options);
  const delay = options?.happyEyeballsDelayMs == null ? 250 : requireDuration(where, "options.happyEyeballsDelayMs", options.happyEyeballsDelayMs);
  const localAddress = options?.localAddress == null ? undefined : requireOptionalString(where, "options.localAddress", options.localAddress);
  // Checked here: net.connect would throw it after making the socket's handle (left open).
  if (localAddress !== undefined && net.isIP(localAddress) === 0) {
    throw new TypeError(`${where}: \`options.localAddress\` must be an IP address, got ${show(localAddress)}`);
  }
  const noDelay = options?.noDelay == null ? true : requireBoolean(where, "options.noDelay", options.noDelay);
  const closeGraceMs = options?.closeGraceMs == null ? undefined : requireDuration(where, "options.closeGraceMs", options.closeGraceMs);

  // An IP literal: one attempt, no lookup, no race (the connection storm's path).
  const literal = net.isIP(name);
  if (literal !== 0) return connectLiteral(name, port, localAddress, noDelay, closeGraceMs);
  return connectByName(name, port, delay, localAddress, noDelay, closeGraceMs);
}

/**
 * One promise reaction, not an async function (whose frame, promise and await closures cost
 * more than the connection's stream): the reaction runs in the caller's context (the context
 * follows a promise reaction), so the stream is tracked by the caller's run.
 */
function connectLiteral(address: string, port: number, localAddress: string | undefined, noDelay: boolean, closeGraceMs: number | undefined): Promise<SocketStream> {
  return connectOne(address, port, localAddress, noDelay, closeGraceMs).then(adoptConnected);
}

/**
 * The stream of a connected attempt, labelled with the address it connected to, which is known
 * (no getpeername call) and formatted only if a label is ever asked for.
 */
function adoptConnected(attempt: ConnectAttempt): SocketStream {
  return openSocketStream(attempt.socket, attempt.closeGraceMs, undefined, attempt.address, attempt.port);
}

async function connectByName(
  name: string,
  port: number,
  delay: number,
  localAddress: string | undefined,
  noDelay: boolean,
  closeGraceMs: number | undefined,
): Promise<SocketStream> {
  const where = "connectTcp()";
  const targets = interleave(await wait(lookup(name, { all: true, verbatim: true })));
  if (targets.length === 0) throw Object.assign(new Error(`${where}: ${name} resolved to no address`), { code: "ENOTFOUND" });
  if (targets.length === 1) return adoptConnected(await connectOne(targets[0]!.address, port, localAddress, noDelay, closeGraceMs));
  const socket = await race(targets, port, delay, localAddress, formatAddress(name, port), noDelay);
  return openSocketStream(socket, closeGraceMs, undefined, connectedTo.get(socket) ?? targets[0]!.address, port);
}

/** A connecting socket keeps its attempt in the slot its engine takes later (see kOwner). */
interface AttemptHolder {
  [kOwner]?: ConnectAttempt | undefined;
}

/**
 * One connection attempt's wait: its label, registrar and abort in one object, and listeners
 * shared by every attempt (Node calls them with the socket as `this`, which holds its attempt),
 * so connecting makes no closure.
 */
class ConnectAttempt implements WaitDescriber, WaitAborter, WaitRegistrar<ConnectAttempt> {
  parked: Parked<ConnectAttempt> | undefined = undefined;

  constructor(
    readonly socket: net.Socket,
    readonly address: string,
    readonly port: number,
    readonly closeGraceMs: number | undefined,
  ) {}

  describeWait(): string {
    return `connect to ${formatAddress(this.address, this.port)}`;
  }

  /** Precondition of an object registrar (park.ts): attaching listeners neither throws nor wakes. */
  registerWait(parked: Parked<ConnectAttempt>): void {
    this.parked = parked;
    parked.abort = this;
    const socket = this.socket;
    (socket as AttemptHolder)[kOwner] = this;
    socket.on("connect", onAttemptConnect);
    socket.on("error", onAttemptError);
  }

  abortWait(): boolean {
    const socket = this.detach();
    socket.on("error", ignore);
    socket.destroy();
    return true;
  }

  detach(): net.Socket {
    const socket = this.socket;
    socket.off("connect", onAttemptConnect);
    socket.off("error", onAttemptError);
    (socket as AttemptHolder)[kOwner] = undefined;
    return socket;
  }
}

function onAttemptConnect(this: net.Socket): void {
  const attempt = (this as AttemptHolder)[kOwner];
  if (attempt === undefined) return;
  attempt.detach();
  wake(attempt.parked!, attempt);
}

function onAttemptError(this: net.Socket, err: unknown): void {
  const attempt = (this as AttemptHolder)[kOwner];
  if (attempt === undefined) return;
  attempt.detach();
  this.destroy();
  wakeWithError(attempt.parked!, err);
}

/** One address (an IP literal, or a name with one address): no race to run. Resolves to the attempt, connected. */
function connectOne(address: string, port: number, localAddress: string | undefined, noDelay: boolean, closeGraceMs: number | undefined): Promise<ConnectAttempt> {
  // Nothing is made in a cancelled context: park would refuse the wait, leaving the socket.
  const scope = currentScope();
  if (scope !== undefined && scope.cause !== null) return scope.rejectCancelled();
  // noDelay as an option: Node sets it when the socket connects (one setsockopt, not two).
  // `address` is an IP literal (given, or resolved): Node makes no lookup, so `family` and
  // `autoSelectFamily` (each one more argument check in Node per connection) have no say.
  const socket = net.connect({ host: address, port, localAddress, allowHalfOpen: true, noDelay });
  const attempt = new ConnectAttempt(socket, address, port, closeGraceMs);
  return park<ConnectAttempt>(attempt, attempt, true, scope);
}

/** RFC 8305 §4: alternate the families, starting with the first one the resolver returned. */
/** @internal */
export function interleave(addresses: readonly { address: string; family: number }[]): Target[] {
  if (addresses.length === 0) return [];
  const first = addresses[0]!.family;
  const a = addresses.filter((x) => x.family === first);
  const b = addresses.filter((x) => x.family !== first);
  const out: Target[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i < a.length) out.push(a[i]!);
    if (i < b.length) out.push(b[i]!);
  }
  return out;
}

/** One park for the whole race: its abort destroys every attempt and clears the timer. */
/** @internal Exported for the tests: the race over `targets`. */
export function race(
  targets: readonly Target[],
  port: number,
  delay: number,
  localAddress: string | undefined,
  label: string,
  noDelay = true,
): Promise<net.Socket> {
  return park<net.Socket>(`connect to ${label}`, (parked) => {
    const attempts = new Set<net.Socket>();
    const errors: unknown[] = [];
    let next = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const destroyAll = (except?: net.Socket): void => {
      for (const s of attempts) {
        if (s === except) continue;
        s.removeAllListeners("connect");
        s.on("error", ignore);
        s.destroy();
      }
      attempts.clear();
    };
    const settle = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    };
    const startNext = (): void => {
      settle();
      if (next >= targets.length) {
        if (attempts.size === 0) {
          wakeWithError(parked, failure(errors, targets, label));
        }
        return;
      }
      const target = targets[next++]!;
      const socket = net.connect({ host: target.address, port, family: target.family, localAddress, allowHalfOpen: true, autoSelectFamily: false, noDelay });
      attempts.add(socket);
      socket.once("connect", () => {
        connectedTo.set(socket, target.address);
        settle();
        socket.off("error", onError);
        destroyAll(socket);
        wake(parked, socket);
      });
      const onError = (err: unknown): void => {
        attempts.delete(socket);
        socket.destroy();
        errors.push(err);
        startNext(); // a failure starts the next attempt at once
      };
      socket.once("error", onError);
      if (next < targets.length) timer = setTimeout(startNext, delay);
    };

    parked.abort = () => {
      settle();
      destroyAll();
      return true;
    };
    startNext();
  });
}

function ignore(): void {}

function failure(errors: readonly unknown[], targets: readonly Target[], label: string): unknown {
  if (errors.length === 1) return errors[0];
  const first = errors[0] as { code?: unknown } | undefined;
  const tried = targets.map((t) => formatAddress(t.address, undefined)).join(", ");
  return Object.assign(new AggregateError(errors, `connectTcp(): could not connect to ${label} (tried ${tried})`), { code: first?.code });
}
