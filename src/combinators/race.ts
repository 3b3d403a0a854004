/**
 * `race`: `Promise.race` without the losers left running. The first function to complete
 * decides; the others are cancelled and awaited before `race` returns or throws.
 *
 * @module
 */
import { checkpointIfCancelled, isCancelled, runGroup, TaskGroupImpl, type TaskImpl } from "../core/index.js";
import { cancelledOutcome, requireFunctionList } from "./all.js";

/**
 * The result of {@link race}: the union of the functions' awaited return types.
 *
 * @example
 * ```ts
 * import { race, type RaceResult } from "trellis";
 * const ways = [() => Promise.resolve(1), async () => "cached"] as const;
 * const first: RaceResult<typeof ways> = await race(ways); // number | string
 * ```
 */
export type RaceResult<T extends readonly (() => unknown)[]> = ResultOf<T[number]>;
type ResultOf<F> = F extends () => infer R ? Awaited<R> : never;

/**
 * Runs every function of `fns` at once, each as a child task; the first to *complete* wins.
 * If it returned, the others are cancelled, awaited (their `finally` blocks have run), and its
 * value is returned; if it threw, the others are cancelled and awaited, and its error is thrown.
 * When `race` returns, nothing of a loser is left running or keeps the process alive.
 *
 * A checkpoint: raises `Cancelled` at once if the caller is cancelled, and after cancelling and
 * awaiting every entry if the caller is cancelled before any completes.
 *
 * A loser that raises an error other than `Cancelled` while it is being cancelled (say, from its
 * `finally` block) is not silenced: `race` throws that error, as a task group would, since the
 * error means cleanup went wrong.
 *
 * @param fns - One or more functions taking no argument.
 * @returns The value of the first function to complete.
 * @throws {RangeError} If `fns` is empty: a race of nothing would never finish (`Promise.race([])`
 *   hangs forever); there is no sensible value to return.
 * @throws {TypeError} If `fns` is not an array (or iterable) of functions; the message names the index.
 * @throws The error of the first function to complete, if it threw.
 * @throws {Cancelled} If the caller is cancelled before any function completes.
 * @example
 * ```ts
 * import { race } from "trellis";
 * const body = await race([() => fetchFrom(primary), () => fetchFrom(mirror)]);
 * // the slower download has been cancelled and its socket closed by now
 * ```
 */
export async function race<const T extends readonly (() => unknown)[]>(fns: T): Promise<RaceResult<T>> {
  const list = requireFunctionList("race()", fns);
  if (list.length === 0) {
    throw new RangeError(
      "race(): `fns` must hold at least one function, got an empty array; a race of nothing never finishes, so return a default value yourself when there is nothing to race",
    );
  }
  checkpointIfCancelled();
  const group = new TaskGroupImpl("race()", "first");
  const tasks: TaskImpl<unknown>[] = new Array(list.length);
  let decided = false;
  let winner: { value: unknown } | undefined;
  await group.cancelScope.run(() =>
    runGroup(group, (g) => {
      for (let i = 0; i < list.length; i++) {
        const fn = list[i]!;
        const entry = async () => {
          let value: unknown;
          try {
            value = await fn();
          } catch (err) {
            // The first entry to *complete* decides, and throwing is completing. A Cancelled is
            // not: it only means the race was decided already, or the caller is cancelled.
            if (!isCancelled(err)) decided = true;
            throw err;
          }
          if (decided) return;
          decided = true;
          winner = { value };
          g.cancel(`race(): another entry (fns[${i}]) completed first`);
        };
        tasks[i] = g.spawn(entry, { name: fn.name || `race() fns[${i}]` }) as TaskImpl<unknown>;
      }
    }),
  );
  if (winner !== undefined) return winner.value as RaceResult<T>;
  // No winner and no error: every entry was cancelled from outside.
  throw cancelledOutcome(tasks.find((t) => t.state === "cancelled") ?? tasks[0]!);
}
