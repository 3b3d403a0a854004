/**
 * `connectTls`: TCP (with Happy Eyeballs) then a TLS handshake.
 *
 * @module
 */
import { isIP } from "node:net";
import { requireOptions } from "../core/index.js";
import { requireHost, requirePort } from "./address.js";
import { connectTcp, type ConnectTcpOptions } from "./connect-tcp.js";
import type { SocketStream, StartTlsOptions } from "./socket-stream.js";

/** Options of {@link connectTls}: Node's TLS client options plus {@link ConnectTcpOptions}. */
export interface ConnectTlsOptions extends Omit<StartTlsOptions, "isServer">, ConnectTcpOptions {}

/**
 * Connects to `host:port` over TCP (as {@link connectTcp}) and performs a TLS handshake,
 * checking the certificate against `host` (or `options.servername`). A checkpoint; cancelling
 * it closes the connection whatever stage it reached.
 *
 * @param host - A host name or an IP address.
 * @param port - An integer from 1 to 65535.
 * @param options - Node's `tls.connect` options (`ca`, `servername`, `rejectUnauthorized`,
 *   `ALPNProtocols`…) and `connectTcp`'s.
 * @throws {BrokenResourceError} If the handshake fails: an untrusted certificate, a hostname
 *   mismatch, a peer that hangs up; `cause` holds Node's error.
 * @example
 * ```ts
 * import { connectTls } from "trellis/net";
 * await using conn = await connectTls("example.com", 443, { ALPNProtocols: ["http/1.1"] });
 * ```
 */
export async function connectTls(host: string, port: number, options?: ConnectTlsOptions): Promise<SocketStream> {
  const name = requireHost("connectTls()", host);
  requirePort("connectTls()", port, false);
  requireOptions("connectTls()", options);
  const { happyEyeballsDelayMs, localAddress, noDelay, closeGraceMs, ...tls } = options ?? {};
  const tcp = await connectTcp(name, port, { happyEyeballsDelayMs, localAddress, noDelay, closeGraceMs });
  const servername = tls.servername ?? (isIP(name) === 0 ? name : undefined);
  try {
    return await tcp.startTls({ ...tls, servername, closeGraceMs });
  } finally {
    // On success the TCP stream was handed over (close is a no-op); on failure it is destroyed.
    await tcp.close();
  }
}
