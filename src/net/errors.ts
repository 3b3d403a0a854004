/**
 * The errors of `BufferedStream`, after AnyIO's `IncompleteRead` and `DelimiterNotFound`.
 *
 * @module
 */

/**
 * The stream ended (EOF) before `receiveExactly` got its bytes or `receiveUntil` found its
 * delimiter. `partial` holds what had arrived (it is consumed).
 *
 * @example
 * ```ts
 * import { BufferedStream, IncompleteReadError } from "trellis/net";
 * try { await reader.receiveExactly(4); } catch (err) { if (err instanceof IncompleteReadError) console.log(err.partial.length); }
 * ```
 */
export class IncompleteReadError extends Error {
  /** The bytes that had arrived before EOF. */
  readonly partial: Uint8Array;
  /** Made by `BufferedStream`; constructing one yourself (in a test double) is fine. */
  constructor(message: string, partial: Uint8Array) {
    super(message);
    this.partial = partial;
  }
}
Object.defineProperty(IncompleteReadError.prototype, "name", { value: "IncompleteReadError" });

/**
 * `receiveUntil` (or `lines`) read `maxBytes` without finding the delimiter. The bytes stay
 * buffered, so the caller may still read them with `receiveSome` or `receiveExactly`.
 *
 * @example
 * ```ts
 * import { BufferedStream, DelimiterNotFoundError } from "trellis/net";
 * try { await reader.receiveUntil("\r\n", 8192); } catch (err) { if (err instanceof DelimiterNotFoundError) await conn.send("line too long\r\n"); }
 * ```
 */
export class DelimiterNotFoundError extends Error {
  /** Made by `BufferedStream`; constructing one yourself (in a test double) is fine. */
  constructor(message: string) {
    super(message);
  }
}
Object.defineProperty(DelimiterNotFoundError.prototype, "name", { value: "DelimiterNotFoundError" });
