/**
 * The engine of the in-memory streams: one direction of bytes with a buffer of `capacity`
 * bytes (0: none, every send waits for receives to take all of it).
 *
 * One parked sender and one parked receiver at most; each abort undoes exactly its own
 * bookkeeping. A sender parks with the part of its data that did not fit; receives take from
 * the buffer first, then straight from that part, and refill the buffer from it; the send
 * returns once none of its data is left with it.
 *
 * @internal
 * @module
 */
import { completeCheckpoint, currentScope, park, wake, wakeWithError, type Parked } from "../core/index.js";
import { BrokenResourceError } from "../core/index.js";
import { EMPTY, brokenAfterCancel, busyError, closedError, eofSentError, requireData, requireMaxBytes } from "../core/index.js";

/** @internal */
export class MemoryPipe {
  private readonly chunks: Uint8Array[] = [];
  private buffered = 0;
  private sender: Parked<void> | undefined = undefined;
  /** What the parked sender still holds. */
  private rest: Uint8Array = EMPTY;
  private receiver: Parked<Uint8Array> | undefined = undefined;
  private receiverMax = 0;
  private sendBusy = false;
  private receiveBusy = false;
  sendClosed = false;
  private eofSent = false;
  private receiveClosed = false;
  private cancelledSend = false;

  constructor(
    readonly capacity: number,
    readonly name: string,
  ) {}

  private get eof(): boolean {
    return (this.sendClosed || this.eofSent) && this.buffered === 0 && this.rest.byteLength === 0;
  }

  /** Takes up to `max` bytes, from the buffer then from the parked sender; refills; completes the send. */
  private take(max: number): Uint8Array | undefined {
    let out: Uint8Array | undefined;
    if (this.buffered > 0) {
      const first = this.chunks[0]!;
      if (first.byteLength <= max) {
        this.chunks.shift();
        out = first;
      } else {
        this.chunks[0] = first.subarray(max);
        out = first.subarray(0, max);
      }
      this.buffered -= out.byteLength;
    } else if (this.rest.byteLength > 0) {
      out = copy(this.rest.subarray(0, max)); // the sender may reuse its buffer once send returns
      this.rest = this.rest.subarray(out.byteLength);
    }
    this.refill();
    return out;
  }

  /** Moves what fits of the parked sender's data into the buffer; wakes it once it holds none. */
  private refill(): void {
    if (this.rest.byteLength > 0 && this.buffered < this.capacity) {
      const n = Math.min(this.capacity - this.buffered, this.rest.byteLength);
      this.chunks.push(copy(this.rest.subarray(0, n)));
      this.buffered += n;
      this.rest = this.rest.subarray(n);
    }
    const sender = this.sender;
    if (sender !== undefined && this.rest.byteLength === 0) {
      this.sender = undefined;
      this.sendBusy = false;
      wake(sender, undefined);
    }
  }

  /** Hands data (or EOF) to a parked receiver. */
  private feedReceiver(): void {
    const receiver = this.receiver;
    if (receiver === undefined) return;
    const chunk = this.take(this.receiverMax);
    if (chunk === undefined && !this.eof) return;
    this.receiver = undefined;
    this.receiveBusy = false;
    wake(receiver, chunk ?? EMPTY);
  }

  send(data: unknown): Promise<void> {
    const where = `send() on ${this.name}`;
    let bytes: Uint8Array;
    try {
      bytes = requireData("send()", data);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.sendClosed) return Promise.reject(closedError(where));
    if (this.sendBusy) return Promise.reject(busyError(where, "send() or sendEof()"));
    if (this.eofSent) return Promise.reject(eofSentError(where));
    if (this.receiveClosed) return Promise.reject(new BrokenResourceError(`${where}: the receiving side was closed, so nobody can read this`));
    if (this.cancelledSend) return Promise.reject(brokenAfterCancel(where));
    const scope = currentScope();
    if (scope !== undefined && scope.cause !== null) return scope.rejectCancelled();
    this.rest = bytes;
    this.refill(); // as much as fits
    this.feedReceiver();
    // The scope was checked above: completeCheckpoint makes this fast path a (counted) checkpoint.
    if (this.rest.byteLength === 0) return completeCheckpoint(scope);
    this.sendBusy = true;
    const total = bytes.byteLength;
    return park<void>(
      `send on ${this.name}`,
      (parked) => {
        this.sender = parked;
        parked.abort = () => {
          this.sender = undefined;
          this.sendBusy = false;
          // Bytes already taken cannot come back: then the stream's position is unknown.
          if (this.rest.byteLength < total) this.cancelledSend = true;
          this.rest = EMPTY;
          return true;
        };
      },
      true,
      scope,
    );
  }

  receive(maxBytes: unknown): Promise<Uint8Array> {
    const where = `receive() on ${this.name}`;
    let max: number;
    try {
      max = requireMaxBytes("receive()", maxBytes);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.receiveClosed) return Promise.reject(closedError(where));
    if (this.receiveBusy) return Promise.reject(busyError(where, "receive()"));
    const scope = currentScope();
    if (scope !== undefined && scope.cause !== null) return scope.rejectCancelled();
    const chunk = this.take(max);
    if (chunk !== undefined) return completeCheckpoint(scope).then(() => chunk);
    if (this.eof) return completeCheckpoint(scope).then(() => EMPTY);
    this.receiveBusy = true;
    this.receiverMax = max;
    return park<Uint8Array>(
      `receive on ${this.name}`,
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

  sendEof(): Promise<void> {
    const where = `sendEof() on ${this.name}`;
    if (this.sendClosed) return Promise.reject(closedError(where));
    if (this.sendBusy) return Promise.reject(busyError(where, "send()"));
    const scope = currentScope();
    if (scope !== undefined && scope.cause !== null) return scope.rejectCancelled();
    this.eofSent = true;
    this.feedReceiver();
    return completeCheckpoint(scope);
  }

  closeSend(): void {
    if (this.sendClosed) return;
    this.sendClosed = true;
    const sender = this.sender;
    if (sender !== undefined) {
      this.sender = undefined;
      this.sendBusy = false;
      this.rest = EMPTY;
      wakeWithError(sender, closedError(`a task blocked in send() on ${this.name}`));
    }
    this.feedReceiver();
  }

  closeReceive(): void {
    if (this.receiveClosed) return;
    this.receiveClosed = true;
    this.chunks.length = 0;
    this.buffered = 0;
    const receiver = this.receiver;
    if (receiver !== undefined) {
      this.receiver = undefined;
      this.receiveBusy = false;
      wakeWithError(receiver, closedError(`a task blocked in receive() on ${this.name}`));
    }
    const sender = this.sender;
    if (sender !== undefined) {
      this.sender = undefined;
      this.sendBusy = false;
      this.rest = EMPTY;
      wakeWithError(sender, new BrokenResourceError(`send() on ${this.name}: the receiving side was closed, so nobody can read this`));
    }
  }
}

function copy(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes);
}
