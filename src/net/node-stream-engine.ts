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
 * - `receive` takes Node's chunks as Node reads them ('data', no concatenation copy, no tick
 *   per chunk). Chunks nobody has received yet wait in a queue; once it holds the readable's
 *   high-water mark the Node stream is paused, so Node reads from the kernel only up to its own
 *   mark again and stops: at most twice the mark is held while nobody receives, which is the
 *   backpressure towards the peer. A receive that finds the queue below the mark resumes it.
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
  countCheckpoint,
  currentScope,
  sliceExpired,
  yieldToEventLoop,
  park,
  parkWait,
  Parked,
  schedulePoint,
  show,
  trackResource,
  wake,
  wakeWithError,
  requireDuration,
  type AnyParked,
  type ForceCloser,
  type ResourceLabeller,
  type TrackedResource,
  type WaitAborter,
  type WaitDescriber,
  type WaitRegistrar,
} from "../core/index.js";
import { BrokenResourceError, ClosedResourceError } from "../core/index.js";
import { formatAddress } from "./address.js";
import {
  EMPTY,
  brokenAfterCancel,
  brokenBy,
  busyError,
  closedError,
  eofSentError,
  requireData,
  requireMaxBytes,
} from "../core/index.js";

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

/** What `for await` over a stream makes of each chunk (engine-stream.ts's ChunkIterator). */
export interface ChunkResults {
  /** `{ value: chunk, done: false }`, or the end (and the iterator is done) for the empty chunk. */
  result(chunk: Uint8Array): IteratorResult<Uint8Array, undefined>;
}

/** `receive()`'s default `maxBytes`, as requireMaxBytes gives it for `undefined`. */
const DEFAULT_MAX = requireMaxBytes("receive()", undefined);

/** `parked.data` of a parked send or close, for {@link NodeStreamEngine.describeWait}. */
const SEND = 1;
const CLOSE = 2;

/**
 * `completeCheckpoint(scope).then(() => value)` without a closure and a second promise when the
 * time slice is not spent (then completeCheckpoint's schedule point is an already-resolved
 * promise, and awaiting `Promise.resolve(value)` is the same single turn of the microtask queue).
 */
function completed<T>(scope: Parameters<typeof countCheckpoint>[0], value: T): Promise<T> {
  countCheckpoint(scope);
  if (!sliceExpired()) return Promise.resolve(value);
  return yieldToEventLoop().then(() => value);
}

/**
 * @internal The one property trellis adds to a Node stream: its engine, for the shared listeners
 * below; before that, for a socket being connected, its connect attempt (connect-tcp.ts). One
 * key for both, so a socket takes one more hidden class, not two (Node's own functions then see
 * fewer shapes of socket). Precondition of sharing it: the attempt is gone (it set the slot to
 * undefined) before an engine wraps the socket, and an engine's listeners read only engines.
 */
export const kOwner = Symbol("trellis owner");
interface EngineHolder {
  [kOwner]?: NodeStreamEngine | undefined;
}
function engineOf(stream: unknown): NodeStreamEngine | undefined {
  return (stream as EngineHolder)[kOwner];
}
function onData(this: unknown, chunk: unknown): void {
  engineOf(this)?.onData(chunk as ReadChunk);
}
function onEnd(this: unknown): void {
  engineOf(this)?.onEnd();
}
function onReceiveError(this: unknown, err: unknown): void {
  engineOf(this)?.onReceiveError(err);
}
function onSendError(this: unknown, err: unknown): void {
  engineOf(this)?.onSendError(err);
}
function onReadableClose(this: unknown): void {
  engineOf(this)?.onReadableClose();
}
function onWritableClose(this: unknown): void {
  engineOf(this)?.onWritableClose();
}

/**
 * @internal The engine of a stream made from user-given Node streams (`fromNodeStream`), with
 * its options checked.
 */
export function openNodeStreamEngine(readable: Readable, writable: Writable, options: NodeStreamOptions | undefined, where: string): NodeStreamEngine {
  const label = options?.label ?? "";
  if (typeof label !== "string") throw new TypeError(`${where}: \`options.label\` must be a string, got ${show(label)}`);
  const grace = options?.closeGraceMs;
  const closeGraceMs = grace === undefined || grace === null ? DEFAULT_CLOSE_GRACE_MS : requireDuration(where, "options.closeGraceMs", grace);
  return new NodeStreamEngine(readable, writable, "stream", closeGraceMs, label);
}

