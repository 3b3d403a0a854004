/**
 * What every handle of one channel shares: the buffer, the tasks waiting to send (each with its
 * value, as Trio keeps `{task: value}`), the tasks waiting to receive, and the count of open
 * handles on each side. The hand-off rules live here; the handles add the checks (closed,
 * broken, end of channel) and the check-try-park skeleton.
 *
 * Invariants, kept by {@link ChannelState.offer} and {@link ChannelState.take}:
 * - receivers wait only while the buffer is empty and no sender waits;
 * - senders wait only while the buffer is full and no receiver waits;
 * - a value leaves a waiting sender only by being handed over (into the buffer or straight to
 *   a receiver) and the sender is woken in the same synchronous step, so a cancellation that
 *   comes later finds the wait settled and the send returns normally. A cancelled waiter leaves
 *   its queue in its abort callback (WaitQueue's), taking its value with it: nothing is lost
 *   nor delivered twice.
 *
 * @module
 */
import { inspect, type InspectOptions } from "node:util";
import {
  BrokenResourceError,
  ClosedResourceError,
  EndOfChannel,
  WaitQueue,
  WouldBlock,
  wake,
  wakeWithError,
  RingBuffer,
  type AnyParked,
  type Runtime,
  type WaitDescriber,
} from "../core/index.js";

/** @internal What `take` returns when there is nothing to take (a value may be `undefined`). */
export const NOTHING: unique symbol = Symbol("trellis.channel.nothing");

/** @internal The wait entry of a blocked sender: its value goes straight to a receiver. */
export class SendWait<T> {
  constructor(
    readonly value: T,
    /** The handle the send was called on; its `close()` wakes the send with `ClosedResourceError`. */
    readonly owner: object,
  ) {}
}

/**
 * A snapshot of a channel, as returned by `statistics()` on either handle. Every call returns
 * a fresh object; it does not change afterwards.
 *
 * @example
 * ```ts
 * import { openChannel, type ChannelStatistics } from "trellis";
 * const [send] = openChannel<string>(10);
 * const stats: ChannelStatistics = send.statistics();
 * if (stats.currentBufferUsed === stats.maxBufferSize) console.log("consumers are falling behind");
 * ```
 */
export interface ChannelStatistics {
  /** Values in the buffer now. */
  readonly currentBufferUsed: number;
  /** The capacity given to `openChannel` (`Infinity` for unbounded). */
  readonly maxBufferSize: number;
  /** Send handles (the original and its clones) not yet closed. */
  readonly openSendChannels: number;
  /** Receive handles not yet closed. */
  readonly openReceiveChannels: number;
  /** Calls to `send` waiting for room or a receiver, over every send handle. */
  readonly tasksWaitingSend: number;
  /** Calls to `receive` waiting for a value, over every receive handle. */
  readonly tasksWaitingReceive: number;
}

/** @internal */
export class ChannelState<T> {
  readonly buffer = new RingBuffer<T>();
  /** Blocked `send` calls; `parked.data` is a {@link SendWait}. */
  readonly sendWaiters = new ChannelQueue(this, "send on");
  /** Blocked `receive` calls; `parked.data` is the receive handle. */
  readonly receiveWaiters = new ChannelQueue(this, "receive on");
  openSendChannels = 0;
  openReceiveChannels = 0;
  /** Set in debug mode: handles collected while open are reported (see watchForLeak). */
  debugRuntime: Runtime | undefined = undefined;

  constructor(
    readonly capacity: number,
    /** Given to `openChannel(capacity, { name })`: shown in waits and leak reports. */
    readonly name: string | undefined = undefined,
  ) {}

  /** `channel "jobs"`, or `an unnamed channel (capacity 0)`. */
  describe(): string {
    return this.name !== undefined ? `channel ${JSON.stringify(this.name)}` : `an unnamed channel (capacity ${this.capacity})`;
  }

  /**
   * Hands `value` to the first waiting receiver, else puts it in the buffer if there is room.
   * Returns false when it would have to wait. The caller has checked that both sides are open.
   */
  offer(value: T): boolean {
    if (this.receiveWaiters.wakeFirst(value) !== undefined) return true;
    if (this.buffer.length < this.capacity) {
      this.buffer.push(value);
      return true;
    }
    return false;
  }

  /**
   * Takes the next value: the front of the buffer (whose freed slot goes at once to the first
   * waiting sender's value, so a `trySend` right after cannot jump the queue), or, with an empty
   * buffer, the first waiting sender's value. {@link NOTHING} when there is none.
   */
  take(): T | typeof NOTHING {
    const buffer = this.buffer;
    if (buffer.length > 0) {
      const value = buffer.shift();
      // The freed slot goes to the first waiting sender, if it is a slot: an acknowledged
      // channel may hold values handed back above its capacity (see ack-channel-state.ts).
      const sender = buffer.length < this.capacity ? this.sendWaiters.first() : undefined;
      if (sender !== undefined) {
        this.sendWaiters.remove(sender);
        buffer.push((sender.data as SendWait<T>).value);
        this.wakeSoon(sender);
      }
      return value;
    }
    const sender = this.sendWaiters.wakeFirst(undefined);
    return sender === undefined ? NOTHING : (sender.data as SendWait<T>).value;
  }

