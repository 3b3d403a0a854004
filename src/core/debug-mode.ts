/**
 * What `run(main, { debug })` starts besides spawn stacks: the task-tree dump on SIGUSR2 and
 * the blocked-loop detector. Nothing here runs when `debug` is off.
 *
 * @module
 */
import { startLoopMonitor, type LoopMonitor } from "./loop-monitor.js";
import type { Runtime } from "./runtime.js";
import type { TaskImpl } from "./task.js";
import { formatTaskTree, snapshotRun } from "./task-tree.js";
import { show } from "./validate.js";

/** @internal What `run()` stops when it ends. */
export interface DebugSession {
  /** Resolves once the blocked-loop detector can sample (at once without one). */
  readonly ready: Promise<void>;
  /** Resolves once the detector's thread has ended. */
  stop(): Promise<void>;
}

/** @internal Debug settings after validation. */
export interface DebugSettings {
  /** Report synchronous stretches longer than this many ms; `undefined`: no detector. */
  readonly slowMs: number | undefined;
  /** Print the task tree on SIGUSR2. */
  readonly dumpOnSignal: boolean;
}

const DUMP_SIGNAL = "SIGUSR2";
const DEFAULT_SLOW_MS = 100;

/** @internal `run()`'s `debug` option, checked: `undefined` when debug mode is off. */
export function debugSettingsOf(debug: unknown): DebugSettings | undefined {
  if (debug === false) return undefined;
  if (debug === true) return { slowMs: DEFAULT_SLOW_MS, dumpOnSignal: true };
  if (typeof debug !== "object" || debug === null) {
    throw new TypeError(`run(): \`options.debug\` must be a boolean or an object of debug options, got ${show(debug)}`);
  }
  const spawnStacks = (debug as { spawnStacks?: unknown }).spawnStacks;
  if (spawnStacks != null && typeof spawnStacks !== "boolean") {
    throw new TypeError(`run(): \`options.debug.spawnStacks\` must be a boolean, got ${show(spawnStacks)}`);
  }
  const slowMs = (debug as { slowMs?: unknown }).slowMs ?? DEFAULT_SLOW_MS;
  if (typeof slowMs !== "number") {
    throw new TypeError(`run(): \`options.debug.slowMs\` must be a number of milliseconds > 0 (Infinity turns the detector off), got ${show(slowMs)}`);
  }
  if (!(slowMs > 0)) {
    throw new RangeError(`run(): \`options.debug.slowMs\` must be a number of milliseconds > 0 (Infinity turns the detector off), got ${show(slowMs)}`);
  }
  return { slowMs: slowMs === Infinity ? undefined : slowMs, dumpOnSignal: true };
}

/** @internal Starts the debug duties of a run whose root task is `root`. */
export function startDebugMode(runtime: Runtime, root: TaskImpl<unknown>, settings: DebugSettings): DebugSession {
  runtime.trackWaits = true;
  const write = (text: string): void => {
    try {
      process.stderr.write(text);
    } catch {
      // stderr closed: nothing to report to.
    }
  };
  let dump: (() => void) | undefined;
  if (settings.dumpOnSignal && process.platform !== "win32") {
    dump = () => write(formatTaskTree(snapshotRun(root)));
    process.on(DUMP_SIGNAL, dump);
  }
  let monitor: LoopMonitor | undefined;
  if (settings.slowMs !== undefined) {
    try {
      monitor = startLoopMonitor(settings.slowMs, write);
    } catch (err) {
      write(`trellis: the blocked-loop detector could not start (${String(err)}); the run goes on without it.\n`);
    }
  }
  return {
    ready: monitor?.ready ?? Promise.resolve(),
    async stop() {
      if (dump !== undefined) process.removeListener(DUMP_SIGNAL, dump);
      dump = undefined;
      const m = monitor;
      monitor = undefined;
      await m?.stop();
    },
  };
}
