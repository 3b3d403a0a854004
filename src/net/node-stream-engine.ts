/**
 * The machinery behind every Node-backed stream of `trellis/net` (`fromNodeStream`, TCP, Unix
 * and TLS sockets): Node's callbacks turned into parks (DESIGN.md choice 9).
 *
 * - One set of listeners per Node stream, attached once, dispatching to at most one parked
 *   receiver and one parked sender; an abort detaches exactly that waiter's bookkeeping.
 * - `send` hands the bytes to `writable.write` and parks until its callback: the kernel (or the
 *   pipe) has taken them. Nothing stays buffered in user space, so a peer that stops reading
 *   makes `send` wait. A cancelled send cannot take its bytes back: the stream is then broken
 *   for later sends (Trio's rule), and `close` discards what is left instead of flushing it.
 * - `receive` pulls with `readable.read()` (paused mode): Node reads from the kernel only up
 *   to its high-water mark while nobody receives, which is the backpressure towards the peer.
 * - `close` destroys a plain TCP/Unix socket at once (the kernel flushes what it holds, then
 *   sends FIN); any other stream (TLS, pipes, Duplexes) is first ended, if no send is pending,
 *   and given `closeGraceMs` real milliseconds to finish (a non-cancellable wait). Then it waits
 *   for the 'close' event, so the handle is gone when `close()` returns.
 *
 * @internal
 * @module
 */
import { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import type { Readable, Writable } from "node:stream";
import {
  checkpoint,
  completeCheckpoint,
  currentScope,
  sliceExpired,
  yieldToEventLoop,
  park,
  schedulePoint,
  show,
  trackResource,
  wake,
  wakeWithError,
  requireDuration,
  type Parked,
  type TrackedResource,
} from "../core/index.js";
import { BrokenResourceError, ClosedResourceError } from "../core/index.js";
import {
  EMPTY,
  brokenAfterCancel,
  brokenBy,
  busyError,
  closedError,
  eofSentError,
  requireData,
  requireMaxBytes,
} from "./stream-args.js";

/** Options shared by every Node-backed stream. */
export interface NodeStreamOptions {
  /** Shown in wait labels and in the resource registry, e.g. `"127.0.0.1:4000"`. */
  readonly label?: string | null | undefined;
  /**
   * How long `close()` waits for the writable side to finish gracefully (real milliseconds)
   * before destroying it. Default 1 000.
   */
  readonly closeGraceMs?: number | null | undefined;
}

/** @internal */
export const DEFAULT_CLOSE_GRACE_MS = 1_000;

type ReadChunk = Buffer | string | Uint8Array | null;

/** @internal */
export class NodeStreamEngine {
  readonly label: string;
  readonly closeGraceMs: number;
  /** `socket receive 127.0.0.1:4000`, computed once. */
  readonly receiveLabel: string;
  readonly sendLabel: string;
  private tracked: TrackedResource | undefined = undefined;

  /** Bytes read from Node but not yet returned (a chunk longer than `maxBytes`). */
  private pending: Uint8Array | undefined = undefined;
  private eof = false;
  private receiveError: unknown = undefined;
  private sendError: unknown = undefined;
  private receiver: Parked<Uint8Array> | undefined = undefined;
  private receiverMax = 0;
  private sender: Parked<void> | undefined = undefined;
  /** Writes handed to Node, writes it has called back for, and the one the parked send waits for. */
  private writesIssued = 0;
  private writesDone = 0;
  private sendTarget = 0;
  private sendBusy = false;
  private receiveBusy = false;
  private cancelledSend = false;
  private eofSent = false;
  private closed = false;
  private closing: Promise<void> | undefined = undefined;
  /** Set when the stream was handed over (startTls) rather than closed. */
  private closedWhy: string | undefined = undefined;
  /** Whether each Node stream has emitted 'close' (its handle, if any, is gone). */
  private readableClosed = false;
  private writableClosed = false;
  /** One Node stream for both directions (a socket) rather than two. */
  private readonly duplex: boolean;

  constructor(
    readonly readable: Readable,
    readonly writable: Writable,
    readonly kind: string,
    options: NodeStreamOptions | undefined,
    where: string,
  ) {
    this.duplex = (writable as unknown) === readable;
    const label = options?.label ?? "";
    if (typeof label !== "string") throw new TypeError(`${where}: \`options.label\` must be a string, got ${show(label)}`);
    this.label = label;
    const grace = options?.closeGraceMs;
    this.closeGraceMs = grace === undefined || grace === null ? DEFAULT_CLOSE_GRACE_MS : requireDuration(where, "options.closeGraceMs", grace);
    const suffix = label === "" ? "" : ` ${label}`;
    this.receiveLabel = `${kind} receive${suffix}`;
    this.sendLabel = `${kind} send${suffix}`;

    // A stream wrapped after its end (or its destruction) has already emitted those events.
    if (readable.readableEnded) this.eof = true;
    else if (readable.destroyed) this.receiveError = readable.errored ?? new Error("the stream was destroyed before it was wrapped");
    if (writable.writableEnded) this.eofSent = true;
    else if (writable.destroyed) this.sendError = writable.errored ?? new Error("the stream was destroyed before it was wrapped");
    this.readableClosed = readable.closed === true;
    this.writableClosed = writable.closed === true;
    readable.on("readable", this.onReadable);
    readable.on("end", this.onEnd);
    readable.on("error", this.onReceiveError);
    readable.on("close", this.onReadableClose);
    if ((writable as unknown) !== readable) {
      writable.on("error", this.onSendError);
      writable.on("close", this.onWritableClose);
    }
  }

  /** Registers with the run once the public object exists (so a leak report can name it). */
  track(owner: object): void {
    // forceClose must not capture `owner` (resources.ts): it closes over the Node streams only.
    this.tracked = trackResource(owner, this.kind, this.label === "" ? "(unnamed)" : this.label, destroyBoth(this.readable, this.writable));
  }

  // ---- Node's events: one listener each, dispatching to the one waiter ----

  private readonly onReadable = (): void => {
    const parked = this.receiver;
    if (parked === undefined) return;
    const chunk = this.take(this.receiverMax);
    if (chunk === undefined) return;
    this.receiver = undefined;
    this.receiveBusy = false;
    wake(parked, chunk);
  };

  private readonly onEnd = (): void => {
    this.eof = true;
    const parked = this.receiver;
    if (parked === undefined) return;
    this.receiver = undefined;
    this.receiveBusy = false;
    wake(parked, EMPTY);
  };

  private readonly onReceiveError = (err: unknown): void => {
    if (this.closed) return;
    this.receiveError ??= err;
    if (this.duplex) this.sendError ??= err;
    this.failWaiters();
  };

  private readonly onSendError = (err: unknown): void => {
    if (this.closed) return;
    this.sendError ??= err;
    this.failWaiters();
  };

  private readonly onReadableClose = (): void => {
    this.readableClosed = true;
    if (this.closed || this.eof) return;
    // Destroyed without an end: the other side (or someone holding the Node stream) tore it down.
    this.receiveError ??= new Error("the stream was destroyed before its end");
    if (this.duplex && !this.writable.writableFinished) this.sendError ??= this.receiveError;
    this.failWaiters();
  };

  private readonly onWritableClose = (): void => {
    this.writableClosed = true;
    if (this.closed || this.writable.writableFinished) return;
    this.sendError ??= new Error("the stream was destroyed before its end");
    this.failWaiters();
  };

  private failWaiters(): void {
    const receiver = this.receiver;
    if (receiver !== undefined && this.receiveError !== undefined) {
      this.receiver = undefined;
      this.receiveBusy = false;
      // Data already read comes first; the error is seen by the receive after it.
      const chunk = this.take(this.receiverMax);
      if (chunk !== undefined) wake(receiver, chunk);
      else wakeWithError(receiver, brokenBy(`receive() on ${this.describe()}`, this.receiveError));
    }
    const sender = this.sender;
    if (sender !== undefined && this.sendError !== undefined) {
      this.sender = undefined;
      this.sendBusy = false;
      wakeWithError(sender, brokenBy(`send() on ${this.describe()}`, this.sendError));
    }
  }

  private closedErr(where: string): Error {
    return this.closedWhy === undefined ? closedError(where) : new ClosedResourceError(`${where}: ${this.closedWhy}`);
  }

  private closeLabel(): string {
    return `${this.kind} close${this.label === "" ? "" : ` ${this.label}`}`;
  }

  private describe(): string {
    return this.label === "" ? `this ${this.kind}` : `${this.kind} ${this.label}`;
  }

  /** Up to `max` bytes read so far, or undefined if Node has none buffered. */
  private take(max: number): Uint8Array | undefined {
    let chunk = this.pending;
    if (chunk === undefined) {
      const read = this.readable.read() as ReadChunk;
      if (read === null) return undefined;
      chunk = typeof read === "string" ? Buffer.from(read, "utf8") : read;
      if (chunk.byteLength === 0) return undefined;
    }
    if (chunk.byteLength <= max) {
      this.pending = undefined;
      return chunk;
    }
    this.pending = chunk.subarray(max);
    return chunk.subarray(0, max);
  }

  // ---- the Stream methods ----

  receive(maxBytes: unknown): Promise<Uint8Array> {
    const where = `receive() on ${this.describe()}`;
    let max: number;
    try {
      max = requireMaxBytes("receive()", maxBytes);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closed) return Promise.reject(this.closedErr(where));
    if (this.receiveBusy) return Promise.reject(busyError(where, "receive()"));
    const scope = currentScope();
    if (scope !== undefined && scope.cause !== null) return scope.rejectCancelled();
    const chunk = this.take(max);
    // Data in hand is kept even if a cancellation arrives now: a schedule point, not a cancel point.
    if (chunk !== undefined) return completeCheckpoint(scope).then(() => chunk);
    if (this.eof) return completeCheckpoint(scope).then(() => EMPTY);
    if (this.receiveError !== undefined) return Promise.reject(brokenBy(where, this.receiveError));
    this.receiveBusy = true;
    this.receiverMax = max;
    return park<Uint8Array>(
      this.receiveLabel,
      (parked) => {
        this.receiver = parked;
        parked.abort = () => {
          this.receiver = undefined;
          this.receiveBusy = false;
          return true;
        };
      },
      true,
      scope,
    );
  }

  send(data: unknown): Promise<void> {
    const where = `send() on ${this.describe()}`;
    let bytes: Uint8Array;
    try {
      bytes = requireData("send()", data);
    } catch (err) {
      return Promise.reject(err);
    }
    const refused = this.sendRefusal(where);
    if (refused !== undefined) return Promise.reject(refused);
    const scope = currentScope();
    if (scope !== undefined && scope.cause !== null) return scope.rejectCancelled();
    if (bytes.byteLength === 0) return checkpoint();
    const writable = this.writable;
    const target = ++this.writesIssued;
    writable.write(bytes, this.onWriteDone);
    // Node calls a write's callback on a later tick even when the kernel took every byte at
    // once; it has then already counted the bytes out of writableLength. Nothing pending means
    // this send and every earlier one are complete: no park, no wait for the callback.
    if (writable.writableLength === 0 && this.sendError === undefined) {
      return completeCheckpoint(scope); // yields to the event loop when the time slice is spent
    }
    this.sendBusy = true;
    this.sendTarget = target;
    return park<void>(
      this.sendLabel,
      (parked) => {
        this.sender = parked;
        parked.abort = () => {
          // The bytes are in Node's hands and cannot be taken back.
          this.sender = undefined;
          this.sendBusy = false;
          this.cancelledSend = true;
          return true;
        };
      },
      true,
      scope,
    );
  }

  /** The one callback of every write (no closure per send): counts completions. */
  private readonly onWriteDone = (err?: unknown): void => {
    this.writesDone++;
    if (err !== undefined && err !== null) this.sendError ??= err;
    const parked = this.sender;
    if (parked !== undefined && this.writesDone >= this.sendTarget) this.written(parked, err);
  };

  private written(parked: Parked<void>, err: unknown): void {
    if (this.sender !== parked) return; // cancelled or failed already
    this.sender = undefined;
    this.sendBusy = false;
    if (err === undefined || err === null) {
      // A write the kernel took at once calls back on the next tick, so a loop of sends never
      // reaches the event loop: let timers and I/O in regularly (the scheduler's time slice).
      // The send has succeeded by now, so it can no longer be withdrawn.
      if (sliceExpired()) {
        parked.abort = undefined;
        void yieldToEventLoop().then(() => wake(parked, undefined));
      } else {
        wake(parked, undefined);
      }
      return;
    }
    this.sendError ??= err;
    wakeWithError(parked, brokenBy(`send() on ${this.describe()}`, err));
  }

  private sendRefusal(where: string): Error | undefined {
    if (this.closed) return this.closedErr(where);
    if (this.sendBusy) return busyError(where, "send() or sendEof()");
    if (this.eofSent) return eofSentError(where);
    if (this.cancelledSend) return brokenAfterCancel(where);
    if (this.sendError !== undefined) return brokenBy(where, this.sendError);
    if (this.writable.destroyed) return brokenBy(where, new Error("the stream was destroyed"));
    return undefined;
  }

  sendEof(): Promise<void> {
    const where = `sendEof() on ${this.describe()}`;
    if (this.closed) return Promise.reject(this.closedErr(where));
    if (this.sendBusy) return Promise.reject(busyError(where, "send()"));
    const scope = currentScope();
    if (scope !== undefined && scope.cause !== null) return scope.rejectCancelled();
    if (this.eofSent || this.sendError !== undefined || this.cancelledSend) {
      // Already half-closed, or nothing more can be sent anyway: EOF is as good as sent.
      this.eofSent = true;
      return completeCheckpoint(scope);
    }
    this.eofSent = true;
    this.sendBusy = true;
    return park<void>(
      `${this.kind} sendEof${this.label === "" ? "" : ` ${this.label}`}`,
      (parked) => {
        this.sender = parked;
        this.writable.end(() => this.written(parked, undefined));
        parked.abort = () => {
          this.sender = undefined;
          this.sendBusy = false;
          return true;
        };
      },
      true,
      scope,
    );
  }

  /**
   * Hands the Node streams back (for `startTls`): detaches every listener and forgets the
   * resource. The engine then refuses everything with `ClosedResourceError` saying `why`.
   */
  release(where: string, why: string): void {
    if (this.closed) throw closedError(where);
    if (this.sendBusy || this.receiveBusy) throw busyError(where, "send() or receive()");
    const unread = (this.pending?.byteLength ?? 0) + this.readable.readableLength;
    if (unread > 0) {
      throw new BrokenResourceError(
        `${where}: ${unread} bytes were received before the TLS handshake and would be lost; the peer must wait for the upgrade before sending TLS data`,
      );
    }
    this.closed = true;
    this.closedWhy = why;
    this.closing = Promise.resolve();
    this.readable.off("readable", this.onReadable);
    this.readable.off("end", this.onEnd);
    this.readable.off("error", this.onReceiveError);
    this.readable.off("close", this.onReadableClose);
    if (!this.duplex) {
      this.writable.off("error", this.onSendError);
      this.writable.off("close", this.onWritableClose);
    }
    this.tracked?.untrack();
  }

  /** Idempotent; never raises Cancelled. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing.then(schedulePoint);
    this.closed = true;
    this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const where = `a task blocked on ${this.describe()}`;
    const receiver = this.receiver;
    const sender = this.sender;
    // Bytes still queued in user space belong to a send that did not complete (or to writes
    // made around this stream): flushing them could wait forever on a peer that never reads.
    const discard = this.cancelledSend || sender !== undefined || this.sendError !== undefined || this.writable.writableLength > 0;
    this.receiver = this.sender = undefined;
    this.receiveBusy = this.sendBusy = false;
    if (receiver !== undefined) wakeWithError(receiver, closedError(where));
    if (sender !== undefined) wakeWithError(sender, closedError(where));
    const writable = this.writable;
    // A graceful end only when every send completed: left-over bytes belong to a send that
    // failed or was cancelled, and flushing them could wait forever on a peer that never reads.
    // A plain TCP or Unix socket with nothing queued in user space needs no wait: closing the
    // descriptor makes the kernel send what it holds, then FIN, on its own (no linger). TLS
    // must first write its close_notify, and other streams may flush in their end().
    const kernelGraceful = writable instanceof Socket && !(writable instanceof TLSSocket);
    if (!discard && !kernelGraceful && !writable.destroyed && !writable.writableFinished) {
      await park<void>(
        `${this.kind} close${this.label === "" ? "" : ` ${this.label}`}`,
        (parked) => {
          const timer = setTimeout(done, this.closeGraceMs);
          function done(): void {
            clearTimeout(timer);
            wake(parked, undefined);
          }
          if (!writable.writableEnded) writable.end(done);
          else writable.once("finish", done);
          writable.once("close", done);
        },
        false,
      );
    } else {
      await schedulePoint();
    }
    destroyBoth(this.readable, this.writable)();
    // Wait for the handle itself to close (a local matter of one event-loop turn), so that
    // nothing is left when the caller's run() returns.
    if (!this.readableClosed) await this.closeEvent(this.readable);
    if (!this.duplex && !this.writableClosed) await this.closeEvent(this.writable);
    this.tracked?.untrack();
  }

  private closeEvent(stream: Readable | Writable): Promise<void> {
    // A destroyed net.Socket always emits 'close' once its handle is released: no timer.
    if (stream instanceof Socket) {
      return park<void>(this.closeLabel(), (parked) => void stream.once("close", () => wake(parked, undefined)), false);
    }
    return park<void>(
      `${this.kind} close${this.label === "" ? "" : ` ${this.label}`}`,
      (parked) => {
        // Bounded too: a stream made with `emitClose: false` never says it closed.
        const timer = setTimeout(done, this.closeGraceMs);
        stream.once("close", done);
        function done(): void {
          clearTimeout(timer);
          stream.off("close", done);
          wake(parked, undefined);
        }
      },
      false,
    );
  }
}

/** A force-close that holds only the Node streams. */
function destroyBoth(readable: Readable, writable: Writable): () => void {
  return () => {
    readable.destroy();
    if ((writable as unknown) !== readable) writable.destroy();
  };
}
