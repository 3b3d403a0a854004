/**
 * `MockClock`: virtual time for tests (Trio's `trio.testing.MockClock`). Time stands still, or
 * runs at a chosen rate, and moves on when the test jumps it or, with autojump, as soon as
 * every task of the run is blocked: a test of `sleep(3_600_000)` takes milliseconds.
 *
 * @module
 */
import { show, type Clock, type ClockHost } from "../core/index.js";

/** The largest delay Node's timers accept (about 24.8 days); longer ones fire after 1 ms. */
const MAX_TIMER_MS = 0x7fffffff;

/** Options of {@link MockClock}. */
export interface MockClockOptions {
  /** Virtual milliseconds per real millisecond; 0 (default) stands still until `jump()`. */
  readonly rate?: number;
  /**
   * Real milliseconds every task must have been blocked before the clock jumps to the next
   * deadline by itself; `Infinity` (default) never jumps; 0 jumps as soon as all are blocked.
   */
  readonly autojumpThreshold?: number;
}

/**
 * A clock for tests, passed as `run(main, { clock })`. Its time starts at 0 and moves only as
 * you say: with `rate = 0` (the default) it stands still until {@link MockClock.jump}; with
 * `rate = r` it runs `r` times as fast as real time; with an `autojumpThreshold` it jumps to the
 * run's next deadline (a sleep, a timeout, a supervisor's backoff) whenever every task has been
 * blocked in a trellis wait for that many real milliseconds. `failAfter`, `moveOnAfter`,
 * `currentTime()` and every deadline of the run follow it.
 *
 * Autojump never fires while a `waitAllTasksBlocked()` is pending: the waiter goes first, as in
 * Trio. A task that awaits a foreign promise (not through `wait()`) is not blocked in trellis's
 * eyes, so autojump waits for it; time spent in real I/O is another matter: pick a threshold
 * longer than the I/O of your test, or keep real I/O out of autojumping tests.
 *
 * @example
 * ```ts
 * import { run, sleep, currentTime } from "trellis";
 * import { MockClock } from "trellis/testing";
 * const clock = new MockClock({ autojumpThreshold: 0 });
 * await run(async () => {
 *   await sleep(3_600_000); // an hour of virtual time, a few real milliseconds
 *   console.log(currentTime()); // 3600000
 * }, { clock });
 * ```
 */
export class MockClock implements Clock {
  /** The virtual time at the real instant `realBase`; time since then runs at `_rate`. */
  private virtualBase = 0;
  private realBase = performance.now();
  private _rate = 0;
  private _autojumpThreshold = Infinity;
  /** The runs using this clock, each with the withdrawal of its autojump watcher (if armed). */
  private readonly hosts = new Map<ClockHost, (() => void) | undefined>();

  /**
   * @throws {RangeError} If `rate` or `autojumpThreshold` is negative, NaN or otherwise out of range.
   * @throws {TypeError} If `options` is not an object.
   */
  constructor(options?: MockClockOptions) {
    if (options != null && typeof options !== "object") {
      throw new TypeError(`new MockClock(): \`options\` must be an object, got ${show(options)}`);
    }
    if (options?.rate != null) this._rate = requireRate("new MockClock()", "rate", options.rate);
    if (options?.autojumpThreshold != null) {
      this._autojumpThreshold = requireThreshold("new MockClock()", "autojumpThreshold", options.autojumpThreshold);
    }
  }

  /**
   * Virtual milliseconds per real millisecond. Settable at any time, also while a run uses the
   * clock: the current time is kept and only the pace changes.
   *
   * @throws {RangeError} On assignment of a negative, NaN or infinite rate.
   */
  get rate(): number {
    return this._rate;
  }

  set rate(value: number) {
    const rate = requireRate("MockClock.rate", "rate", value);
    this.rebase(this.now());
    this._rate = rate;
    // The real timer of each run was armed for the old pace.
    for (const host of this.hosts.keys()) host.timeChanged();
  }

  /**
   * Real milliseconds every task must have been blocked before the clock jumps to the next
   * deadline; `Infinity` turns autojump off. Settable at any time; takes effect at once.
   *
   * @throws {RangeError} On assignment of a negative or NaN value, or a finite value above 2³¹−1.
   */
  get autojumpThreshold(): number {
    return this._autojumpThreshold;
  }

  set autojumpThreshold(value: number) {
    this._autojumpThreshold = requireThreshold("MockClock.autojumpThreshold", "autojumpThreshold", value);
    for (const host of this.hosts.keys()) this.armAutojump(host);
  }

  /**
   * The virtual time in milliseconds: 0 when the clock was made, plus every jump, plus `rate`
   * times the real time elapsed. Never goes backwards.
   */
  now(): number {
    if (this._rate === 0) return this.virtualBase;
    return this.virtualBase + this._rate * (performance.now() - this.realBase);
  }

