/**
 * The machinery behind `serveHttp`: a `node:http` (or `node:https`) server whose requests run
 * as trellis tasks under one internal, shielded scope, and the shutdown sequence.
 *
 * Why a shielded scope: when the caller of `serveHttp` is cancelled (SIGTERM through `run()`,
 * a deadline, a sibling's failure), the running requests must *not* be cancelled at once; they
 * get `shutdownGraceMs` to finish. So their scope does not hear outer cancellation; the
 * shutdown sequence cancels it itself once the grace has passed.
 *
 * Shutdown, in order: stop accepting (`server.close()`); close idle keep-alive connections at
 * once; answer requests that arrive on open connections with `Connection: close`, and end each
 * connection as soon as its response has been sent; wait (shielded, up to the grace) until no
 * request runs and every connection is closed; then cancel the requests still running (each
 * that sent nothing gets a 503), give their answers up to {@link FLUSH_MS} to leave, destroy
 * whatever connection is still open, and wait until every request task has ended and every
 * socket is closed.
 *
 * @module
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import {
  CancelScope,
  UserScope,
  currentScope,
  currentTaskImpl,
  currentTime,
  isCancelled,
  park,
  trackResource,
  wake,
  wakeWithError,
  wait,
  type AnyParked,
  type Task,
  type TaskImpl,
  type TaskOwner,
  type TrackedResource,
} from "../core/index.js";
import { RequestTask, runRequest } from "./request-task.js";
import type { HttpErrorHandler } from "./serve-http.js";


/** @internal Ms that cancelled requests' answers get to leave before connections are destroyed. */
export const FLUSH_MS = 1_000;

/** @internal The settings the engine needs, validated by `serveHttp`. */
export interface HttpServerSettings {
  readonly handler: (req: IncomingMessage, res: ServerResponse) => unknown;
  readonly requestTimeoutMs: number;
  readonly onError: HttpErrorHandler | undefined;
  readonly secure: boolean;
}

/** @internal One server of `serveHttp`. */
export class HttpServer {
  readonly handler: (req: IncomingMessage, res: ServerResponse) => unknown;
  private readonly requestTimeoutMs: number;
  private readonly onError: HttpErrorHandler | undefined;
  private readonly secure: boolean;
  /** The scope of every request task: shielded from the caller, cancelled after the grace. */
  private readonly requests = new UserScope({ shield: true, name: "http requests" });
  /** The task that called serveHttp: the parent of every request task in error reports. */
  private readonly parentTask: TaskImpl<unknown> | undefined;
  private firstLive: RequestTask | undefined = undefined;
  /** Request tasks that have not ended. */
  live = 0;
  /** Shutting down: new requests get `Connection: close`. */
  private draining = false;
  /** The server has closed and every one of its connections too. */
  private closed = false;
  /** Set when a listen is cancelled before it completed: settles once it has, closed. */
  private listenPending: Promise<void> | undefined;
  /** The one wait of the shutdown sequence, and the condition that ends it. */
  private shutdownWaiter: AnyParked | undefined = undefined;
  private shutdownDone: (() => boolean) | undefined = undefined;
  /** The wait of `serve()`, until cancelled or a fatal error. */
  private serveWaiter: AnyParked | undefined = undefined;
  private fatal: { error: unknown } | undefined = undefined;
  private tracked: TrackedResource | undefined = undefined;
  /** `127.0.0.1:8080`, `[::1]:8080`, once listening. */
  hostPort = "";
  url = "";
  port = 0;
  address = "";

  constructor(
    readonly server: Server,
    settings: HttpServerSettings,
  ) {
    this.handler = settings.handler;
    this.requestTimeoutMs = settings.requestTimeoutMs;
    this.onError = settings.onError;
    this.secure = settings.secure;
    this.parentTask = currentTaskImpl();
    this.requests.enter(currentScope());
    server.on("request", this.onRequest);
    server.on("close", this.onClose);
    server.on("error", this.onServerError);
  }

  // ---- listening -------------------------------------------------------------------------

