/**
 * Which signal names a receiver accepts, checked at the public boundary.
 *
 * @module
 */
import { constants } from "node:os";
import { show } from "../core/index.js";

/**
 * A signal a receiver can listen to: any of Node's signal names except the two that no
 * process can catch.
 */
export type SignalName = Exclude<NodeJS.Signals, "SIGKILL" | "SIGSTOP">;

const UNCATCHABLE = new Set(["SIGKILL", "SIGSTOP"]);

/**
 * The distinct names of `signals`, in the order given.
 *
 * @throws {TypeError} If `signals` is not an iterable of signal names, is empty, names a signal
 * this platform does not know, or names SIGKILL or SIGSTOP.
 * @internal
 */
export function requireSignalNames(where: string, signals: unknown): SignalName[] {
  if (typeof signals === "string" || signals === null || typeof signals !== "object" || !(Symbol.iterator in signals)) {
    throw new TypeError(`${where}: \`signals\` must be an array of signal names such as ["SIGHUP", "SIGTERM"], got ${show(signals)}`);
  }
  const names: SignalName[] = [];
  for (const name of signals as Iterable<unknown>) {
    if (typeof name !== "string" || !Object.hasOwn(constants.signals, name)) {
      throw new TypeError(
        `${where}: ${show(name)} is not a signal name of this platform; use names such as "SIGHUP", "SIGUSR1", "SIGTERM"`,
      );
    }
    if (UNCATCHABLE.has(name)) {
      throw new TypeError(`${where}: ${name} cannot be caught, blocked or ignored by any process, so no receiver can listen to it`);
    }
    if (!names.includes(name as SignalName)) names.push(name as SignalName);
  }
  if (names.length === 0) throw new TypeError(`${where}: \`signals\` is empty; name at least one signal to receive`);
  return names;
}
