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
import { park, requireDuration, requireOptions, requireBoolean, requireOptionalString, wait, wake, wakeWithError } from "../core/index.js";
import { formatAddress, requireHost, requirePort } from "./address.js";
import { openSocketStream, type SocketStream } from "./socket-stream.js";

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
export async function connectTcp(host: string, port: number, options?: ConnectTcpOptions): Promise<SocketStream> {
  const where = "connectTcp()";
  const name = requireHost(where, host);
  requirePort(where, port, false);
  requireOptions(where, options);
  const delay = options?.happyEyeballsDelayMs == null ? 250 : requireDuration(where, "options.happyEyeballsDelayMs", options.happyEyeballsDelayMs);
  const localAddress = options?.localAddress == null ? undefined : requireOptionalString(where, "options.localAddress", options.localAddress);
  const noDelay = options?.noDelay == null ? true : requireBoolean(where, "options.noDelay", options.noDelay);
  const closeGraceMs = options?.closeGraceMs == null ? undefined : requireDuration(where, "options.closeGraceMs", options.closeGraceMs);

  let targets: Target[];
  const literal = net.isIP(name);
  if (literal !== 0) targets = [{ address: name, family: literal }];
  else targets = interleave(await wait(lookup(name, { all: true, verbatim: true })));
  if (targets.length === 0) throw Object.assign(new Error(`${where}: ${name} resolved to no address`), { code: "ENOTFOUND" });

  const label = formatAddress(name, port);
  const socket = targets.length === 1 ? await connectOne(targets[0]!, port, localAddress, label) : await race(targets, port, delay, localAddress, label);
  socket.setNoDelay(noDelay);
  // Labelled with the address it connected to, which is known: no getpeername call.
  return openSocketStream(socket, { closeGraceMs, label: formatAddress(connectedTo.get(socket) ?? targets[0]!.address, port) });
}

/** One address (an IP literal, or a name with one address): no race to run. */
function connectOne(target: Target, port: number, localAddress: string | undefined, label: string): Promise<net.Socket> {
  return park<net.Socket>(`connect to ${label}`, (parked) => {
    const socket = net.connect({ host: target.address, port, family: target.family, localAddress, allowHalfOpen: true, autoSelectFamily: false });
    // on + off rather than once: once wraps each listener in another function and its state.
    const onConnect = (): void => {
      socket.off("connect", onConnect);
      socket.off("error", onError);
      wake(parked, socket);
    };
    const onError = (err: unknown): void => {
      socket.off("connect", onConnect);
      socket.off("error", onError);
      socket.destroy();
      wakeWithError(parked, err);
    };
    socket.on("connect", onConnect);
    socket.on("error", onError);
    parked.abort = () => {
      socket.off("connect", onConnect);
      socket.off("error", onError);
      socket.on("error", ignore);
      socket.destroy();
      return true;
    };
  });
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
export function race(targets: readonly Target[], port: number, delay: number, localAddress: string | undefined, label: string): Promise<net.Socket> {
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
      const socket = net.connect({ host: target.address, port, family: target.family, localAddress, allowHalfOpen: true, autoSelectFamily: false });
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
