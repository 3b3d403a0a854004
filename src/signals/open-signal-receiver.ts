/**
 * `openSignalReceiver`: OS signals as an async iterable, for the extent of a function.
 *
 * @module
 */
import { checkpoint, requireFunction } from "../core/index.js";
import { requireSignalNames, type SignalName } from "./signal-names.js";
import { ReceiverEngine, SignalReceiverFacade, type SignalReceiver } from "./signal-receiver.js";

/**
 * Runs `fn(receiver)` while listening to `signals`, and returns what `fn` returns. While `fn`
 * runs, those signals do not take their default action (a SIGHUP or SIGTERM no longer ends the
 * process) and `run()` does not treat SIGINT or SIGTERM as "cancel everything": each arriving
 * signal is queued on `receiver` instead, in order of arrival; a signal that arrives while the
 * same signal is still queued is merged into it. When `fn` returns or throws, every listener is
 * removed and the previous behaviour returns; signals still queued are raised again, so they
 * meet that behaviour instead of being lost. With several receivers open for one signal, the
 * one opened last gets it.
 *
 * A checkpoint on entry (raises `Cancelled` in a cancelled context before listening).
 *
 * @param signals - Names such as `"SIGHUP"`, `"SIGUSR1"`, `"SIGINT"`, `"SIGTERM"`.
 * @param fn - The body; the receiver is valid only while it runs.
 * @returns `fn`'s result.
 * @throws {TypeError} If `signals` is empty or names an unknown signal, SIGKILL or SIGSTOP
 *   (which no process can catch), or if `fn` is not a function.
 * @example
 * ```ts
 * import { run } from "trellis";
 * import { openSignalReceiver } from "trellis/signals";
 * await run(() =>
 *   openSignalReceiver(["SIGHUP", "SIGTERM"], async (receiver) => {
 *     for await (const signal of receiver) {
 *       if (signal === "SIGTERM") break;
 *       await reloadConfig();
 *     }
 *   }),
 * );
 * ```
 */
export async function openSignalReceiver<T>(
  signals: readonly SignalName[] | Iterable<SignalName>,
  fn: (receiver: SignalReceiver) => T | PromiseLike<T>,
): Promise<T> {
  const names = requireSignalNames("openSignalReceiver()", signals);
  requireFunction("openSignalReceiver()", "fn", fn);
  await checkpoint();
  const engine = new ReceiverEngine(names);
  const receiver = new SignalReceiverFacade(engine);
  engine.open(receiver);
  try {
    return await fn(receiver);
  } finally {
    engine.close();
  }
}
