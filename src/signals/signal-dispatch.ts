/**
 * One process listener per signal, dispatching to the receiver that owns it (DESIGN.md choice 9:
 * one listener per resource, never one per waiter). When several open receivers listen to the
 * same signal, the one opened last gets it, as a handler installed with `signal(2)` replaces
 * the one before it; when it closes, the one before gets signals again. While any receiver
 * listens to a signal, its default action is replaced (Node installs its handler only while a
 * listener exists) and `run()` leaves it alone (core's takeOverSignal); once the last receiver
 * of a signal closes, its listener is removed and the previous behaviour returns.
 *
 * @module
 */
import { takeOverSignal } from "../core/index.js";
import type { SignalName } from "./signal-names.js";

/** What the dispatcher needs from a receiver. @internal */
export interface SignalSink {
  deliver(signal: SignalName): void;
}

interface Owners {
  /** Receivers listening to this signal, most recently opened last. */
  readonly sinks: SignalSink[];
  readonly release: () => void;
}

const owners = new Map<SignalName, Owners>();

function dispatch(signal: NodeJS.Signals): void {
  const entry = owners.get(signal as SignalName);
  if (entry !== undefined) entry.sinks[entry.sinks.length - 1]!.deliver(signal as SignalName);
}

/** Routes `signal` to `sink` until {@link detachSignal}. @internal */
export function attachSignal(signal: SignalName, sink: SignalSink): void {
  let entry = owners.get(signal);
  if (entry === undefined) {
    // The takeover first: from the moment our listener exists, run() must not act on it.
    entry = { sinks: [], release: takeOverSignal(signal) };
    owners.set(signal, entry);
    process.on(signal, dispatch);
  }
  entry.sinks.push(sink);
}

/** Stops routing `signal` to `sink`; the last one out removes the process listener. @internal */
export function detachSignal(signal: SignalName, sink: SignalSink): void {
  const entry = owners.get(signal);
  if (entry === undefined) return;
  const i = entry.sinks.lastIndexOf(sink);
  if (i < 0) return;
  entry.sinks.splice(i, 1);
  if (entry.sinks.length > 0) return;
  owners.delete(signal);
  process.removeListener(signal, dispatch);
  entry.release();
}