  /**
   * Real milliseconds until virtual time reaches `deadline`: 0 if it has, `Infinity` while the
   * clock stands still (only a jump gets there), otherwise the virtual distance divided by `rate`.
   */
  deadlineToSleepTime(deadline: number): number {
    const now = this.now();
    if (deadline <= now) return 0;
    if (this._rate === 0) return Infinity;
    return (deadline - now) / this._rate;
  }

  /**
   * Moves virtual time forward by `ms` at once, and fires everything of the run that expires
   * on the way (sleeps wake in deadline order, deadlines cancel their scopes). Synchronous:
   * the woken tasks run after the caller's next checkpoint.
   *
   * @param ms - Milliseconds ≥ 0, finite.
   * @throws {RangeError} If `ms` is negative, NaN or infinite: time cannot go backwards nor end.
   * @example
   * ```ts
   * import { run, sleep, withTaskGroup } from "trellis";
   * import { MockClock, waitAllTasksBlocked } from "trellis/testing";
   * const clock = new MockClock();
   * await run(() => withTaskGroup(async (tg) => {
   *   tg.spawn(() => sleep(5_000));
   *   await waitAllTasksBlocked(); // the sleeper is parked
   *   clock.jump(5_000);           // and now it wakes
   * }), { clock });
   * ```
   */
  jump(ms: number): void {
    if (typeof ms !== "number" || Number.isNaN(ms)) {
      throw new RangeError(`MockClock.jump(): \`ms\` must be a number of milliseconds ≥ 0, got ${show(ms)}`);
    }
    if (ms < 0) {
      throw new RangeError(`MockClock.jump(): \`ms\` must be ≥ 0, got ${show(ms)}; virtual time cannot go backwards`);
    }
    if (ms === Infinity) {
      throw new RangeError("MockClock.jump(): `ms` must be finite, got Infinity (number); jump to a time you can name");
    }
    this.advanceTo(this.now() + ms);
  }

  /** Called by `run()` when it starts using the clock (see `Clock.attach`). */
  attach(host: ClockHost): void {
    if (this.hosts.has(host)) return;
    this.hosts.set(host, undefined);
    this.armAutojump(host);
  }

  /** Called by `run()` when it has finished with the clock: nothing of the run is kept (see `Clock.detach`). */
  detach(host: ClockHost): void {
    if (!this.hosts.has(host)) return;
    this.hosts.get(host)?.();
    this.hosts.delete(host);
  }

  /** Shown by `console.log` and `util.inspect`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const autojump = this._autojumpThreshold === Infinity ? "off" : `${this._autojumpThreshold} ms`;
    return `MockClock <time=${this.now()}, rate=${this._rate}, autojump=${autojump}, runs=${this.hosts.size}>`;
  }

  private rebase(virtual: number): void {
    this.realBase = performance.now();
    this.virtualBase = virtual;
  }

  /** Sets virtual time to exactly `target` (a jump that lands on a deadline must not fall short by a rounding error). */
  private advanceTo(target: number): void {
    this.rebase(Math.max(target, this.now()));
    for (const host of this.hosts.keys()) host.timeChanged();
  }

  /** (Re-)registers the autojump watcher of `host` with the current threshold. */
  private armAutojump(host: ClockHost): void {
    this.hosts.get(host)?.();
    this.hosts.set(host, undefined);
    if (this._autojumpThreshold === Infinity) return;
    // Low priority: a pending waitAllTasksBlocked() always goes first (the callback never runs
    // synchronously inside whenAllBlocked).
    this.hosts.set(host, host.whenAllBlocked(this._autojumpThreshold, () => this.autojump(host), true));
  }

  /** Every task has been blocked for the threshold: jump to the next deadline, then watch again. */
  private autojump(host: ClockHost): void {
    if (!this.hosts.has(host)) return;
    this.hosts.set(host, undefined); // a watcher fires once and is gone
    const next = host.nextDeadline();
    if (next !== Infinity && next > this.now()) this.advanceTo(next);
    if (this.hosts.has(host)) this.armAutojump(host);
  }
}

function requireRate(where: string, name: string, value: unknown): number {
  if (typeof value !== "number" || Number.isNaN(value) || value < 0 || value === Infinity) {
    throw new RangeError(`${where}: \`${name}\` must be a finite number ≥ 0 (virtual ms per real ms), got ${show(value)}`);
  }
  return value;
}

function requireThreshold(where: string, name: string, value: unknown): number {
  if (typeof value !== "number" || Number.isNaN(value) || value < 0 || (value > MAX_TIMER_MS && value !== Infinity)) {
    throw new RangeError(
      `${where}: \`${name}\` must be a number of real milliseconds ≥ 0 and ≤ ${MAX_TIMER_MS}, or Infinity to turn autojump off, got ${show(value)}`,
    );
  }
  return value;
}
