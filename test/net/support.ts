// Helpers shared by the net tests.
import assert from "node:assert/strict";
import net from "node:net";
import { readFileSync } from "node:fs";
import { wait } from "../../src/core/index.js";
import { CancelScope, checkpoint, withTaskGroup } from "../../src/index.js";
import { connectTcp, listenTcp, type SocketStream } from "../../src/net/index.js";
export { mulberry32 as prng } from "../support/prng.js";

/** Two connected loopback TCP sockets (client, server side), both allowing half-open. */
export async function nodeSocketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
  await wait(new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve)));
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
  await wait(new Promise<void>((resolve, reject) => client.once("connect", resolve).once("error", reject)));
  const other = await wait(accepted);
  server.close(); // stops listening now; its callback would wait for both sockets to end
  return [client, other];
}

/** After a test: no socket, server or timer handle of ours is left behind. */
export async function assertNothingLeft(): Promise<void> {
  const ours = () => process.getActiveResourcesInfo().filter((r) => r !== "TTYWrap" && r !== "FSReqCallback" && r !== "PipeWrap" && r !== "ProcessWrap");
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  // An abandoned name lookup finishes in the resolver's thread on its own: give it a moment.
  for (let i = 0; i < 100 && ours().includes("GetAddrInfoReqWrap"); i++) await new Promise<void>((resolve) => setTimeout(resolve, 5));
  const left = ours();
  assert.deepEqual(left, [], "a handle was left open");
}

/** Bytes 0..n-1 of a fixed pattern. */
export function pattern(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x + 0x6d2b79f5) >>> 0;
    let t = Math.imul(x ^ (x >>> 15), 1 | x);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return out;
}

/**
 * More than the kernel's socket buffers take on a loopback connection whose receiver does not
 * read: the sender's buffer (at most tcp_wmem's maximum) plus the receiver's initial window
 * (tcp_rmem's default; it grows only as the application reads), with a wide margin.
 */
function clogSize(): number {
  const field = (file: string, i: number, fallback: number): number => {
    try {
      return Number(readFileSync(file, "utf8").trim().split(/\s+/)[i]) || fallback;
    } catch {
      return fallback;
    }
  };
  const kernel = field("/proc/sys/net/ipv4/tcp_wmem", 2, 4 << 20) + field("/proc/sys/net/ipv4/tcp_rmem", 1, 128 << 10);
  return Math.max(8 << 20, 2 * kernel);
}

let clogBuffer: Buffer | undefined;

/**
 * Clogs the sending side of `socket` (plain or TLS): one write larger than every kernel buffer
 * on the path, which the peer never reads, so any later send waits until the peer receives.
 * One shared zero-filled buffer (Node does not copy it), written around the trellis stream.
 */
export function clog(socket: import("node:net").Socket): void {
  clogBuffer ??= Buffer.alloc(clogSize());
  socket.write(clogBuffer);
}

/** A connected loopback TCP pair of trellis streams (client side, accepted side) and the listener's address, as text. */
export async function socketStreamPair(host = "127.0.0.1"): Promise<[SocketStream, SocketStream, string]> {
  await using listener = await listenTcp(0, { host });
  let accepted: SocketStream | undefined;
  let connected: SocketStream | undefined;
  await withTaskGroup(async (tg) => {
    tg.spawn(async () => void (accepted = await listener.accept()));
    connected = await connectTcp(host, listener.address.port!);
  });
  return [connected!, accepted!, String(listener.address)];
}

/** Runs `op` in a scope cancelled after `after` checkpoints of another task (never if -1). */
export async function maybeCancelled<T>(after: number, op: () => Promise<T>): Promise<{ value?: T; cancelled: boolean }> {
  if (after < 0) return { value: await op(), cancelled: false };
  const scope = new CancelScope();
  let value: T | undefined;
  await withTaskGroup(async (tg) => {
    tg.spawn(async () => {
      for (let i = 0; i < after; i++) await checkpoint();
      scope.cancel();
    });
    value = await scope.run(op);
    scope.cancel(); // the op finished first: stop the canceller
  });
  return scope.cancelledCaught ? { cancelled: true } : { value, cancelled: false };
}
