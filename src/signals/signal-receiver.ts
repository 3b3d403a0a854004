/**
 * The receiver `openSignalReceiver` hands to its body: a queue of the signals that arrived,
 * with one task at a time waiting on it.
 *
 * Coalescing (Trio's rule): the queue holds each signal name at most once. A signal that
 * arrives while the same signal is already queued is merged into it; otherwise it joins the end.
 * So a burst is delivered in the order each signal first arrived since it was last received
 * (`SIGHUP, SIGUSR1, SIGHUP` unreceived → `SIGHUP`, `SIGUSR1`), and the queue can never grow past
 * the number of signals listened to. The kernel itself merges repeats of a signal that is still
 * pending, so counting deliveries was never reliable anyway.
 *
 * @module
 */
import {
  BusyResourceError,
  ClosedResourceError,
  checkpointIfCancelled,
  completeCheckpoint,
  currentScope,
  park,
  trackResource,
  wake,
  wakeWithError,
  type Parked,
  type TrackedResource,
} from "../core/index.js";
import { attachSignal, detachSignal, type SignalSink } from "./signal-dispatch.js";
import type { SignalName } from "./signal-names.js";

/**
 * What {@link SignalReceiver.statistics} reports.
 */
export interface SignalReceiverStatistics {
  /** The signals this receiver listens to. */
  readonly signals: readonly SignalName[];
  /** Signals that arrived and have not been received yet (each name at most once). */
  readonly pending: readonly SignalName[];
  /** 1 while a task waits in `receive()`, else 0. */
  readonly tasksWaiting: number;
  /** False once the `openSignalReceiver` call that made it has returned. */
  readonly open: boolean;
}

/**
 * The signals that arrive while `openSignalReceiver` runs, as an async iterable of names
 * (`for await (const signal of receiver)`). Made by `openSignalReceiver` only.
 *
 * @example
 * ```ts
 * import { openSignalReceiver } from "trellis/signals";
 * await openSignalReceiver(["SIGHUP"], async (receiver) => {
 *   for await (const signal of receiver) reloadConfig();
 * });
 * ```
 */
export interface SignalReceiver extends AsyncIterable<SignalName> {
  /**
   * Waits for the next signal and returns its name; at once (after a schedule point) if one is
   * queued. A checkpoint: a cancelled receive takes nothing, so the signal stays for the next.
   *
   * @throws {Cancelled} If the caller is cancelled before a signal arrives.
   * @throws {BusyResourceError} If another task is already receiving.
   * @throws {ClosedResourceError} Once the `openSignalReceiver` call that made it has returned.
   * @example
   * ```ts
   * import { openSignalReceiver } from "trellis/signals";
   * await openSignalReceiver(["SIGUSR2"], async (receiver) => {
   *   await receiver.receive();
   *   dumpState();
   * });
   * ```
   */
  receive(): Promise<SignalName>;
  /**
   * A fresh snapshot of the receiver's state.
   *
   * @example
   * ```ts
   * import { openSignalReceiver } from "trellis/signals";
   * await openSignalReceiver(["SIGHUP"], (receiver) => console.log(receiver.statistics().pending));
   * ```
   */
  statistics(): SignalReceiverStatistics;
}

/** @internal The machinery behind a receiver. Holds no reference to its facade. */
export class ReceiverEngine implements SignalSink {
  readonly pending: SignalName[] = [];
  waiter: Parked<SignalName> | undefined = undefined;
  /** A waiting receive keeps the process alive, as a pending sleep does (signal handles do not). */
  releaseHold: (() => void) | undefined = undefined;
  busy = false;
  closed = false;
  record: TrackedResource | undefined = undefined;
  readonly label: string;

  constructor(readonly signals: readonly SignalName[]) {
    this.label = `receive on signal receiver (${signals.join(", ")})`;
  }

  open(owner: object): void {
    for (const signal of this.signals) attachSignal(signal, this);
    this.record = trackResource(owner, "signal receiver", this.signals.join(","), () => this.close());
  }

  deliver(signal: SignalName): void {
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.endWait();
      wake(waiter, signal);
    } else if (!this.pending.includes(signal)) {
      this.pending.push(signal);
    }
  }

  async receive(): Promise<SignalName> {
    if (this.closed) {
      throw new ClosedResourceError(
        "SignalReceiver.receive(): the openSignalReceiver() call that made this receiver has returned; receive inside its body",
      );
    }
    if (this.busy) {
      throw new BusyResourceError("SignalReceiver.receive(): another task is already receiving on this receiver; receive from one task");
    }
    this.busy = true;
    try {
      if (this.pending.length > 0) {
        checkpointIfCancelled();
        const signal = this.pending.shift()!;
        await completeCheckpoint(currentScope()); // the check above was the cancel point: the signal, once taken, is returned
        return signal;
      }
      return await park<SignalName>(this.label, (parked) => {
        this.waiter = parked;
        this.releaseHold = parked.runtime.holdOpen();
        parked.abort = () => {
          this.endWait();
          return true;
        };
      });
    } finally {
      this.busy = false;
    }
  }

  private endWait(): void {
    this.waiter = undefined;
    this.releaseHold?.();
    this.releaseHold = undefined;
  }

  /**
   * Stops listening (idempotent). Signals still queued are raised again, in order, once our
   * listeners are gone, so that they get the behaviour that applies now (an outer receiver,
   * run()'s cancellation, the default action): a signal that arrives just before the body
   * returns is never silently lost (Trio does the same).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const signal of this.signals) detachSignal(signal, this);
    this.record?.untrack();
    const waiter = this.waiter;
    this.endWait();
    if (waiter !== undefined) {
      wakeWithError(waiter, new ClosedResourceError("SignalReceiver.receive(): the openSignalReceiver() call that made this receiver returned while it waited"));
    }
    for (const signal of this.pending.splice(0)) {
      try {
        process.kill(process.pid, signal);
      } catch {
        // Raising a signal at ourselves does not fail on a supported platform; nothing to do.
      }
    }
  }
}

/** @internal The public face of a receiver; its only state is the engine, in a private field. */
export class SignalReceiverFacade implements SignalReceiver {
  readonly #engine: ReceiverEngine;

  constructor(engine: ReceiverEngine) {
    this.#engine = engine;
  }

  receive(): Promise<SignalName> {
    return this.#engine.receive();
  }

  statistics(): SignalReceiverStatistics {
    const e = this.#engine;
    return { signals: [...e.signals], pending: [...e.pending], tasksWaiting: e.waiter === undefined ? 0 : 1, open: !e.closed };
  }

  [Symbol.asyncIterator](): AsyncIterator<SignalName> {
    const engine = this.#engine;
    let done = false;
    return {
      async next(): Promise<IteratorResult<SignalName>> {
        if (done) return { done: true, value: undefined };
        return { done: false, value: await engine.receive() };
      },
      // Leaving a `for await` early ends this iteration only: the receiver stays open.
      async return(): Promise<IteratorResult<SignalName>> {
        done = true;
        return { done: true, value: undefined };
      },
    };
  }

  /** @internal Shows `SignalReceiver { signals: [...], pending: [...], ... }` in `console.log`. */
  [Symbol.for("nodejs.util.inspect.custom")](_depth: number, options: object, inspect?: (v: unknown, o?: object) => string): string {
    const state = this.statistics();
    return `SignalReceiver ${inspect !== undefined ? inspect(state, options) : JSON.stringify(state)}`;
  }
}
