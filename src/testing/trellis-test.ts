/**
 * `trellisTest(fn, options)`: turns a test body into a function for `node:test` or vitest that
 * runs the body inside `run()` with the clock you choose, and fails the test if it leaves a
 * timer behind.
 *
 * @module
 */
import { AssertionError } from "node:assert";
import { requireBoolean, requireFunction, requireOptions, run, show, systemClock, type Clock } from "../core/index.js";
import { MockClock } from "./mock-clock.js";

/** What a {@link trellisTest} body receives. */
export interface TrellisTestContext<C extends Clock = Clock> {
  /** The clock of the run: the one given in the options, a fresh `MockClock` for `autojump`, else the real clock. */
  readonly clock: C;
  /** The first argument the test runner passed (node:test's `TestContext`, vitest's context), if any. */
  readonly testContext: unknown;
}

/** Options of {@link trellisTest}. */
export interface TrellisTestOptions<C extends Clock = Clock> {
  /** The clock of the run. Default: a fresh `MockClock` if `autojump` is given, else the real clock. */
  readonly clock?: C;
  /**
   * Autojump for the run's `MockClock`: `true` jumps as soon as every task is blocked
   * (threshold 0), a number is the threshold in real ms, `false` turns it off. Sets the
   * `autojumpThreshold` of the `clock` given, or of a fresh `MockClock` made for each run.
   */
  readonly autojump?: boolean | number;
  /**
   * After `run()` returns, fail if a `Timeout` or `Immediate` handle made during the test is
   * still active (default true). Turn it off for tests that run concurrently with others in
   * one process, whose timers it cannot tell apart.
   */
  readonly checkLeaks?: boolean;
}

/** The function handed to the test runner. */
export type TrellisTestFunction = (testContext?: unknown) => Promise<void>;

/**
 * Makes a test body run inside `run()`, for `test("…", trellisTest(async () => { … }))` with
 * `node:test` or vitest. The body gets `{ clock, testContext }`. The test fails with the body's
 * error, or, once `run()` has returned (so every task has ended), if a `Timeout` or
 * `Immediate` handle created during the test is still active after one turn of the event loop:
 * trellis cancels or clears all of its own, so what is left is a leak (a `setTimeout` or
 * `setInterval` of the test or of the code under test, or a trellis bug).
 *
 * Each call of the returned function is one run: a `MockClock` made for `autojump` is made
 * afresh each time. The run does not handle SIGINT/SIGTERM, so the test runner's own handling
 * applies.
 *
 * @param fn - The test body; called with `{ clock, testContext }` as the root task of the run.
 * @param options - `{ clock?, autojump?, checkLeaks? }`, see {@link TrellisTestOptions}.
 * @returns An async function taking the runner's test context.
 * @throws {TypeError} If `fn` is not a function, an option has the wrong type, or `autojump`
 *   is given with a `clock` that is not a `MockClock`.
 * @throws {RangeError} If `autojump` is a number that is not a valid threshold.
 * @example
 * ```ts
 * import { test } from "node:test";
 * import assert from "node:assert/strict";
 * import { currentTime, sleep } from "trellis";
 * import { trellisTest } from "trellis/testing";
 *
 * test("an hour passes in an instant", trellisTest(async () => {
 *   await sleep(3_600_000);
 *   assert.equal(currentTime(), 3_600_000);
 * }, { autojump: true }));
 * ```
 */
export function trellisTest(
  fn: (context: TrellisTestContext<MockClock>) => unknown,
  options: TrellisTestOptions<MockClock> & { readonly autojump: boolean | number },
): TrellisTestFunction;
export function trellisTest<C extends Clock = Clock>(
  fn: (context: TrellisTestContext<C>) => unknown,
  options?: TrellisTestOptions<C>,
): TrellisTestFunction;
export function trellisTest(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  fn: (context: TrellisTestContext<any>) => unknown,
  options?: TrellisTestOptions<Clock>,
): TrellisTestFunction {
  requireFunction("trellisTest()", "fn", fn);
  requireOptions("trellisTest()", options);
  const given = options?.clock ?? undefined;
  if (given !== undefined && (typeof given !== "object" || given === null || typeof given.now !== "function" || typeof given.deadlineToSleepTime !== "function")) {
    throw new TypeError(`trellisTest(): \`options.clock\` must implement now() and deadlineToSleepTime(), got ${show(given)}`);
  }
  const autojump = options?.autojump ?? undefined;
  if (autojump !== undefined && typeof autojump !== "boolean" && typeof autojump !== "number") {
    throw new TypeError(`trellisTest(): \`options.autojump\` must be a boolean or a threshold in real milliseconds, got ${show(autojump)}`);
  }
  if (autojump !== undefined && given !== undefined && !(given instanceof MockClock)) {
    throw new TypeError(
      `trellisTest(): \`options.autojump\` needs a MockClock, but \`options.clock\` is ${show(given)}; pass a MockClock, or leave \`clock\` out to get a fresh one`,
    );
  }
  const threshold = autojump === undefined ? undefined : autojump === true ? 0 : autojump === false ? Infinity : autojump;
  // Validate the threshold now, where the mistake is, rather than when the test runs.
  if (threshold !== undefined) new MockClock({ autojumpThreshold: threshold });
  const checkLeaks = requireBoolean("trellisTest()", "options.checkLeaks", options?.checkLeaks ?? true);

  return async function trellisTestBody(testContext?: unknown): Promise<void> {
    let clock: Clock = given ?? systemClock;
    if (threshold !== undefined) {
      if (given instanceof MockClock) given.autojumpThreshold = threshold;
      else clock = new MockClock({ autojumpThreshold: threshold });
    }
    const before = checkLeaks ? countHandles() : undefined;
    await run(() => fn({ clock, testContext }), { clock, handleSignals: false });
    if (before === undefined) return;
    // Let one-shot housekeeping (an end-of-slice setImmediate) run before counting.
    await turnOfEventLoop();
    await turnOfEventLoop();
    const after = countHandles();
    const leaks: string[] = [];
    for (const [kind, count] of after) {
      const extra = count - (before.get(kind) ?? 0);
      if (extra > 0) leaks.push(`${extra} ${kind}`);
    }
    if (leaks.length === 0) return;
    throw new AssertionError({
      message: `trellisTest(): ${leaks.join(" and ")} handle(s) made during the test are still active after run() returned; trellis clears all of its own timers when a run ends, so look for a setTimeout, setInterval or setImmediate in the test or the code under test that is never cleared (or report a trellis bug at the project's issue tracker)`,
      stackStartFn: trellisTestBody,
    });
  };
}

const WATCHED = new Set(["Timeout", "Immediate"]);

/** How many active (ref'ed) Timeout and Immediate handles the process has, by kind. */
function countHandles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (WATCHED.has(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

function turnOfEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