  /** Binds the server (a checkpoint). A port in use is an error that names it. */
  async listen(port: number, host: string | undefined): Promise<void> {
    const server = this.server;
    const where = `${host === undefined ? "" : `${bracket(host)}:`}${port}`;
    await park<void>(`http listen ${where}`, (parked) => {
      const onListening = () => {
        server.off("error", onError);
        wake(parked, undefined);
      };
      const onError = (err: unknown) => {
        server.off("listening", onListening);
        wakeWithError(parked, listenError(err, port, host));
      };
      server.once("listening", onListening);
      server.once("error", onError);
      server.listen(port, host);
      parked.abort = () => {
        server.off("listening", onListening);
        server.off("error", onError);
        // A listen still under way (a host name being resolved) is closed once it completes.
        if (server.listening) server.close();
        else {
          this.listenPending = new Promise<void>((resolve) => {
            const settle = () => {
              server.off("listening", settle);
              server.off("error", settle);
              if (server.listening) server.close();
              resolve();
            };
            server.once("listening", settle);
            server.once("error", settle);
          });
        }
        return true;
      };
    });
    const info = server.address() as AddressInfo;
    this.port = info.port;
    this.address = info.address;
    this.hostPort = `${bracket(info.address)}:${info.port}`;
    const urlHost = info.address === "::" || info.address === "0.0.0.0" ? "localhost" : bracket(info.address);
    this.url = `${this.secure ? "https" : "http"}://${urlHost}:${info.port}/`;
    // forceClose must not hold `this` (resources.ts): it closes the Node server only.
    this.tracked = trackResource(this, "http server", this.url, forceCloseServer.bind(undefined, server));
  }

  // ---- serving ---------------------------------------------------------------------------

  /** Waits until the caller is cancelled (then throws Cancelled) or the server fails. */
  async serve(): Promise<void> {
    if (this.fatal !== undefined) throw this.fatal.error;
    await park<void>(`http serve ${this.hostPort}`, (parked) => {
      this.serveWaiter = parked;
      parked.abort = () => {
        this.serveWaiter = undefined;
        return true;
      };
    });
  }

  /** A failure that ends the server: `onError` threw, or the listening socket failed. */
  private fail(error: unknown): void {
    if (this.fatal !== undefined) return;
    this.fatal = { error };
    const waiter = this.serveWaiter;
    this.serveWaiter = undefined;
    if (waiter !== undefined) wakeWithError(waiter, error);
  }

