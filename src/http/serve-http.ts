/**
 * `serveHttp`: a `node:http` server whose requests are trellis tasks, and whose shutdown waits
 * for them. The machinery is in http-server.ts and request-task.ts.
 *
 * @module
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerOptions, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from "node:https";
import {
  requireDuration,
  requireFunction,
  requireOptionalString,
  requireOptions,
  show,
  type Task,
  type TaskStatus,
} from "../core/index.js";
import { HttpServer } from "./http-server.js";

/**
 * What `serveHttp` reports through `status.started()` once it is listening.
 *
 * @example
 * ```ts
 * import { withTaskGroup } from "trellis";
 * import { serveHttp, type HttpServerInfo } from "trellis/http";
 * await withTaskGroup(async (tg) => {
 *   const info: HttpServerInfo = await tg.start((status) => serveHttp(handler, { status }));
 *   console.log(`listening on ${info.url}`);
 * });
 * ```
 */
export interface HttpServerInfo {
  /** The port it listens on (the one the system picked, for port 0). */
  readonly port: number;
  /** The address it is bound to: `127.0.0.1`, `::1`, `::` (every address). */
  readonly address: string;
  /** `http://127.0.0.1:8080/` (`https:` with `tls`; `localhost` when bound to every address). */
  readonly url: string;
}

/**
 * A request handler, as `node:http` calls it: Express and Connect apps, routers and middleware
 * written for `http.createServer` work unchanged. It runs as its own task; its promise, if it
 * returns one, is awaited, and the task also waits for the response to end.
 *
 * @example
 * ```ts
 * import express from "express";
 * import { serveHttp, type HttpHandler } from "trellis/http";
 * const hello: HttpHandler = (req, res) => res.end(`hello ${req.url}\n`);
 * const app = express(); // an Express app is a handler too
 * app.get("/hello", hello);
 * await serveHttp(app, { port: 8080 });
 * ```
 */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * Receives a handler's failure instead of stderr: the error (any value), the request's task
 * (`name` is `"GET /path"`) and the request. It runs synchronously, after the failed request
 * was answered (500) or its connection closed; if it throws, the server shuts down and
 * `serveHttp` throws that error, as a supervisor whose `onError` throws fails.
 *
 * @example
 * ```ts
 * import type { HttpErrorHandler } from "trellis/http";
 * const onError: HttpErrorHandler = (err, task, req) => logger.error({ err, request: task.name, ua: req.headers["user-agent"] });
 * ```
 */
export type HttpErrorHandler = (err: unknown, task: Task<unknown>, req: IncomingMessage) => void;

/**
 * Options of {@link serveHttp}. `null` and `undefined` mean "not given" for every option.
 *
 * @example
 * ```ts
 * import type { ServeHttpOptions } from "trellis/http";
 * const options: ServeHttpOptions = { port: 8080, host: "127.0.0.1", requestTimeoutMs: 30_000, shutdownGraceMs: 5_000 };
 * ```
 */
export interface ServeHttpOptions {
  /** An integer 0–65535; 0 (default) lets the system pick a free port. */
  readonly port?: number | null;
  /** The address to bind (`"127.0.0.1"`, `"::1"`, `"localhost"`). Default: every address. */
  readonly host?: string | null;
  /** From `tg.start`: receives {@link HttpServerInfo} once the server listens. */
  readonly status?: TaskStatus<HttpServerInfo> | null;
  /**
   * Ms a request's handler may run: then it is cancelled, and answered
   * `503 Service Unavailable` if it had sent nothing (its connection is closed if it had).
   * Default: no limit.
   */
  readonly requestTimeoutMs?: number | null;
  /**
   * Ms a client has to send a request's headers (Node's `headersTimeout`, checked often
   * enough to matter): a slow client is answered 408 and disconnected. Default: Node's, 60 000.
   */
  readonly headersTimeoutMs?: number | null;
  /** Ms running requests get to finish once `serveHttp` is cancelled; then they are cancelled. Default 10 000. */
  readonly shutdownGraceMs?: number | null;
  /** Serve HTTPS: options of `https.createServer` (`key`, `cert`, `ca`, …). */
  readonly tls?: HttpsServerOptions | null;
  /** Receives handler failures. Default: printed on stderr with the task chain. */
  readonly onError?: HttpErrorHandler | null;
}

const DEFAULT_GRACE_MS = 10_000;

