/**
 * `run()`: the root of a task tree and the owner of the process-level duties (OS signals, the
 * clock, instruments, reporting what would otherwise be lost).
 *
 * @module
 */
import { systemClock, type Clock } from "./clock.js";
import { isCancelled, RuntimeError, suppressedErrors, TaskGroupError } from "./errors.js";
import { Runtime, type Instrument } from "./runtime.js";
import { debugSettingsOf, startDebugMode } from "./debug-mode.js";
import { closeResources } from "./resources.js";
import { signalTakenOver } from "./signal-takeover.js";
import { currentTaskImpl, TaskImpl } from "./task.js";
import { requireBoolean, requireFunction, requireOptions, show } from "./validate.js";

/** Debugging aids of {@link run}. */
export interface DebugOptions {
  /** Capture where each task was spawned and append it to errors that escape the task. Costs a stack trace per spawn. */
  readonly spawnStacks?: boolean;
  /**
   * The blocked-loop detector: a stretch of synchronous work longer than this many ms is
   * reported on stderr with the task that ran it and where (see `trellis/debug`). Default 100;
   * `Infinity` turns the detector off.
   */
  readonly slowMs?: number;
}

/** Options of {@link run}. */
export interface RunOptions {
  /** The clock the run measures time with (a `MockClock` in tests). Default: real time. */
  readonly clock?: Clock;
  /** Hooks called as tasks are spawned, exit, block and resume. */
  readonly instruments?: readonly Instrument[];
  /** Turn SIGINT/SIGTERM into a graceful cancellation of the whole run. Default true. */
  readonly handleSignals?: boolean;
  /** `true` or options: record spawn stacks so errors show where each task came from. */
  readonly debug?: boolean | DebugOptions;
}

const EXIT_STATUS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

/** The hooks an instrument may have. */
const HOOKS = ["taskSpawned", "taskStarted", "taskBlocked", "taskResumed", "taskExited", "runFinished"] as const;

/**
 * Runs `main()` as the root task and resolves with its result, once every task it started has
 * finished. While it runs, Ctrl-C (SIGINT) and SIGTERM cancel the whole task tree gracefully
 * (`finally` blocks and shields are honoured); once it has unwound, the process ends as that
 * signal would have ended it (status 130 or 143) without `run()` rejecting first, and a second
 * signal during the unwinding ends it at once. Errors that escape carry in their stack the chain
 * of tasks they came from; errors suppressed behind them are printed on stderr. Nothing of the
 * run (timer, listener) is left when it returns, and it returns only once every task of the run
 * has finished (a task group nobody awaited included), so no task is ever frozen halfway.
 *
 * @throws {RuntimeError} If called inside a task of a run that is still running: runs do not nest.
 * @throws {TypeError} If an option has the wrong type (`debug` not a boolean or an object, an
 * `instruments` entry not an object); `null` means "not given", as everywhere.
 * @example
 * ```ts
 * import { run, withTaskGroup, sleep } from "trellis";
 * await run(async () => {
 *   await withTaskGroup(async (tg) => {
 *     tg.spawn(async () => { await sleep(1_000); console.log("tick"); });
 *   });
 * });
 * ```
 */
