/**
 * `connectUnix`: a Unix domain socket connection.
 *
 * @module
 */
import net from "node:net";
import { park, requireDuration, requireOptions, wake, wakeWithError } from "../core/index.js";
import { requireUnixPath } from "./address.js";
import { openSocketStream, type SocketStream } from "./socket-stream.js";

/** Options of {@link connectUnix}. */
export interface ConnectUnixOptions {
  /** How long `close()` waits for a graceful end (real ms). Default 1 000. */
  readonly closeGraceMs?: number | null | undefined;
}

/**
 * Connects to the Unix domain socket at `path`. A checkpoint; cancelling it destroys the
 * attempt.
 *
 * @param path - The socket's path (at most 107 bytes on Linux, 103 elsewhere).
 * @throws {TypeError} If `path` is not a non-empty string.
 * @throws {RangeError} If `path` is too long for a Unix socket.
 * @throws {Error} Node's error when nobody listens there (`ENOENT`, `ECONNREFUSED`).
 * @example
 * ```ts
 * import { connectUnix } from "trellis/net";
 * await using conn = await connectUnix("/run/app.sock");
 * ```
 */
export async function connectUnix(path: string, options?: ConnectUnixOptions): Promise<SocketStream> {
  requireUnixPath("connectUnix()", path);
  requireOptions("connectUnix()", options);
  const closeGraceMs = options?.closeGraceMs == null ? undefined : requireDuration("connectUnix()", "options.closeGraceMs", options.closeGraceMs);
  const socket = await park<net.Socket>(`connect to ${path}`, (parked) => {
    const socket = net.connect({ path, allowHalfOpen: true });
    const onError = (err: unknown): void => {
      socket.destroy();
      wakeWithError(parked, err);
    };
    socket.once("error", onError);
    socket.once("connect", () => {
      socket.off("error", onError);
      wake(parked, socket);
    });
    parked.abort = () => {
      socket.removeAllListeners("connect");
      socket.off("error", onError);
      socket.on("error", () => {});
      socket.destroy();
      return true;
    };
  });
  return openSocketStream(socket, closeGraceMs, path);
}