  private readonly onServerError = (err: unknown): void => {
    // Errors while binding are handled by listen(); later ones end the server.
    if (this.server.listening) this.fail(err);
  };

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // The task's name shows in reports and logs: the path without its query string (which
    // may hold tokens), cut short if long.
    let url = req.url ?? "";
    const query = url.indexOf("?");
    if (query >= 0) url = url.slice(0, query);
    if (url.length > 120) url = `${url.slice(0, 117)}...`;
    const task = new RequestTask(`${req.method} ${url}`, this.parentTask, this.requestOwner, this, req, res);
    if (this.draining && !res.headersSent) res.setHeader("Connection", "close");
    if (this.requestTimeoutMs !== Infinity) task.setDeadline(this.requests.runtime.now() + this.requestTimeoutMs);
    const first = this.firstLive;
    task.nextLive = first;
    if (first !== undefined) first.prevLive = task;
    this.firstLive = task;
    this.live++;
    task.start(runRequest, this.requests);
  };

  /** The owner of every request task: its run and spawner are the server's (see TaskOwner). */
  private readonly requestOwner: TaskOwner = ((server: HttpServer): TaskOwner => ({
    get runtime() {
      return server.requests.runtime;
    },
    get spawner() {
      return server.parentTask;
    },
    taskEnded: (t) => server.requestExited(t),
  }))(this);

  /** A request task has ended: answers what the handler could not, reports failures. */
  private requestExited(t: TaskImpl<unknown>): void {
    const task = t as RequestTask;
    if (task.prevLive !== undefined) task.prevLive.nextLive = task.nextLive;
    else this.firstLive = task.nextLive;
    if (task.nextLive !== undefined) task.nextLive.prevLive = task.prevLive;
    task.prevLive = task.nextLive = undefined;
    this.live--;
    if (task.state === "failed" && !(task.cause !== null && causedByCancellation(task.error))) this.handlerFailed(task);
    else if (task.state !== "done") this.handlerCancelled(task);
    this.checkShutdown();
  }

  private handlerFailed(task: RequestTask): void {
    const res = task.res;
    let outcome: string;
    if (task.gone) outcome = "the client had already disconnected";
    else if (!res.headersSent) {
      answer(res, 500, "Internal Server Error\n", this.draining);
      outcome = "it was answered with 500 Internal Server Error";
    } else if (!res.writableEnded) {
      res.destroy();
      outcome = "its response had started, so its connection was closed";
    } else outcome = "its response had been sent";
    const err = task.error;
    // The request stream's own "aborted" error, thrown into a handler reading the body of a
    // client that went away, is how the disconnect reached it: an outcome, not a failure.
    if (task.gone && err !== undefined && err === (task.req as { errored?: unknown }).errored) return;
    if (this.onError === undefined) return printFailure(err, task, this.url, outcome);
    try {
      this.onError(err, task, task.req);
    } catch (handlerError) {
      // A broken error handler must not hide failures: it ends the server, as it would fail a supervisor.
      this.fail(handlerError);
    }
  }

  private handlerCancelled(task: RequestTask): void {
    const res = task.res;
    if (task.gone || res.writableEnded) return;
    if (res.headersSent) {
      res.destroy();
    } else if (task.cancelCalled) {
      // Its own deadline: requestTimeoutMs passed before it answered.
      answer(res, 503, `Service Unavailable: no response within requestTimeoutMs (${this.requestTimeoutMs} ms)\n`, this.draining);
    } else {
      answer(res, 503, "Service Unavailable: the server is shutting down\n", true);
    }
  }

  /** A response's "close" (see request-task.ts): during shutdown its connection ends now. */
  responseClosed(task: RequestTask): void {
    // end(), not destroy(): the response may still be on its way out.
    if (this.draining) task.req.socket.end();
  }

  private readonly onClose = (): void => {
    this.closed = true;
    this.checkShutdown();
  };

  // ---- shutdown --------------------------------------------------------------------------

  /**
   * Graceful, then forceful; succeeds inside a cancelled scope (every wait is shielded) and
   * returns once every request task has ended and every socket is closed.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.draining = true;
    const server = this.server;
    for (let t = this.firstLive; t !== undefined; t = t.nextLive) {
      if (!t.res.headersSent) t.res.setHeader("Connection", "close");
    }
    if (server.listening) server.close();
    else if (!this.closed) server.close();
    server.closeIdleConnections();
    const drained = () => this.live === 0 && this.closed;
    await new CancelScope({ shield: true, deadline: currentTime() + graceMs }).run(() =>
      this.waitUntil(drained, () => `http shutdown ${this.hostPort}: ${this.live} requests running, waiting up to shutdownGraceMs`),
    );
    if (!drained()) {
      this.requests.cancel("the server is shutting down and shutdownGraceMs has passed");
      await new CancelScope({ shield: true, deadline: currentTime() + FLUSH_MS }).run(() =>
        this.waitUntil(drained, () => `http shutdown ${this.hostPort}: ${this.live} cancelled requests ending`),
      );
      server.closeAllConnections();
      await new CancelScope({ shield: true }).run(() =>
        this.waitUntil(drained, () => `http shutdown ${this.hostPort}: ${this.live} cancelled requests ending (connections closed)`),
      );
    }
    this.requests.exit();
    await handleClosed();
    this.tracked?.untrack();
    if (this.fatal !== undefined) throw this.fatal.error;
  }

  /** Parks until `done()` holds, re-checked whenever a request ends or the server closes. */
  private async waitUntil(done: () => boolean, label: () => string): Promise<void> {
    while (!done()) {
      this.shutdownDone = done;
      await park<void>(label(), (parked) => {
        this.shutdownWaiter = parked;
        parked.abort = () => {
          this.shutdownWaiter = undefined;
          return true;
        };
      });
    }
    this.shutdownDone = undefined;
  }

  private checkShutdown(): void {
    const waiter = this.shutdownWaiter;
    if (waiter === undefined || !this.shutdownDone!()) return;
    this.shutdownWaiter = undefined;
    wake(waiter, undefined);
  }

  /** Closes a server that failed to start listening; returns once its handle is gone. */
  async abandon(): Promise<void> {
    this.requests.exit();
    if (this.server.listening) this.server.close();
    // A listen cancelled while the host was being looked up completes (and is closed) later.
    if (this.listenPending !== undefined) await new CancelScope({ shield: true }).run(() => wait(this.listenPending!));
    await handleClosed();
  }
}

