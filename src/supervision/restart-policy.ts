/**
 * Restart policies of supervised tasks, after Erlang/OTP: which exits restart a child
 * (`restart`), how many restarts are allowed within a sliding window of time (the restart
 * intensity, `maxRestarts` within `restartWindowMs`), and how long to wait before each restart
 * (`backoffMs`, doubling up to `maxBackoffMs`).
 *
 * @module
 */
import { requireCount, requireOptionalString, show, type SpawnOptions } from "../core/index.js";

/**
 * When a supervised child is restarted:
 * - `"never"` (default): never; a failure is reported and the child stays failed.
 * - `"on-failure"`: after it throws (Erlang's *transient* child); a normal return ends it.
 * - `"always"`: after it throws and after it returns (Erlang's *permanent* child); only a
 *   cancellation ends it. As in Erlang, a restart after a normal return counts toward
 *   `maxRestarts` like any other restart.
 *
 * @example
 * ```ts
 * import { withSupervisor, type RestartMode } from "trellis";
 * const restart: RestartMode = process.env.NODE_ENV === "production" ? "always" : "never";
 * await withSupervisor((sup) => { sup.spawn(() => worker(), { restart }); });
 * ```
 */
export type RestartMode = "never" | "on-failure" | "always";

/**
 * Options of `sup.spawn`: those of `tg.spawn` plus the restart policy.
 *
 * @example
 * ```ts
 * import { withSupervisor } from "trellis";
 * await withSupervisor(async (sup) => {
 *   sup.spawn(() => pollFeed(), { name: "feed", restart: "on-failure", maxRestarts: 3, backoffMs: 500 });
 * });
 * ```
 */
export interface SupervisedSpawnOptions extends SpawnOptions {
  /** Which exits restart the child. Default `"never"`. */
  readonly restart?: RestartMode;
  /**
   * How many restarts are allowed within `restartWindowMs`: an integer ≥ 0 or `Infinity`.
   * Default 5. A child with `maxRestarts: n` may run n + 1 times in a window; one more exit that
   * would restart it fails the supervisor as a task group fails.
   */
  readonly maxRestarts?: number;
  /**
   * The sliding window in ms in which restarts are counted: an integer ≥ 0 or `Infinity` (a
   * lifetime budget). Default 60 000. A restart older than this no longer counts.
   */
  readonly restartWindowMs?: number;
  /**
   * Ms to wait before the first restart: an integer ≥ 0. Default 0. Each further restart inside
   * the window waits twice as long as the one before, up to `maxBackoffMs`.
   */
  readonly backoffMs?: number;
  /** The longest wait before a restart: an integer ≥ `backoffMs`, or `Infinity` (default). */
  readonly maxBackoffMs?: number;
}

/** @internal A validated policy. */
export interface RestartPolicy {
  readonly restart: RestartMode;
  readonly maxRestarts: number;
  readonly restartWindowMs: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

/** @internal Validates the restart options of `sup.spawn` (the caller checked `options` is an object). */
export function restartPolicy(where: string, options: SupervisedSpawnOptions | undefined): RestartPolicy {
  requireOptionalString(where, "options.name", options?.name);
  const restart = options?.restart ?? "never";
  if (restart !== "never" && restart !== "on-failure" && restart !== "always") {
    throw new TypeError(`${where}: \`options.restart\` must be "never", "on-failure" or "always", got ${show(restart)}`);
  }
  const maxRestarts = count(where, "options.maxRestarts", options?.maxRestarts, 5, true);
  const restartWindowMs = count(where, "options.restartWindowMs", options?.restartWindowMs, 60_000, true);
  const backoffMs = count(where, "options.backoffMs", options?.backoffMs, 0, false);
  const maxBackoffMs = count(where, "options.maxBackoffMs", options?.maxBackoffMs, Infinity, true);
  if (maxBackoffMs < backoffMs) {
    throw new RangeError(
      `${where}: \`options.maxBackoffMs\` must be ≥ \`options.backoffMs\` (${backoffMs}), got ${show(maxBackoffMs)}; the first restart waits backoffMs`,
    );
  }
  return { restart, maxRestarts, restartWindowMs, backoffMs, maxBackoffMs };
}

function count(where: string, name: string, value: unknown, fallback: number, infinityAllowed: boolean): number {
  return value == null ? fallback : requireCount(where, name, value, 0, infinityAllowed);
}

/** With no limit on restarts, keep this many timestamps: enough for the backoff exponent. */
const MAX_KEPT = 64;

/**
 * @internal The restart intensity of one child (Erlang's MaxR within MaxT): the times of its
 * restarts that are still inside the window. A restart at time `t` counts while
 * `now - t ≤ restartWindowMs` (inclusive, as in OTP's supervisor).
 */
export class RestartBudget {
  private readonly times: number[] = [];
  /** Restarts granted since the child was spawned. */
  total = 0;

  constructor(private readonly policy: RestartPolicy) {}

  /**
   * Asks for a restart at time `now`. Returns how long to wait before it (ms), or `undefined`
   * when `maxRestarts` restarts already happened inside the window: the budget is spent.
   */
  next(now: number): number | undefined {
    const { maxRestarts, restartWindowMs, backoffMs, maxBackoffMs } = this.policy;
    const times = this.times;
    while (times.length > 0 && now - times[0]! > restartWindowMs) times.shift();
    if (times.length >= maxRestarts) return undefined;
    const delay = backoffMs === 0 ? 0 : Math.min(backoffMs * 2 ** times.length, maxBackoffMs);
    times.push(now);
    if (maxRestarts === Infinity && times.length > MAX_KEPT) times.shift();
    this.total++;
    return delay;
  }

  /** Restarts that currently count against the budget. */
  get recent(): number {
    return this.times.length;
  }
}
