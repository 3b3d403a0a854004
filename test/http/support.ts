// Shared by the trellis/http tests: real clients over loopback (node:http agents, raw sockets),
// a server run inside run(), and the check that nothing is left afterwards.
import assert from "node:assert/strict";
import { request as httpRequest, Agent, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect, type Socket } from "node:net";
import { run, withTaskGroup, type TaskGroup } from "../../src/index.js";
import { serveHttp, type HttpHandler, type HttpServerInfo, type ServeHttpOptions } from "../../src/http/index.js";

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  body?: string;
  agent?: Agent | false;
  ca?: string;
  headers?: Record<string, string | number>;
}

/** One request with node:http (or https for an https: URL); resolves with the whole reply, rejects on a socket error. */
export function get(url: string, path = "/", options: RequestOptions = {}): Promise<Reply> {
  const target = new URL(path, url);
  const make = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = make(
      target,
      { method: options.method ?? "GET", agent: options.agent ?? false, ca: options.ca, headers: options.headers },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        res.on("error", reject);
        res.on("aborted", () => reject(new Error("response aborted")));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** What a request ended as, from the client's side: a status, or a broken connection. */
export async function outcome(promise: Promise<Reply>): Promise<number | "reset"> {
  try {
    return (await promise).status;
  } catch {
    return "reset";
  }
}

/** A raw TCP connection to the server. */
export function rawConnect(info: HttpServerInfo): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(info.port, "127.0.0.1", () => resolve(socket));
    socket.on("error", reject);
  });
}

/** Resolves once `socket` has closed, with everything it received. */
export function closedWith(socket: Socket): Promise<string> {
  let text = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (text += chunk));
  return new Promise((resolve) => socket.on("close", () => resolve(text)));
}

/**
 * Runs a server on 127.0.0.1:0 inside run(), calls `body(info, tg)`, then cancels the group
 * (which shuts the server down) unless `body` did. Returns once run() has returned.
 */
export async function withServer(
  handler: HttpHandler,
  options: Omit<ServeHttpOptions, "status"> | undefined,
  body: (info: HttpServerInfo, tg: TaskGroup) => Promise<void>,
  runOptions: Parameters<typeof run>[1] = {},
): Promise<void> {
  await run(
    () =>
      withTaskGroup(async (tg) => {
        const info = await tg.start<HttpServerInfo>((status) => serveHttp(handler, { host: "127.0.0.1", ...options, status }), {
          name: "server",
        });
        try {
          await body(info, tg);
        } finally {
          tg.cancel();
        }
      }),
    { handleSignals: false, ...runOptions },
  );
}

/** This process's network handles and timers, by kind. */
function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) if (/TCP|TLS|Timeout|Immediate|Pipe/.test(r)) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

/** What is open before a test (the test runner keeps a timer of its own). */
export function baseline(): Record<string, number> {
  return handles();
}

/**
 * Waits (bounded) for client sockets being closed to go, then asserts that no network handle
 * and no timer is open beyond `before`.
 */
export async function assertNothingLeft(before: Record<string, number>): Promise<void> {
  const extra = () => {
    const now = handles();
    return Object.keys(now).filter((k) => now[k]! > (before[k] ?? 0)).map((k) => `${k} ×${now[k]! - (before[k] ?? 0)}`);
  };
  for (let i = 0; i < 50 && extra().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(extra(), [], "handles left after the server shut down");
}