/** @internal */
export class NodeStreamEngine implements WaitDescriber, WaitAborter, WaitRegistrar<unknown>, ResourceLabeller, ForceCloser {
  readonly closeGraceMs: number;
  private tracked: TrackedResource | undefined = undefined;
  /** The label once made (see {@link NodeStreamEngine.label}). */
  private labelText: string | undefined;
  /**
   * A socket whose label is its peer's address, asked of the system (a getpeername call) only
   * when a label is needed: a wait described in the task tree, an error message, a leak report.
   */
  private readonly labelPeer: Socket | undefined;
  /**
   * Otherwise the label is made from this host and port: the address connected to; for an
   * accepted socket (`labelPeer`), the listener's, used once the peer can no longer be asked.
   */
  private readonly labelHost: string | undefined;
  private readonly labelPort: number | undefined;

  /**
   * Chunks Node delivered ('data') that no receive has taken yet, oldest first, and their
   * bytes. Bounded: once `queued` reaches the readable's high-water mark the Node stream is
   * paused (Node then reads from the kernel only up to that mark again, and stops), and it is
   * resumed by a receive that finds the queue below the mark.
   */
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private readonly highWaterMark: number;
  private eof = false;
  private receiveError: unknown = undefined;
  private sendError: unknown = undefined;
  /** The parked receive: its value is a chunk, or an iterator result (receiverFor). */
  private receiver: AnyParked | undefined = undefined;
  private receiverMax = 0;
  /** The `for await` iterator whose next() the parked receive is, if any (see receiveNext). */
  private receiverFor: ChunkResults | undefined = undefined;
  private sender: Parked<void> | undefined = undefined;
  /** close() waiting for a socket's 'close' event. */
  private closeWaiter: Parked<void> | undefined = undefined;
  private closeWaitOn: Readable | Writable | undefined = undefined;
  /** close()'s fast path: the resource is forgotten when the socket's 'close' comes. */
  private untrackOnClose = false;
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
  /** The first close() has finished: the handle is gone. */
  private closeDone = false;
  /** Set when the stream was handed over (startTls) rather than closed. */
  private closedWhy: string | undefined = undefined;
  /** Whether each Node stream has emitted 'close' (its handle, if any, is gone). */
  private readableClosed = false;
  private writableClosed = false;
  /** One Node stream for both directions (a socket) rather than two. */
  private readonly duplex: boolean;

  /**
   * `label` is the label, or undefined to make it when first asked: from `labelPeer`'s peer
   * address if given and still known, else from `labelHost` and `labelPort`.
   */
  constructor(
    readonly readable: Readable,
    readonly writable: Writable,
    readonly kind: string,
    closeGraceMs: number,
    label: string | undefined,
    labelPeer?: Socket,
    labelHost?: string,
    labelPort?: number,
  ) {
    this.duplex = (writable as unknown) === readable;
    this.closeGraceMs = closeGraceMs;
    this.labelText = label;
    this.labelPeer = labelPeer;
    this.labelHost = labelHost;
    this.labelPort = labelPort;

    // A stream wrapped after its end (or its destruction) has already emitted those events.
    if (readable.readableEnded) this.eof = true;
    else if (readable.destroyed) this.receiveError = readable.errored ?? new Error("the stream was destroyed before it was wrapped");
    if (writable.writableEnded) this.eofSent = true;
    else if (writable.destroyed) this.sendError = writable.errored ?? new Error("the stream was destroyed before it was wrapped");
    this.readableClosed = readable.closed === true;
    this.writableClosed = writable.closed === true;
    // One shared function per event, not a closure per stream: Node calls a listener with the
    // emitter as `this`, and the emitter holds its engine (precondition of the shared listeners:
    // a Node stream is wrapped by at most one live engine, which release() detaches).
    (readable as EngineHolder)[kOwner] = this;
    this.highWaterMark = Math.max(1, readable.readableHighWaterMark || 1);
    // Chunks are taken as Node reads them ('data', paused when nobody receives), never with
    // read(): read() concatenates whatever is buffered (a copy), and each 'readable' costs a tick.
    readable.on("data", onData);
    readable.on("end", onEnd);
    readable.on("error", onReceiveError);
    readable.on("close", onReadableClose);
    if ((writable as unknown) !== readable) {
      (writable as EngineHolder)[kOwner] = this;
      writable.on("error", onSendError);
      writable.on("close", onWritableClose);
    }
  }

