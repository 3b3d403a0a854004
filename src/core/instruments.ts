/**
 * Instruments: hooks a run calls as its tasks come and go (Trio's `trio.abc.Instrument`).
 * They are user code called from inside the scheduler's bookkeeping, so a hook that throws
 * must not break the run: as Trio does, the instrument is removed, the error is reported once
 * on stderr, and the run goes on.
 *
 * @module
 */
import type { TaskInfo } from "./task-info.js";
import type { TaskState } from "./task.js";

/** How a task ended, as {@link Instrument.taskExited} hears it. */
export interface TaskOutcome {
  /** `"done"` (returned), `"failed"` (threw) or `"cancelled"`. */
  readonly state: Exclude<TaskState, "running">;
  /** What the task returned, when `"done"`. */
  readonly value?: unknown;
  /** What the task threw (or the `Cancelled` that ended it), otherwise. */
  readonly error?: unknown;
}

/**
 * Hooks a run calls as its tasks come and go and block and resume; pass them as
 * `run(main, { instruments: [...] })`. Every hook is optional and called synchronously from
 * trellis's bookkeeping: keep them quick, and do not wait in them. A hook that throws is
 * removed from the run (all of that instrument's hooks) and reported once on stderr.
 *
 * @example
 * ```ts
 * import { run, type Instrument } from "trellis";
 * const log: Instrument = {
 *   taskSpawned: (t) => console.log(`+ ${t.name} #${t.id}`),
 *   taskExited: (t, outcome) => console.log(`- ${t.name} #${t.id} ${outcome.state}`),
 * };
 * await run(main, { instruments: [log] });
 * ```
 */
export interface Instrument {
  /** A task was spawned (its body has not started yet). */
  taskSpawned?(task: TaskInfo): void;
  /** A task's body is about to run for the first time. */
  taskStarted?(task: TaskInfo): void;
  /** The task parked; `what` names what it waits on (`sleep until 1234.5`, `Lock.acquire (held by task "db" #7)`). */
  taskBlocked?(task: TaskInfo, what: string): void;
  /** A parked task was woken (it runs at its next turn). */
  taskResumed?(task: TaskInfo): void;
  /** The task ended, and how. */
  taskExited?(task: TaskInfo, outcome: TaskOutcome): void;
  /** The run's last task has finished; called once, as `run()` closes. */
  runFinished?(): void;
}

/** @internal The hooks, by name. */
export type InstrumentHook = keyof Instrument;

/** @internal Where a run keeps its instruments (the Runtime). */
export interface InstrumentHost {
  instruments: readonly Instrument[] | undefined;
}

/**
 * Calls `hook` on every instrument of `host` that has it; one that throws is removed and
 * reported. The list is replaced, never changed in place, so a removal during the loop is safe.
 *
 * @internal
 */
export function callInstruments(host: InstrumentHost, hook: InstrumentHook, a?: unknown, b?: unknown): void {
  const list = host.instruments;
  if (list === undefined) return;
  for (const instrument of list) {
    if (instrument === null || (typeof instrument !== "object" && typeof instrument !== "function")) continue;
    const fn = (instrument as Record<string, unknown>)[hook];
    if (typeof fn !== "function") continue;
    try {
      (fn as (a?: unknown, b?: unknown) => void).call(instrument, a, b);
    } catch (err) {
      removeInstrument(host, instrument, hook, err);
    }
  }
}

function removeInstrument(host: InstrumentHost, instrument: Instrument, hook: InstrumentHook, err: unknown): void {
  const list = host.instruments;
  if (list === undefined || !list.includes(instrument)) return; // already removed: report once
  const rest = list.filter((i) => i !== instrument);
  host.instruments = rest.length > 0 ? rest : undefined;
  const name = instrumentName(instrument);
  const detail = err instanceof Error ? (err.stack ?? String(err)) : `a non-Error value: ${safeString(err)}`;
  try {
    process.stderr.write(
      `trellis: instrument ${name} threw in ${hook}(); it has been removed from the run, which goes on without it.\n` +
        `  Instrument hooks must not throw: catch errors inside the hook.\n${detail}\n`,
    );
  } catch {
    // stderr is gone: nothing more we can do, and the run must go on.
  }
}

function instrumentName(instrument: Instrument): string {
  const ctor = (instrument as { constructor?: { name?: unknown } }).constructor;
  const name = typeof ctor?.name === "string" && ctor.name !== "Object" ? ctor.name : undefined;
  return name === undefined ? "(an object)" : `"${name}"`;
}

function safeString(value: unknown): string {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
