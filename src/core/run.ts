/**
 * `run()`: the root of a task tree and the owner of the process-level duties (OS signals, the
 * clock, instruments, reporting what would otherwise be lost).
 *
 * @module
 */
import { systemClock, type Clock } from "./clock.js";
import { suppressedErrors } from "./errors.js";
import { Runtime, type Instrument } from "./runtime.js";
import { signalTakenOver } from "./signal-takeover.js";
import { TaskImpl } from "./task.js";
import { requireBoolean, requireFunction, requireOptions, show } from "./validate.js";

/** Debugging aids of {@link run}. */
export interface DebugOptions {
  /** Capture where each task was spawned and append it to errors that escape the task. Costs a stack trace per spawn. */
  readonly spawnStacks?: boolean;
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

/**
 * Runs `main()` as the root task and resolves with its result, once every task it started has
 * finished. While it runs, Ctrl-C (SIGINT) and SIGTERM cancel the whole task tree gracefully
 * (`finally` blocks and shields are honoured); once it has unwound, the process ends as that
 * signal would have ended it (status 130 or 143) without `run()` rejecting first, and a second
 * signal during the unwinding ends it at once. Errors that escape carry in their stack the chain
 * of tasks they came from; errors suppressed behind them are printed on stderr. Nothing of the
 * run (timer, listener) is left when it returns.
 *
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
  const clock = options?.clock ?? systemClock;
  if (typeof clock?.now !== "function" || typeof clock.deadlineToSleepTime !== "function") {
    throw new TypeError(`run(): \`options.clock\` must implement now() and deadlineToSleepTime(), got ${show(clock)}`);
  }
  const handleSignals = requireBoolean("run()", "options.handleSignals", options?.handleSignals ?? true);
  const instruments = options?.instruments;
  if (instruments !== undefined && !Array.isArray(instruments)) {
    throw new TypeError(`run(): \`options.instruments\` must be an array, got ${show(instruments)}`);
  }
  const debug = options?.debug ?? false;

  const runtime = new Runtime(clock);
  runtime.instruments = instruments !== undefined && instruments.length > 0 ? instruments : undefined;
  runtime.debug = debug === true || (typeof debug === "object" && debug.spawnStacks !== false);

  let finished!: (task: TaskImpl<unknown>) => void;
  const ended = new Promise<TaskImpl<unknown>>((resolve) => (finished = resolve));
  const root = new TaskImpl<T>(main.name || "main", undefined, finished);
  root.scope.setRuntime(runtime);
  clock.attach?.(runtime);
  const signals = handleSignals ? listenForSignals(root) : undefined;
  try {
    root.start(main, undefined);
    await ended;
  } finally {
    signals?.remove();
    clock.detach?.(runtime);
    runtime.close();
  }
  if (signals?.received !== undefined) return reraise(signals.received);
  if (root.state === "done") return root.value as T;
  reportSuppressed(root.error);
  throw root.error;
}

interface SignalListener {
  readonly received: NodeJS.Signals | undefined;
  remove(): void;
}

/** SIGINT/SIGTERM cancel the root scope; a second signal while unwinding ends the process now. */
function listenForSignals(root: TaskImpl<unknown>): SignalListener {
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

function reportSuppressed(err: unknown): void {
  const more = suppressedErrors(err);
  if (more.length === 0) return;
  process.stderr.write(`trellis: ${more.length} more error(s) were raised in the same task group after the one run() throws:\n`);
  for (const e of more) process.stderr.write(`${e instanceof Error ? (e.stack ?? String(e)) : String(e)}\n`);
}
