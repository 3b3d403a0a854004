/**
 * Which OS signals a scoped receiver (`trellis/signals`) has taken over. While a receiver
 * listens to SIGINT or SIGTERM, `run()` must not also treat that signal as "cancel everything":
 * the receiver replaces `run()`'s handling, as it replaces the default action. Node calls every
 * listener of a signal, so the receiver cannot remove `run()`'s listener; instead `run()` asks
 * here before acting. Process-wide, as signals are.
 *
 * @module
 */

const takenOver = new Map<string, number>();

/**
 * @internal Marks `signal` as handled by a receiver until the returned release is called
 * (idempotent). Counts, so nested receivers of one signal each hold it.
 */
export function takeOverSignal(signal: string): () => void {
  takenOver.set(signal, (takenOver.get(signal) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const n = (takenOver.get(signal) ?? 1) - 1;
    if (n === 0) takenOver.delete(signal);
    else takenOver.set(signal, n);
  };
}

/** @internal True while some receiver has taken `signal` over: `run()` leaves it alone. */
export function signalTakenOver(signal: string): boolean {
  return takenOver.has(signal);
}