export async function run<T>(main: () => T | PromiseLike<T>, options?: RunOptions): Promise<T> {
  requireFunction("run()", "main", main);
  requireOptions("run()", options);
  const outer = currentTaskImpl();
  if (outer !== undefined && outer.state === "running") {
    throw new RuntimeError(
      `run(): called inside task "${outer.name}" (#${outer.id}), which is still running; runs do not nest (the outer run's cancellation, deadlines and Ctrl-C would not reach the inner one). Inside a run, call the function directly, or spawn it into a task group (\`tg.spawn(() => work())\`); a callback registered inside a task (a server's request handler) runs as that task, so spawn a task per event into a group from it`,
    );
  }
  const clock = options?.clock ?? systemClock;
  if (typeof clock?.now !== "function" || typeof clock.deadlineToSleepTime !== "function") {
    throw new TypeError(`run(): \`options.clock\` must implement now() and deadlineToSleepTime(), got ${show(clock)}`);
  }
  const handleSignals = requireBoolean("run()", "options.handleSignals", options?.handleSignals ?? true);
  const instruments = options?.instruments ?? undefined;
  if (instruments !== undefined) {
    if (!Array.isArray(instruments)) {
      throw new TypeError(`run(): \`options.instruments\` must be an array, got ${show(instruments)}`);
    }
    instruments.forEach((instrument: unknown, i) => {
      if (typeof instrument !== "object" || instrument === null) {
        throw new TypeError(`run(): \`options.instruments[${i}]\` must be an object with hook methods (${HOOKS.join(", ")}), got ${show(instrument)}`);
      }
      for (const hook of HOOKS) {
        const fn = (instrument as Record<string, unknown>)[hook];
        if (fn != null && typeof fn !== "function") {
          throw new TypeError(`run(): \`options.instruments[${i}].${hook}\` must be a function, got ${show(fn)}`);
        }
      }
    });
  }
  const debug = options?.debug ?? false;
  const debugSettings = debugSettingsOf(debug);

  const runtime = new Runtime(clock);
  runtime.instruments = instruments !== undefined && instruments.length > 0 ? instruments : undefined;
  runtime.debug = debug === true || (typeof debug === "object" && (debug as DebugOptions).spawnStacks !== false);

  let finished!: (task: TaskImpl<unknown>) => void;
  const ended = new Promise<TaskImpl<unknown>>((resolve) => (finished = resolve));
  const root = new TaskImpl<T>(main.name || "main", undefined, { runtime, spawner: undefined, taskEnded: finished });
  const debugSession = debugSettings !== undefined ? startDebugMode(runtime, root, debugSettings) : undefined;
  clock.attach?.(runtime);
  const signals = handleSignals ? listenForSignals(root, runtime) : undefined;
  try {
    if (debugSession !== undefined) await debugSession.ready; // the detector watches main from its first line
    root.start(main, undefined);
    await ended;
    // Tasks that outlived the root (of a combinator promise nobody awaited) are not frozen:
    // the run ends when the last one has, and only then are timers and resources closed.
    if (runtime.liveTasks > 0) await new Promise<void>((resolve) => (runtime.onAllExited = resolve));
  } finally {
    runtime.onAllExited = undefined;
    // What user code left open is closed now, and run() returns once it is gone (a terminated
    // worker thread, a reaped child), bounded: nothing of the run outlives it.
    if (runtime.resources.size > 0) await closeResources(runtime.resources, 2_000);
    signals?.remove();
    clock.detach?.(runtime);
    runtime.close();
    await debugSession?.stop();
  }
  if (signals?.received !== undefined) {
    // The process ends as the signal would end it; an error raised meanwhile is still shown.
    if (root.state === "failed") reportError(root.error);
    return reraise(signals.received);
  }
  if (root.state === "done") return root.value as T;
  reportSuppressed(root.error);
  throw root.error;
}

interface SignalListener {
  readonly received: NodeJS.Signals | undefined;
  remove(): void;
}

/** SIGINT/SIGTERM cancel the root scope; a second signal while unwinding ends the process now. */
function listenForSignals(root: TaskImpl<unknown>, runtime: Runtime): SignalListener {
  let received: NodeJS.Signals | undefined;
  const remove = () => {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalTakenOver(signal)) return; // a trellis/signals receiver handles it now
    if (received === undefined) {
      received = signal;
      root.scope.cancelWith(signal, "signal");
      return;
    }
    remove();
    reportUnfinished(runtime, signal);
    // "Exit now" still leaves nothing behind: child processes, sockets and workers of the run
    // are closed forcefully (a child that ignores SIGTERM is killed, not orphaned).
    for (const resource of [...runtime.resources]) resource.close();
    void reraise(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    get received() {
      return received;
    },
    remove,
  };
}

/**
 * Ends the process as `signal` would have: with our listeners gone, the default action applies.
 * If someone else still listens to it, fall back to the conventional exit status. The returned
 * promise never settles: `run()` does not reject while the process is going down.
 */
function reraise(signal: NodeJS.Signals): Promise<never> {
  process.kill(process.pid, signal);
  setImmediate(() => process.exit(EXIT_STATUS[signal] ?? 1));
  return new Promise<never>(() => {});
}

/**
 * Prints the errors suppressed behind `err` (and behind those, and behind the errors a
 * `TaskGroupError` holds), which run()'s caller would not see.
 */
function reportSuppressed(err: unknown): void {
  if (err instanceof TaskGroupError) for (const e of err.errors) reportSuppressed(e);
  const more = suppressedErrors(err);
  if (more.length === 0) return;
  process.stderr.write(`trellis: ${more.length} more error(s) were raised in the same task group after the one run() throws:\n`);
  for (const e of more) {
    process.stderr.write(`${describe(e)}\n`);
    reportSuppressed(e);
  }
}

/** An error (any value) as Node prints an uncaught one, followed by those suppressed behind it. */
function reportError(err: unknown): void {
  process.stderr.write(`${describe(err)}\n`);
  reportSuppressed(err);
}

/** A second signal ends the process while tasks still unwind: their errors must not vanish with it. */
function reportUnfinished(runtime: Runtime, signal: NodeJS.Signals): void {
  const errors: unknown[] = [];
  for (const group of runtime.failingGroups) for (const e of group.errors) if (!isCancelled(e)) errors.push(e);
  process.stderr.write(
    `trellis: second ${signal} while ${runtime.liveTasks} task(s) were still unwinding; exiting now.${errors.length === 0 ? "" : ` Errors raised before, not yet reported:`}\n`,
  );
  for (const e of errors) reportError(e);
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.stack ?? String(err);
  try {
    return typeof err === "string" ? JSON.stringify(err) : String(err);
  } catch {
    return Object.prototype.toString.call(err);
  }
}