  /**
   * Shown in wait labels and error messages: the peer's address (`127.0.0.1:4000`), a path, or
   * the label given; `""` for none. Made on first use (see the constructor). An accepted
   * socket's peer is asked of the system then; once its handle is closed (by `close()`, or by
   * Node after an error) it can no longer be, and the label says `accepted on <listener>`.
   */
  get label(): string {
    const made = this.labelText;
    if (made !== undefined) return made;
    if (this.labelPeer === undefined) return (this.labelText = this.labelHost === undefined ? "" : formatAddress(this.labelHost, this.labelPort));
    const peer = this.peerAddress();
    // Not cached: the peer's address stays the label whenever it can still be asked.
    return peer !== "" ? peer : `accepted on ${formatAddress(this.labelHost, this.labelPort)}`;
  }

  /** The peer's address as the label says it, or `""` when it is not known (any more). */
  peerAddress(): string {
    const made = this.labelText;
    if (made !== undefined) return made;
    const peer = this.labelPeer;
    if (peer === undefined) return this.label;
    if (peer.remotePort !== undefined) return (this.labelText = formatAddress(peer.remoteAddress, peer.remotePort));
    return "";
  }

  /** The label of a parked receive or send, made only when a task tree or stall report asks. */
  describeWait(parked: AnyParked): string {
    const label = this.label;
    const suffix = label === "" ? "" : ` ${label}`;
    return `${this.kind} ${parked.data === SEND ? "send" : parked.data === CLOSE ? "close" : "receive"}${suffix}`;
  }

  /** The resource registry's label (made only when a report or the debug tree asks). */
  resourceLabel(): string {
    const label = this.label;
    return label === "" ? "(unnamed)" : label;
  }

  /** Registers with the run once the public object exists (so a leak report can name it). */
  track(owner: object): void {
    // The engine is its own label and force-close: it never holds `owner` (resources.ts), only
    // the Node streams, so a leaked public object can still be collected and reported.
    this.tracked = trackResource(owner, this.kind, this, this);
  }

  /** The run's force-close (resources.ts): destroys the Node streams. Never throws. */
  forceClose(): void {
    this.readable.destroy();
    if (!this.duplex) this.writable.destroy();
  }

  // ---- Node's events: one listener each, dispatching to the one waiter ----

  /** @internal */
  onData(read: ReadChunk): void {
    if (read === null) return;
    const chunk = typeof read === "string" ? Buffer.from(read, "utf8") : read;
    if (chunk.byteLength === 0) return;
    const parked = this.receiver;
    // A parked receiver means the queue is empty (it parks only then): hand the chunk over.
    if (parked !== undefined && chunk.byteLength <= this.receiverMax) {
      this.receiver = undefined;
      this.receiveBusy = false;
      this.deliver(parked, chunk);
      return;
    }
    this.queue.push(chunk);
    this.queued += chunk.byteLength;
    if (parked !== undefined) {
      this.receiver = undefined;
      this.receiveBusy = false;
      this.deliver(parked, this.take(this.receiverMax)!);
    }
    // Backpressure: stop taking chunks from Node once a high-water mark of them waits here.
    if (this.queued >= this.highWaterMark) this.readable.pause();
  }

  /** Lets Node deliver chunks again when the queue is below its mark (and nothing ended). */
  private resumeIfRoom(): void {
    const readable = this.readable;
    if (this.queued < this.highWaterMark && readable.readableFlowing !== true && !this.eof && !readable.destroyed) readable.resume();
  }

  /** @internal */
  onEnd(): void {
    this.eof = true;
    const parked = this.receiver;
    if (parked === undefined) return;
    this.receiver = undefined;
    this.receiveBusy = false;
    this.deliver(parked, EMPTY);
  }

  /** Ends the parked receive with `chunk`, as an iterator result for a parked receiveNext. */
  private deliver(parked: AnyParked, chunk: Uint8Array): void {
    const iterator = this.receiverFor;
    if (iterator === undefined) {
      wake(parked, chunk);
      return;
    }
    this.receiverFor = undefined;
    wake(parked, iterator.result(chunk));
  }

  /** @internal */
  onReceiveError(err: unknown): void {
    if (this.closed) return;
    this.receiveError ??= err;
    if (this.duplex) this.sendError ??= err;
    this.failWaiters();
  }

  /** @internal */
  onSendError(err: unknown): void {
    if (this.closed) return;
    this.sendError ??= err;
    this.failWaiters();
  }

  /** @internal */
  onReadableClose(): void {
    this.readableClosed = true;
    this.closeWaiterDone(this.readable);
    if (this.closed || this.eof) return;
    // Destroyed without an end: the other side (or someone holding the Node stream) tore it down.
    this.receiveError ??= new Error("the stream was destroyed before its end");
    if (this.duplex && !this.writable.writableFinished) this.sendError ??= this.receiveError;
    this.failWaiters();
  }