  /**
   * Wakes a sender whose value has just entered the buffer, one microtask later rather than at
   * once, so that the receiver that freed the slot runs before it. Without this, a producer
   * and a consumer of a full buffered channel fall into lockstep for good: the woken producer
   * runs first, finds the buffer full again and parks, for every value (W2b). Until the
   * wake-up the wait cannot be withdrawn (its abort answers "a wake-up will still come"), so a
   * cancellation in between leaves the send successful, as the hand-off happened.
   */
  private wakeSoon(sender: AnyParked): void {
    sender.abort = keepWaiting;
    this.handedOff.push(sender);
    if (this.handedOff.length === 1) queueMicrotask(this.wakeHandedOff);
  }

  private handedOff: AnyParked[] = [];
  private readonly wakeHandedOff = (): void => {
    const senders = this.handedOff;
    this.handedOff = [];
    for (const sender of senders) wake(sender, undefined);
  };

  /** A send handle was closed: its own waits fail; the last one ends the stream for receivers. */
  closeSend(owner: object): void {
    failOwnWaits(this.sendWaiters, (p) => (p.data as SendWait<T>).owner === owner, () =>
      closedWhileWaiting("SendChannel.send()", "the value was not sent"),
    );
    if (--this.openSendChannels === 0) this.endWaitingReceivers();
  }

  /**
   * True when a receive that finds nothing ready must raise EndOfChannel rather than wait (the
   * buffer is empty, checked by the caller): every send handle is closed. An acknowledged
   * channel also waits for values in flight, which may still come back.
   */
  hasEnded(): boolean {
    return this.openSendChannels === 0;
  }

  /** The stream has ended (the last send handle was closed): waiting receivers get EndOfChannel. */
  protected endWaitingReceivers(): void {
    this.receiveWaiters.breakAll(() => endOfChannel("ReceiveChannel.receive()"));
  }

  /**
   * A receive handle was closed: its own waits fail; the last one breaks the channel for
   * senders, and drops whatever was buffered, since no one can ever receive it.
   */
  closeReceive(owner: object): void {
    failOwnWaits(this.receiveWaiters, (p) => p.data === owner, () =>
      closedWhileWaiting("ReceiveChannel.receive()", "nothing was received"),
    );
    if (--this.openReceiveChannels === 0) {
      this.sendWaiters.breakAll(() => brokenChannel("SendChannel.send()"));
      this.buffer.clear();
    }
  }

  statistics(): ChannelStatistics {
    return {
      currentBufferUsed: this.buffer.length,
      maxBufferSize: this.capacity,
      openSendChannels: this.openSendChannels,
      openReceiveChannels: this.openReceiveChannels,
      tasksWaitingSend: this.sendWaiters.length,
      tasksWaitingReceive: this.receiveWaiters.length,
    };
  }

  /** `util.inspect` output shared by both handles: which handle, open or closed, live numbers. */
  inspect(kind: string, closed: boolean, depth: number, options: InspectOptions): string {
    const name = `${kind} (${closed ? "closed" : "open"})`;
    if (depth < 0) return `[${name}]`;
    const inner = { ...options, depth: options.depth == null ? null : options.depth - 1 };
    return `${name} ${inspect({ ...this.statistics(), buffered: this.buffer.toArray() }, inner)}`;
  }
}

/** The abort of a wait whose hand-off has happened: it cannot be withdrawn any more. */
function keepWaiting(): boolean {
  return false;
}

/** Ends, with the error `makeError()` gives, every wait in `queue` that `mine` selects. */
function failOwnWaits(queue: WaitQueue, mine: (p: AnyParked) => boolean, makeError: () => Error): void {
  if (queue.length === 0) return;
  const own: AnyParked[] = [];
  for (const parked of queue) if (mine(parked)) own.push(parked);
  for (const parked of own) {
    queue.remove(parked);
    wakeWithError(parked, makeError());
  }
}

// ---- errors: what happened, and what to do ------------------------------------------------

/** @internal */
export function closedHandle(where: string, side: "send" | "receive"): ClosedResourceError {
  return new ClosedResourceError(
    `${where}: this ${side} handle is closed (by its close(), or at the end of its \`using\` block); ` +
      `use a handle that is still open, or clone() this one before closing it`,
  );
}

function closedWhileWaiting(where: string, what: string): ClosedResourceError {
  return new ClosedResourceError(
    `${where}: this handle was closed while the call was waiting, so ${what}; ` +
      `close a handle only once the tasks using it are done`,
  );
}

/** @internal */
export function brokenChannel(where: string): BrokenResourceError {
  return new BrokenResourceError(
    `${where}: every receive handle of this channel is closed, so no one will ever take this value; ` +
      `the consumers have finished or failed: stop producing (letting this error end the producer is usually right)`,
  );
}

/** @internal */
export function endOfChannel(where: string): EndOfChannel {
  return new EndOfChannel(
    `${where}: every send handle of this channel is closed and its buffer is empty, so no more values will come; ` +
      "`for await (const value of channel)` ends cleanly here instead of throwing",
  );
}

/** @internal */
export function sendWouldBlock(capacity: number): WouldBlock {
  return new WouldBlock(
    `SendChannel.trySend(): the buffer is full (capacity ${capacity}) and no receiver is waiting; ` +
      "use `await send(value)` to wait for room",
  );
}

/** @internal */
export function receiveWouldBlock(): WouldBlock {
  return new WouldBlock(
    "ReceiveChannel.tryReceive(): nothing is buffered and no sender is waiting; use `await receive()` to wait for a value",
  );
}

/** @internal A channel's queue of senders or receivers, which names their waits: `receive on channel "jobs"`. */
export class ChannelQueue extends WaitQueue implements WaitDescriber {
  constructor(
    private readonly channel: { describe(): string },
    private readonly verb: string,
  ) {
    super();
  }

  describeWait(): string {
    return `${this.verb} ${this.channel.describe()}`;
  }
}