/**
 * Runs an HTTP (or, with `tls`, HTTPS) server until cancelled. Each request runs
 * `handler(req, res)` as its own task, named `"GET /path"`, in a scope that is cancelled when
 * the client disconnects before the response has ended, or when `requestTimeoutMs` passes:
 * `currentSignal()` inside aborts too, so a `fetch`, a database query or an `fs` call made for
 * the request stops. A handler that throws is answered `500` if it had sent nothing (its
 * connection is closed if it had) and is reported as a supervisor reports (stderr, or
 * `onError`); the server goes on.
 *
 * Cancelling `serveHttp` (a deadline, a sibling's failure, or `run()`'s SIGINT/SIGTERM) shuts
 * it down gracefully: it stops accepting, closes idle keep-alive connections at once, lets
 * running requests finish for up to `shutdownGraceMs` (their connections close once answered),
 * then cancels them (those that had sent nothing get a 503), and returns — by throwing the
 * `Cancelled` — only once every request task has ended and every socket is closed. A checkpoint.
 *
 * With `tg.start`, TypeScript learns what `status` reports from a type argument
 * (`tg.start<HttpServerInfo>(…)`) or from the variable the result is assigned to.
 *
 * @param handler - `(req, res)` as for `http.createServer`; may be async.
 * @param options - See {@link ServeHttpOptions}.
 * @returns Never returns normally: it ends by cancellation (or a fatal error).
 * @throws {TypeError} If `handler` is not a function or an option has the wrong type.
 * @throws {RangeError} If `port` is not an integer 0–65535, or a duration is negative, zero or NaN.
 * @throws {Error} If it cannot listen: the message names the port (`code` is `EADDRINUSE`, …).
 * @example
 * ```ts
 * import { run, withTaskGroup, sleep } from "trellis";
 * import { serveHttp, type HttpServerInfo } from "trellis/http";
 * await run(() =>
 *   withTaskGroup(async (tg) => {
 *     const { url } = await tg.start<HttpServerInfo>((status) =>
 *       serveHttp(async (req, res) => {
 *         await sleep(10); // cancelled if the client goes away
 *         res.end("hello\n");
 *       }, { port: 8080, status, requestTimeoutMs: 5_000 }),
 *     );
 *     console.log(`listening on ${url}`); // Ctrl-C drains the requests, then exits
 *   }),
 * );
 * ```
 */
export async function serveHttp(handler: HttpHandler, options?: ServeHttpOptions): Promise<void> {
  const where = "serveHttp()";
  requireFunction(where, "handler", handler);
  requireOptions(where, options);
  const port = requirePort(options?.port ?? 0);
  const host = requireOptionalString(where, "options.host", options?.host ?? undefined);
  const status = options?.status ?? undefined;
  if (status !== undefined && (typeof status !== "object" || typeof status.started !== "function")) {
    throw new TypeError(`${where}: \`options.status\` must be the TaskStatus that tg.start() passes, got ${show(status)}`);
  }
  const requestTimeoutMs = positiveMs("options.requestTimeoutMs", options?.requestTimeoutMs ?? Infinity);
  const headersTimeoutMs = options?.headersTimeoutMs ?? undefined;
  if (headersTimeoutMs !== undefined && (positiveMs("options.headersTimeoutMs", headersTimeoutMs) === Infinity)) {
    throw new RangeError(`${where}: \`options.headersTimeoutMs\` must be a finite number of milliseconds > 0, got Infinity; leave it out for Node's default`);
  }
  const shutdownGraceMs = requireDuration(where, "options.shutdownGraceMs", options?.shutdownGraceMs ?? DEFAULT_GRACE_MS);
  const tls = options?.tls ?? undefined;
  if (tls !== undefined) requireOptionsObject("options.tls", tls);
  const onError = options?.onError ?? undefined;
  if (onError !== undefined) requireFunction(where, "options.onError", onError);

  const nodeOptions: ServerOptions = {};
  if (headersTimeoutMs !== undefined) {
    nodeOptions.headersTimeout = headersTimeoutMs;
    // Node checks the timeout every `connectionsCheckingInterval` (30 s by default), and wants
    // requestTimeout (receiving the whole request, default 300 s) to be at least as long.
    nodeOptions.connectionsCheckingInterval = Math.max(10, Math.min(30_000, Math.floor(headersTimeoutMs / 4)));
    if (headersTimeoutMs > 300_000) nodeOptions.requestTimeout = headersTimeoutMs;
  }
  const server = tls === undefined ? createHttpServer(nodeOptions) : createHttpsServer({ ...tls, ...nodeOptions });
  const engine = new HttpServer(server, { handler, requestTimeoutMs, onError, secure: tls !== undefined });
  try {
    await engine.listen(port, host);
  } catch (err) {
    await engine.abandon();
    throw err;
  }
  try {
    status?.started({ port: engine.port, address: engine.address, url: engine.url });
    await engine.serve();
  } finally {
    await engine.shutdown(shutdownGraceMs);
  }
}

function requirePort(port: unknown): number {
  if (typeof port !== "number") throw new TypeError(`serveHttp(): \`options.port\` must be an integer 0–65535, got ${show(port)}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`serveHttp(): \`options.port\` must be an integer 0–65535 (0 picks a free port), got ${show(port)}`);
  }
  return port;
}

function positiveMs(name: string, value: unknown): number {
  const ms = requireDuration("serveHttp()", name, value);
  if (ms === 0) throw new RangeError(`serveHttp(): \`${name}\` must be > 0 milliseconds, got 0; leave it out for no limit`);
  return ms;
}

function requireOptionsObject(name: string, value: unknown): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`serveHttp(): \`${name}\` must be an object (options of https.createServer), got ${show(value)}`);
  }
}
