/**
 * `all`: the sound `gather` / `Promise.all`. Every function runs as a child task of a private
 * task group, so the first failure cancels the others and waits for them (their `finally`
 * blocks have run) before it is thrown. Nothing is left running behind the caller's back.
 *
 * @module
 */
import {
  checkpoint,
  checkpointIfCancelled,
  runGroup,
  show,
  TaskGroupImpl,
  type TaskImpl,
} from "../core/index.js";

/**
 * The results of {@link all}: a tuple with each function's awaited return type in place
 * (`[number, string]` for `[() => Promise<number>, () => string]`), or an array for arrays.
 *
 * @example
 * ```ts
 * import { all, type AllResults } from "trellis";
 * const jobs = [() => Promise.resolve(1), () => "two"] as const;
 * const results: AllResults<typeof jobs> = await all(jobs); // [number, string]
 * ```
 */
export type AllResults<T extends readonly (() => unknown)[]> = {
  -readonly [K in keyof T]: T[K] extends () => infer R ? Awaited<R> : never;
};

/**
 * Runs every function of `fns` at once, each as a child task, and resolves with their results
 * in input order. On the first failure the others are cancelled and awaited, then that failure
 * is thrown as the same object (later failures are kept in `suppressedErrors(err)`).
 *
 * A checkpoint: raises `Cancelled` at once if the caller is cancelled, and raises it after
 * cancelling and awaiting every child if the caller is cancelled while they run. A result that
 * was complete before a cancellation arrived is returned.
 *
 * Unlike `Promise.all`, `all` takes *functions*, not promises: a promise is work that has already
 * started, which nobody could cancel any more.
 *
 * @param fns - An array of functions taking no argument; each may return a value or a promise.
 *   `all([])` returns `[]` (after a checkpoint).
 * @returns The results in the order of `fns`; with a literal array the types form a tuple.
 * @throws {TypeError} If `fns` is not an array (or iterable) of functions; the message names the index.
 * @throws The first error thrown by one of the functions, after the others have finished.
 * @throws {Cancelled} If the caller is cancelled.
 * @example
 * ```ts
 * import { all } from "trellis";
 * const [user, orders] = await all([() => fetchUser(id), () => fetchOrders(id)]);
 * // user: User, orders: Order[]; if fetchOrders fails, fetchUser is cancelled first
 * ```
 */
export async function all<const T extends readonly (() => unknown)[]>(fns: T): Promise<AllResults<T>> {
  const list = requireFunctionList("all()", fns);
  checkpointIfCancelled();
  if (list.length === 0) {
    await checkpoint();
    return [] as unknown as AllResults<T>;
  }
  const group = new TaskGroupImpl("all()", "first");
  const tasks: TaskImpl<unknown>[] = new Array(list.length);
  await group.cancelScope.run(() =>
    runGroup(group, (g) => {
      for (let i = 0; i < list.length; i++) {
        const fn = list[i]!;
        tasks[i] = g.spawn(fn, { name: fn.name || `all() fns[${i}]` }) as TaskImpl<unknown>;
      }
    }),
  );
  const results: unknown[] = new Array(list.length);
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i]!;
    if (task.state !== "done") throw cancelledOutcome(task);
    results[i] = task.value;
  }
  return results as AllResults<T>;
}

/**
 * @internal The outcome of a group whose children ended without an error but not all done:
 * only a cancellation from outside does that, so the caller's own checkpoint raises it.
 */
export function cancelledOutcome(task: TaskImpl<unknown>): unknown {
  checkpointIfCancelled();
  return task.error;
}

/** @internal Checks `fns` is an array (or iterable) of functions; returns it as an array. */
export function requireFunctionList(where: string, fns: unknown): readonly (() => unknown)[] {
  let list: unknown[];
  if (Array.isArray(fns)) list = fns;
  else if (fns !== null && typeof fns === "object" && typeof (fns as Iterable<unknown>)[Symbol.iterator] === "function") {
    list = Array.from(fns as Iterable<unknown>);
  } else {
    throw new TypeError(`${where}: \`fns\` must be an array of functions, got ${show(fns)}`);
  }
  for (let i = 0; i < list.length; i++) {
    if (typeof list[i] !== "function") {
      throw new TypeError(
        `${where}: \`fns[${i}]\` must be a function, got ${show(list[i])}; pass \`() => work()\`, not \`work()\`, so that the work starts inside the task that can cancel it`,
      );
    }
  }
  return list as (() => unknown)[];
}