/**
 * The server's "close" event comes before libuv has closed its listening handle, which it does
 * at the end of the current event-loop turn: wait two turns, so that once `serveHttp` returns
 * no handle of it is left (`process.getActiveResourcesInfo()` shows no `TCPServerWrap`).
 * Not a cancellation point: it runs in a shutdown that must finish.
 */
function handleClosed(): Promise<void> {
  return park<void>("http server handle closing", (parked) => setImmediate(() => setImmediate(() => wake(parked, undefined))), false);
}

/**
 * True for the error an API given `currentSignal()` throws once the request is cancelled:
 * `fetch` rejects with the signal's reason (the `Cancelled` itself); `timers/promises`, `fs`,
 * `stream` and most libraries throw an `AbortError` whose `cause` is that reason. In a
 * cancelled request that is the cancellation arriving, not a failure to report.
 */
function causedByCancellation(err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && typeof e === "object" && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (isCancelled(e)) return true;
  }
  return false;
}

/** The run ended with the server open: stop it and drop every connection (resources.ts). */
function forceCloseServer(server: Server): void {
  server.close();
  server.closeAllConnections();
}

/** Sends a short plain-text answer in place of the handler's, dropping the headers it had set. */
function answer(res: ServerResponse, status: number, body: string, close: boolean): void {
  try {
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.statusCode = status;
    res.setHeader("Content-Type", "text/plain; charset=utf-8");
    res.setHeader("Content-Length", Buffer.byteLength(body));
    if (close) res.setHeader("Connection", "close");
    res.end(body);
  } catch {
    res.destroy();
  }
}

/** The default `onError`: one line naming the request and what happened, then the error as Node prints it. */
function printFailure(err: unknown, task: Task<unknown>, url: string, outcome: string): void {
  process.stderr.write(
    `trellis: request "${task.name}" (task #${task.id}) of http server ${url} failed; ${outcome}, and the server keeps serving:\n${inspect(err)}\n\n`,
  );
}

function bracket(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

/** A listen error that says which port and what to do. */
function listenError(err: unknown, port: number, host: string | undefined): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  const where = host === undefined ? `port ${port}` : `port ${port} on ${host}`;
  let message: string;
  if (code === "EADDRINUSE") {
    message = `serveHttp(): ${where} is already in use (EADDRINUSE); stop the program that holds it, or pass another \`port\` (0 picks a free one)`;
  } else if (code === "EACCES") {
    message = `serveHttp(): no permission to listen on ${where} (EACCES); ports below 1024 need privileges, pick a higher \`port\``;
  } else if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") {
    message = `serveHttp(): cannot listen on ${where}: \`host\` ${JSON.stringify(host)} is not an address of this machine (${String(code)})`;
  } else {
    message = `serveHttp(): cannot listen on ${where}: ${err instanceof Error ? err.message : String(err)}`;
  }
  const error = new Error(message, { cause: err });
  if (code !== undefined) (error as Error & { code?: unknown }).code = code;
  return error;
}

