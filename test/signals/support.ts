// Helpers for the signal tests: real signals sent to the test process itself.

const TEST_SIGNALS = ["SIGHUP", "SIGALRM", "SIGWINCH", "SIGCONT", "SIGURG"] as const;
export type TestSignal = (typeof TEST_SIGNALS)[number];
export const testSignals: readonly TestSignal[] = TEST_SIGNALS;

/**
 * Sends `signal` to this process and resolves once Node has emitted it (a one-shot listener
 * added after the receiver's, so the receiver has seen it by then). The caller must make sure
 * someone handles it, or the default action applies.
 */
export function raise(signal: NodeJS.Signals): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // Signal handles do not keep the event loop alive; this timer does, and fails a lost signal.
    const guard = setTimeout(() => reject(new Error(`${signal} sent to ourselves never arrived`)), 10_000);
    process.once(signal, () => {
      clearTimeout(guard);
      resolve();
    });
    process.kill(process.pid, signal);
  });
}

/** How many listeners each signal has: the same before and after a receiver. */
export function listenerCounts(signals: readonly string[] = [...TEST_SIGNALS, "SIGINT", "SIGTERM"]): Record<string, number> {
  return Object.fromEntries(signals.map((s) => [s, process.listenerCount(s)]));
}
