/**
 * Waiting for a TLS handshake: one park, whose abort destroys the socket.
 *
 * @internal
 * @module
 */
import type { TLSSocket } from "node:tls";
import { BrokenResourceError, park, wake, wakeWithError } from "../core/index.js";

/** @internal Resolves once `socket` emits `event` ("secureConnect" or "secure"); destroys it on failure or cancellation. */
export function tlsHandshake(socket: TLSSocket, event: "secureConnect" | "secure", label: string): Promise<void> {
  return park<void>(`TLS handshake with ${label}`, (parked) => {
    const done = (): void => {
      socket.off(event, onSecure);
      socket.off("error", onError);
      socket.off("close", onClose);
    };
    const onSecure = (): void => {
      done();
      wake(parked, undefined);
    };
    const onError = (err: unknown): void => {
      done();
      socket.on("error", ignore); // a late second error must not become uncaught
      socket.destroy();
      wakeWithError(parked, handshakeError(label, err));
    };
    const onClose = (): void => {
      done();
      wakeWithError(parked, handshakeError(label, new Error("the connection closed during the handshake")));
    };
    socket.once(event, onSecure);
    socket.once("error", onError);
    socket.once("close", onClose);
    parked.abort = () => {
      done();
      socket.on("error", ignore);
      socket.destroy();
      return true;
    };
  });
}

function ignore(): void {}

/** @internal */
export function handshakeError(label: string, cause: unknown): BrokenResourceError {
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String((cause as { code: unknown }).code) : undefined;
  const reason = cause instanceof Error ? cause.message : String(cause);
  let advice = "";
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") advice = "; the certificate is not valid for this host name: connect with the name the certificate was issued for, or set `servername`";
  else if (code !== undefined && /CERT|SELF_SIGNED|VERIFY|ISSUER/.test(code)) advice = "; the certificate could not be verified: pass the issuing CA as `ca`";
  return new BrokenResourceError(`TLS handshake with ${label} failed: ${reason}${code !== undefined ? ` (${code})` : ""}${advice}`, { cause });
}
