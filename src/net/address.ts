/**
 * Host, port and path checks and the `host:port` labels of sockets and listeners.
 *
 * @internal
 * @module
 */
import { isIP } from "node:net";
import { show } from "../core/index.js";

/** @internal `127.0.0.1:4000`, `[::1]:4000`. */
export function formatAddress(host: string | undefined, port: number | undefined): string {
  if (host === undefined) return "(unknown)";
  const h = isIP(host) === 6 ? `[${host}]` : host;
  return port === undefined ? h : `${h}:${port}`;
}

/** @internal A host name or IP literal; `[::1]` loses its brackets. */
export function requireHost(where: string, value: unknown): string {
  if (typeof value !== "string") throw new TypeError(`${where}: \`host\` must be a string (a host name or an IP address), got ${show(value)}`);
  let host = value;
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (host === "" || host.length > 253 || (isIP(host) === 0 && !/^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$/.test(host))) {
    throw new TypeError(`${where}: \`host\` must be a host name or an IP address, got ${show(value)}`);
  }
  return host;
}

/** @internal A TCP port: an integer in 1..65535 (0 too when `allowZero`, for listening). */
export function requirePort(where: string, value: unknown, allowZero: boolean): number {
  const low = allowZero ? 0 : 1;
  if (typeof value !== "number" || !Number.isInteger(value) || value < low || value > 65535) {
    const kind = typeof value === "number" ? RangeError : TypeError;
    throw new kind(`${where}: \`port\` must be an integer from ${low} to 65535${allowZero ? " (0 picks a free port)" : ""}, got ${show(value)}`);
  }
  return value;
}

/**
 * @internal The longest Unix socket path the kernel takes (`sun_path` is 108 bytes on Linux,
 * 104 on macOS and the BSDs, including the final NUL).
 */
export const MAX_UNIX_PATH_BYTES = process.platform === "linux" ? 107 : 103;

/** @internal A Unix socket path that fits `sun_path`. */
export function requireUnixPath(where: string, value: unknown): string {
  if (typeof value !== "string" || value === "") throw new TypeError(`${where}: \`path\` must be a non-empty string, got ${show(value)}`);
  if (value.includes("\0")) throw new TypeError(`${where}: \`path\` must not contain NUL characters, got ${show(value)}`);
  const bytes = Buffer.byteLength(value);
  if (bytes > MAX_UNIX_PATH_BYTES) {
    throw new RangeError(
      `${where}: \`path\` is ${bytes} bytes long but a Unix socket path may have at most ${MAX_UNIX_PATH_BYTES} on this system; use a shorter path (e.g. under os.tmpdir()), got ${show(value)}`,
    );
  }
  return value;
}