  /** @internal */
  onWritableClose(): void {
    this.writableClosed = true;
    this.closeWaiterDone(this.writable);
    if (this.closed || this.writable.writableFinished) return;
    this.sendError ??= new Error("the stream was destroyed before its end");
    this.failWaiters();
  }

  /** Wakes close() waiting for the 'close' of a socket (the one listener we already have). */
  private closeWaiterDone(stream: Readable | Writable): void {
    const parked = this.closeWaiter;
    if (parked === undefined || this.closeWaitOn !== stream) return;
    this.closeWaiter = this.closeWaitOn = undefined;
    if (this.untrackOnClose) {
      this.tracked?.untrack();
      this.closeDone = true;
    }
    wake(parked, undefined);
  }

  private failWaiters(): void {
    const receiver = this.receiver;
    if (receiver !== undefined && this.receiveError !== undefined) {
      this.receiver = undefined;
      this.receiveBusy = false;
      // Data already read comes first; the error is seen by the receive after it.
      const chunk = this.take(this.receiverMax);
      if (chunk !== undefined) this.deliver(receiver, chunk);
      else {
        this.receiverFor = undefined;
        wakeWithError(receiver, brokenBy(`receive() on ${this.describe()}`, this.receiveError));
      }
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

  private describe(): string {
    const label = this.label;
    return label === "" ? `this ${this.kind}` : `${this.kind} ${label}`;
  }

  /** Up to `max` bytes of the oldest queued chunk (no copy), or undefined if none is queued. */
  private take(max: number): Uint8Array | undefined {
    const queue = this.queue;
    if (queue.length === 0) return undefined;
    const chunk = queue[0]!;
    if (chunk.byteLength <= max) {
      queue.shift();
      this.queued -= chunk.byteLength;
      return chunk;
    }
    queue[0] = chunk.subarray(max);
    this.queued -= max;
    return chunk.subarray(0, max);
  }

  // ---- the Stream methods ----

  receive(maxBytes: unknown): Promise<Uint8Array> {
    let max: number;
    try {
      max = requireMaxBytes("receive()", maxBytes);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.receiveUpTo(max, undefined) as Promise<Uint8Array>;
  }

  /**
   * `receive()` for a `for await` loop: the same receive (same checks, checkpoint, park and
   * wake), whose promise resolves to `iterator.result(chunk)` instead of the chunk, made where
   * the chunk is handed over: no `then` (a promise and a turn of the microtask queue) per chunk.
   */
  receiveNext(iterator: ChunkResults): Promise<IteratorResult<Uint8Array, undefined>> {
    return this.receiveUpTo(DEFAULT_MAX, iterator) as Promise<IteratorResult<Uint8Array, undefined>>;
  }

  private receiveUpTo(max: number, iterator: ChunkResults | undefined): Promise<unknown> {
    // The error messages' text is made only when one is thrown (nothing per call).
    if (this.closed) return Promise.reject(this.closedErr(`receive() on ${this.describe()}`));
    if (this.receiveBusy) return Promise.reject(busyError(`receive() on ${this.describe()}`, "receive()"));
    const scope = currentScope();
    if (scope !== undefined && scope.cause !== null) return scope.rejectCancelled();
    const chunk = this.take(max);
    this.resumeIfRoom();
    // Data in hand is kept even if a cancellation arrives now: a schedule point, not a cancel point.
    // The scope was checked just above: this schedule point completes the checkpoint (counted).
    if (chunk !== undefined) return completed(scope, iterator === undefined ? chunk : iterator.result(chunk));
    if (this.eof) return completed(scope, iterator === undefined ? EMPTY : iterator.result(EMPTY));
    if (this.receiveError !== undefined) return Promise.reject(brokenBy(`receive() on ${this.describe()}`, this.receiveError));
    this.receiveBusy = true;
    this.receiverMax = max;
    this.receiverFor = iterator;
    // The engine is the wait's label, registrar and abort (registerWait, abortWait): no closure.
    return parkWait(new Parked<unknown>(scope, this), this);
  }

  send(data: unknown): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = requireData("send()", data);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.sendBusy || this.closed || this.eofSent || this.cancelledSend || this.sendError !== undefined || this.writable.destroyed) {
      return Promise.reject(this.sendRefusal(`send() on ${this.describe()}`));
    }
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
    const parked = new Parked<void>(scope, this);
    parked.data = SEND; // for registerWait, abortWait and describeWait
    return parkWait(parked, this);
  }

  /**
   * Puts a receive, send or close wait (`parked.data`) where Node's events find it. Precondition
   * of an object registrar (park.ts): it neither throws nor wakes the wait.
   */
  registerWait(parked: AnyParked): void {
    const what = parked.data;
    if (what === CLOSE) {
      this.closeWaiter = parked; // not cancellable: no abort
      return;
    }
    if (what === SEND) this.sender = parked;
    else this.receiver = parked;
    parked.abort = this;
  }

  /**
   * Withdraws the parked send or receive (the engine is the abort of both: no object per wait).
   * A withdrawn send's bytes are in Node's hands and cannot be taken back: later sends fail.
   */
  abortWait(parked: AnyParked): boolean {
    if (parked.data === SEND) {
      this.sender = undefined;
      this.sendBusy = false;
      this.cancelledSend = true;
    } else {
      this.receiver = undefined;
      this.receiverFor = undefined;
      this.receiveBusy = false;
    }
    return true;
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

  private sendRefusal(where: string): Error {
    if (this.closed) return this.closedErr(where);
    if (this.sendBusy) return busyError(where, "send() or sendEof()");
    if (this.eofSent) return eofSentError(where);
    if (this.cancelledSend) return brokenAfterCancel(where);
    if (this.sendError !== undefined) return brokenBy(where, this.sendError);
    return brokenBy(where, new Error("the stream was destroyed"));
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
    const unread = this.queued + this.readable.readableLength;
    if (unread > 0) {
      throw new BrokenResourceError(
        `${where}: ${unread} bytes were received before the TLS handshake and would be lost; the peer must wait for the upgrade before sending TLS data`,
      );
    }
    this.closed = true;
    this.closedWhy = why;
    this.closing = Promise.resolve();
    this.readable.pause(); // nothing may flow once our 'data' listener is gone
    this.readable.off("data", onData);
    this.readable.off("end", onEnd);
    this.readable.off("error", onReceiveError);
    this.readable.off("close", onReadableClose);
    (this.readable as EngineHolder)[kOwner] = undefined;
    if (!this.duplex) {
      this.writable.off("error", onSendError);
      this.writable.off("close", onWritableClose);
      (this.writable as EngineHolder)[kOwner] = undefined;
    }
    this.tracked?.untrack();
  }

  /** Idempotent; never raises Cancelled. */
  close(): Promise<void> {
    // Closed already: a schedule point (the promise of the first close is settled, so waiting
    // for it would be one more turn and one more promise for nothing).
    if (this.closeDone) return schedulePoint();
    if (this.closing !== undefined) return this.closing.then(schedulePoint);
    this.closed = true;
    const socket = this.writable;
    // Fast path (no async function, no listener, no closure): precondition, one plain TCP or
    // Unix socket (not TLS) for both directions, with no waiter and nothing queued in user
    // space. Closing its descriptor lets the kernel send what it holds, then FIN (no linger),
    // as doClose would do after its schedule point; Node always emits 'close' after destroy(),
    // and our own 'close' listener wakes the one wait. Anything else goes through doClose.
    if (
      this.duplex &&
      socket instanceof Socket &&
      !(socket instanceof TLSSocket) &&
      this.receiver === undefined &&
      this.sender === undefined &&
      socket.writableLength === 0
    ) {
      this.receiveBusy = this.sendBusy = false;
      socket.destroy();
      if (this.readableClosed) {
        this.tracked?.untrack();
        this.closeDone = true;
        this.closing = schedulePoint();
      } else {
        this.untrackOnClose = true;
        this.closing = this.closeEvent(socket);
      }
      return this.closing;
    }
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
    this.receiverFor = undefined;
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
    this.forceClose();
    // Wait for the handle itself to close (a local matter of one event-loop turn), so that
    // nothing is left when the caller's run() returns.
    if (!this.readableClosed) await this.closeEvent(this.readable);
    if (!this.duplex && !this.writableClosed) await this.closeEvent(this.writable);
    this.tracked?.untrack();
    this.closeDone = true;
  }

  private closeEvent(stream: Readable | Writable): Promise<void> {
    // A destroyed net.Socket always emits 'close' once its handle is released: no timer. Our
    // own 'close' listener (attached in the constructor, still attached: only release() takes
    // it off, and a released engine never closes) wakes the wait: no listener per close.
    if (stream instanceof Socket) {
      const parked = new Parked<void>(currentScope(), this);
      parked.data = CLOSE;
      this.closeWaitOn = stream;
      return parkWait(parked, this, false);
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

