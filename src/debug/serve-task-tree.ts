/**
 * `serveTaskTree`: the live task tree of a run as a local web page.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  CancelScope,
  checkpointIfCancelled,
  currentScope,
  park,
  requireOptionalString,
  requireOptions,
  rootTaskOf,
  show,
  snapshotRun,
  trackResource,
  wait,
  wake,
  wakeWithError,
  type TaskStatus,
} from "../core/index.js";
import { taskTreePage } from "./task-tree-page.js";

/** Where {@link serveTaskTree} listens, as it reports it through `status.started()`. */
export interface TaskTreeAddress {
  /** The page: `http://127.0.0.1:PORT/`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
}

/** Options of {@link serveTaskTree}. */
export interface ServeTaskTreeOptions {
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Interface to bind; default `"127.0.0.1"` (the tree shows code locations: keep it local). */
  readonly host?: string;
  /** With `tg.start`, receives the address once the server listens. */
  readonly status?: TaskStatus<TaskTreeAddress>;
  /** How often the page polls `/tree.json`, in ms. Default 500. */
  readonly pollMs?: number;
}

/**
 * Serves the live task tree of the calling code's run until cancelled: a page at `/` that
 * shows every live task (what it waits on and since when, its scopes, where it was spawned),
 * redrawn as tasks come and go, with filters by name and state; the same snapshot as JSON at
 * `/tree.json` (deadlines of `Infinity` are `null` there). Binds to 127.0.0.1 by default.
 * While it serves, tasks record when they park, so the page shows how long each has waited.
 * Cancelling it closes the server and every connection before it returns; a checkpoint.
 *
 * @param options - `port` (default 0: a free port), `host` (default "127.0.0.1"), `status`
 *   (for `tg.start`, which then returns `{ url, port, host }`), `pollMs` (default 500).
 * @returns Never: it serves until cancelled (and raises `Cancelled` then).
 * @throws {TypeError} If an option has the wrong type. {@link RangeError} for a bad port.
 * @example
 * ```ts
 * import { run, withTaskGroup } from "trellis";
 * import { serveTaskTree, type TaskTreeAddress } from "trellis/debug";
 * await run(() => withTaskGroup(async (tg) => {
 *   const { url } = await tg.start<TaskTreeAddress>((status) => serveTaskTree({ status }));
 *   console.log(`task tree at ${url}`);
 *   tg.spawn(() => serveApp());
 * }), { debug: true });
 * ```
 */
export async function serveTaskTree(options?: ServeTaskTreeOptions): Promise<never> {
  requireOptions("serveTaskTree()", options);
  const port = options?.port ?? 0;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`serveTaskTree(): \`options.port\` must be an integer from 0 to 65535, got ${show(port)}`);
  }
  const host = requireOptionalString("serveTaskTree()", "options.host", options?.host) ?? "127.0.0.1";
  const pollMs = options?.pollMs ?? 500;
  if (typeof pollMs !== "number" || !(pollMs >= 10) || !Number.isFinite(pollMs)) {
    throw new RangeError(`serveTaskTree(): \`options.pollMs\` must be a finite number of ms ≥ 10, got ${show(pollMs)}`);
  }
  const status = options?.status;
  if (status != null && typeof (status as { started?: unknown }).started !== "function") {
    throw new TypeError(`serveTaskTree(): \`options.status\` must be the TaskStatus passed by tg.start, got ${show(status)}`);
  }
  checkpointIfCancelled();
  const scope = currentScope();
  const root = scope === undefined ? undefined : rootTaskOf(scope);
  const runtime = scope?.runtime;
  const page = taskTreePage(pollMs);

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "/").split("?")[0];
    // One connection per request: a polling page holds no idle keep-alive socket open.
    res.setHeader("connection", "close");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
    } else if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(page);
    } else if (path === "/tree.json") {
      const body = JSON.stringify(snapshotRun(root), finiteOrNull);
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" }).end(body);
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try / or /tree.json\n");
    }
  };
  const server = createServer(handler);
  const record = trackResource(server as object, "http server", `task tree (serveTaskTree)`, () => {
    server.closeAllConnections();
    server.close();
  });
  const previousTrackWaits = runtime?.trackWaits ?? false;
  if (runtime !== undefined) runtime.trackWaits = true;
  // Settles once the listen has succeeded or failed: a listen cancelled while under way (the
  // host is looked up first) completes later, and must then be closed before we return.
  let listenSettled: Promise<void> | undefined;
  try {
    await park<void>("serveTaskTree: listening", (parked) => {
      const onError = (err: Error) => wakeWithError(parked, err);
      server.once("error", onError);
      listenSettled = new Promise<void>((resolve) => {
        const settle = () => {
          server.removeListener("listening", settle);
          server.removeListener("error", settle);
          resolve();
        };
        server.once("listening", settle);
        server.once("error", settle);
      });
      server.listen(port, host, () => {
        server.removeListener("error", onError);
        wake(parked, undefined);
      });
      parked.abort = () => {
        server.removeListener("error", onError);
        return true;
      };
    });
    const address = server.address();
    const boundPort = typeof address === "object" && address !== null ? address.port : port;
    const urlHost = host.includes(":") ? `[${host}]` : host;
    const where: TaskTreeAddress = { url: `http://${urlHost}:${boundPort}/`, port: boundPort, host };
    status?.started(where);
    return await park<never>(`serveTaskTree at ${where.url}`, (parked) => {
      parked.abort = () => true;
    });
  } finally {
    if (runtime !== undefined) runtime.trackWaits = previousTrackWaits;
    server.closeAllConnections();
    await new CancelScope({ shield: true }).run(async () => {
      if (listenSettled !== undefined) await wait(listenSettled);
      if (server.listening) await wait(closed(server));
    });
    record.untrack();
  }
}

/**
 * Resolves once the server and its sockets are closed for good: `close`'s callback comes before
 * libuv has released the handles (its close phase follows the check phase), so wait for two
 * check phases more; nothing of the server is then left when `run()` returns.
 */
function closed(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => setImmediate(() => setImmediate(resolve)));
  });
}

/** JSON has no Infinity: a deadline of Infinity ("none") is written as null. */
function finiteOrNull(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isFinite(value) ? null : value;
}
