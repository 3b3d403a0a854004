/**
 * `serve` and `serveTcp`: accept forever, one task per connection.
 *
 * @module
 */
import { inspect } from "node:util";
import {
  ClosedResourceError,
  isCancelled,
  requireFunction,
  requireOneOf,
  requireOptions,
  requireOptionalString,
  withTaskGroup,
  type TaskGroup,
  type TaskStatus,
} from "../core/index.js";
import { listenTcp, type Listener, type ListenerAddress, type ListenTcpOptions } from "./listener.js";
import type { SocketStream } from "./socket-stream.js";

/** Options of {@link serve}. */
export interface ServeOptions {
  /**
   * What a handler's error does. `"report"` (default): it is reported through `onError` (by
   * default printed to stderr, as a supervisor does) and the server goes on. `"fail"`: it
   * cancels the other handlers and the accept loop, and `serve` throws it.
   */
  readonly errors?: "report" | "fail" | null | undefined;
  /**
   * Called with each handler's error and the connection's peer address in `"report"` mode.
   * Default: print it to stderr, as a supervisor does. If it throws, `serve` fails with that error.
   */
  readonly onError?: ((error: unknown, remoteAddress: string) => void) | null | undefined;
  /** Names the server's group in reports and the task tree. Default `serve <address>`. */
  readonly name?: string | null | undefined;
}

/** Options of {@link serveTcp}. */
export interface ServeTcpOptions extends ServeOptions, ListenTcpOptions {
  /** From `tg.start`: told the bound address once the server is listening. */
  readonly status?: TaskStatus<ListenerAddress> | null | undefined;
}

type Spawner = Pick<TaskGroup, "spawn">;

/**
 * Accepts connections from `listener` until cancelled, running `handler(stream)` for each in
 * its own task; the stream is closed when the handler returns or fails. Cancelling `serve`
 * stops accepting, cancels the handlers, waits for them, and closes the listener before it
 * returns. It also returns (after its handlers) if the listener is closed by someone else.
 *
 * @param listener - From `listenTcp`, `listenUnix` or `listenTls`; `serve` closes it at the end.
 * @param handler - Called with each connection; the stream is closed after it.
 * @param options - `errors` (`"report"` or `"fail"`), `onError`, `name`.
 * @throws The first handler error in `"fail"` mode; an accept error other than the listener
 *   being closed.
 * @example
 * ```ts
 * import { listenTcp, serve } from "trellis/net";
 * const listener = await listenTcp(7000);
 * await serve(listener, async (conn) => { for await (const chunk of conn) await conn.send(chunk); });
 * ```
 */
export async function serve(listener: Listener, handler: (stream: SocketStream) => unknown, options?: ServeOptions): Promise<void> {
  if (typeof listener !== "object" || listener === null || typeof (listener as Listener).accept !== "function") {
    throw new TypeError(`serve(): \`listener\` must be a Listener (from listenTcp, listenUnix or listenTls)`);
  }
  requireFunction("serve()", "handler", handler);
  requireOptions("serve()", options);
  const mode = requireOneOf("serve()", "options.errors", options?.errors ?? "report", ["report", "fail"] as const);
  const name = requireOptionalString("serve()", "options.name", options?.name ?? undefined) ?? `serve ${String(listener.address)}`;
  const onError = options?.onError ?? undefined;
  if (onError !== undefined) requireFunction("serve()", "options.onError", onError);
  // "report" is a supervisor's rule for its children, without a supervisor's per-task spawn
  // stack: every handler is spawned from the same accept loop, so that stack would say nothing.
  const report =
    mode === "fail"
      ? undefined
      : (onError ??
        ((err: unknown, remote: string) => {
          process.stderr.write(`trellis: the handler of connection ${remote} of "${name}" failed; the server goes on:\n${inspect(err)}\n\n`);
        }));
  try {
    await withTaskGroup((group) => acceptLoop(listener, handler, group, report), { name });
  } finally {
    await listener.close();
  }
}

async function acceptLoop(
  listener: Listener,
  handler: (stream: SocketStream) => unknown,
  group: Spawner,
  report: ((error: unknown, remoteAddress: string) => void) | undefined,
): Promise<void> {
  for (;;) {
    let stream: SocketStream;
    try {
      stream = await listener.accept();
    } catch (err) {
      if (err instanceof ClosedResourceError) return;
      throw err;
    }
    group.spawn(() => handle(stream, handler, report), CONNECTION);
  }
}

/** Every connection task's spawn options (one object, not one per connection). */
const CONNECTION = Object.freeze({ name: "connection" });

async function handle(
  stream: SocketStream,
  handler: (stream: SocketStream) => unknown,
  report: ((error: unknown, remoteAddress: string) => void) | undefined,
): Promise<void> {
  try {
    await handler(stream);
  } catch (err) {
    if (report === undefined || isCancelled(err)) throw err;
    report(err, stream.remoteAddress);
  } finally {
    await stream.close();
  }
}

/**
 * Listens on `port` (as {@link listenTcp}) and serves it (as {@link serve}). With
 * `tg.start(status => serveTcp(0, handler, { status }))` the caller gets the bound address once
 * the server is listening.
 *
 * @param port - An integer from 0 to 65535 (0 picks a free port).
 * @param handler - Called with each connection; the stream is closed after it.
 * @param options - {@link listenTcp}'s and {@link serve}'s options, and `status`.
 * @example
 * ```ts
 * import { withTaskGroup } from "trellis";
 * import { serveTcp, connectTcp, type ListenerAddress } from "trellis/net";
 * await withTaskGroup(async (tg) => {
 *   const address = await tg.start<ListenerAddress>((status) => serveTcp(0, async (conn) => { await conn.send("hi"); }, { status }));
 *   await using conn = await connectTcp(address.host!, address.port!);
 *   console.log(await conn.receive());
 *   tg.cancel();
 * });
 * ```
 */
export async function serveTcp(port: number, handler: (stream: SocketStream) => unknown, options?: ServeTcpOptions): Promise<void> {
  requireFunction("serveTcp()", "handler", handler);
  requireOptions("serveTcp()", options);
  const { status, errors, onError, name, ...listenOptions } = options ?? {};
  if (status !== undefined && status !== null && typeof status.started !== "function") {
    throw new TypeError("serveTcp(): `options.status` must be the status object tg.start passes to its function");
  }
  const listener = await listenTcp(port, listenOptions);
  try {
    status?.started(listener.address);
  } catch (err) {
    await listener.close();
    throw err;
  }
  await serve(listener, handler, { errors, onError, name });
}
