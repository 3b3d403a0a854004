/**
 * `map`: p-map with cancellation. `concurrency` worker tasks pull the next item from one shared
 * iterator, so there is never a task, a promise or a read-ahead item per pending input: an
 * infinite async generator mapped with `concurrency: 4` has at most 4 items taken out of it.
 * Fails fast like {@link all}: the first error cancels the workers and waits for them.
 *
 * @module
 */
import {
  checkpointIfCancelled,
  currentScope,
  runGroup,
  show,
  TaskGroupImpl,
  WaitQueue,
  requireFunction,
  requireCount,
  requireOptions,
  type TaskGroup,
  type TaskImpl,
} from "../core/index.js";
import { cancelledOutcome } from "./all.js";

/**
 * Options of {@link map}.
 *
 * @example
 * ```ts
 * import { map, type MapOptions } from "trellis";
 * const options: MapOptions = { concurrency: 4 };
 * const sizes = await map(files, (file) => sizeOf(file), options);
 * ```
 */
export interface MapOptions {
  /**
   * How many calls of `fn` may run at once: a positive integer, or `Infinity` (the default) to
   * run one per item, reading the whole input at once.
   */
  readonly concurrency?: number;
}

/** A pull-based view of an iterable or async iterable. */
interface Source<T> {
  readonly isAsync: boolean;
  readonly iterator: Iterator<T> | AsyncIterator<T>;
}

/**
 * Calls `fn(item, index)` for each item of `items`, at most `concurrency` at once, and resolves
 * with the results in input order. Items are read only when a worker is free to run them, so
 * `map` never reads more of `items` than it can run (an infinite generator is fine, and the
 * generator's own `await`s run in the worker that pulls). On the first error the running calls
 * are cancelled and awaited, the input is closed (its `return()` runs, as after `break` in a
 * `for…of`), and the error is thrown as the same object.
 *
 * A checkpoint: raises `Cancelled` at once if the caller is cancelled, and after cancelling and
 * awaiting the running calls if it is cancelled meanwhile. It does not make `fn` cancellable: a
 * call that never reaches a checkpoint runs to its end. Reading an async iterator is not
 * interrupted either, except where the iterator itself reaches a trellis checkpoint.
 *
 * @param items - An iterable (array, Set, generator…) or an async iterable (async generator, stream).
 * @param fn - Called with each item and its index; may return a value or a promise.
 * @param options - `{ concurrency }`: a positive integer or `Infinity` (default).
 * @returns `fn`'s results in the order of `items`.
 * @throws {TypeError} If `items` is not iterable, `fn` not a function or `options` not an object.
 * @throws {RangeError} If `concurrency` is not a positive integer or `Infinity`.
 * @throws The first error of `fn` or of the iterator, after the running calls have finished.
 * @throws {Cancelled} If the caller is cancelled.
 * @example
 * ```ts
 * import { map } from "trellis";
 * const pages = await map(urls, (url) => download(url), { concurrency: 8 });
 * // at most 8 downloads at once; if one fails, the running ones are cancelled
 * ```
 */
export async function map<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  fn: (item: T, index: number) => R | PromiseLike<R>,
  options?: MapOptions,
): Promise<R[]> {
  const open = requireIterable<T>(items);
  requireFunction("map()", "fn", fn);
  requireOptions("map()", options);
  const concurrency = requireConcurrency(options?.concurrency);
  checkpointIfCancelled();
  const source = open();

  const results: R[] = [];
  const tasks: TaskImpl<unknown>[] = [];
  const pullers = new WaitQueue();
  let pulling = false;
  let exhausted = false;
  let nextIndex = 0;
  let group: TaskGroup;

  const NONE = {} as { value: T };
  /** Takes the next item, or NONE once the input is exhausted. Sync iterators never wait. */
  const pullSync = (): { value: T } => {
    if (exhausted) return NONE;
    let r: IteratorResult<T>;
    try {
      r = (source.iterator as Iterator<T>).next();
    } catch (err) {
      exhausted = true; // a failed iterator is not closed, as in for…of
      throw err;
    }
    if (r.done) {
      exhausted = true;
      return NONE;
    }
    return r;
  };
  /** One worker reads an async iterator at a time, the others queue (FIFO, cancellable). */
  const pullAsync = async (): Promise<{ value: T }> => {
    while (pulling) await pullers.park<void>("map() waiting to read the next item");
    pulling = true;
    try {
      checkpointIfCancelled();
      if (exhausted) return NONE;
      let r: IteratorResult<T>;
      try {
        r = await (source.iterator as AsyncIterator<T>).next();
      } catch (err) {
        exhausted = true; // a failed iterator is not closed, as in for…of
        throw err;
      }
      if (r.done) {
        exhausted = true;
        return NONE;
      }
      return r;
    } finally {
      pulling = false;
      pullers.wakeFirst(undefined);
    }
  };

  const worker = async (): Promise<void> => {
    const scope = currentScope()!; // the worker's own root scope, for the whole of its life
    for (;;) {
      if (scope.cause !== null) throw scope.raiseCancelled(); // checkpointIfCancelled(), minus a lookup
      const item = source.isAsync ? await pullAsync() : pullSync();
      if (item === NONE) return;
      const index = nextIndex++;
      // Grow the pool only once an item is in hand, so there is at most one idle worker.
      if (tasks.length < concurrency && !exhausted) spawnWorker();
      results[index] = await fn(item.value, index);
    }
  };
  const spawnWorker = () => {
    tasks.push(group.spawn(worker, { name: `map() worker ${tasks.length + 1}` }) as TaskImpl<unknown>);
  };

  const mapGroup = new TaskGroupImpl("map()", "first");
  try {
    await mapGroup.cancelScope.run(() =>
      runGroup(mapGroup, (g) => {
        group = g;
        spawnWorker();
      }),
    );
  } catch (err) {
    if (!exhausted) await closeQuietly(source);
    throw err;
  }
  for (const task of tasks) {
    if (task.state !== "done") {
      if (!exhausted) await closeQuietly(source);
      throw cancelledOutcome(task);
    }
  }
  return results;
}

/** Checks that `items` is iterable (async first, as `for await` does); returns how to open it. */
function requireIterable<T>(items: Iterable<T> | AsyncIterable<T>): () => Source<T> {
  if (items !== null && items !== undefined) {
    const asyncIt = (items as AsyncIterable<T>)[Symbol.asyncIterator];
    if (typeof asyncIt === "function") return () => ({ isAsync: true, iterator: asyncIt.call(items) });
    const syncIt = (items as Iterable<T>)[Symbol.iterator];
    if (typeof syncIt === "function") return () => ({ isAsync: false, iterator: syncIt.call(items) });
  }
  throw new TypeError(`map(): \`items\` must be an iterable or an async iterable, got ${show(items)}`);
}

function requireConcurrency(value: unknown): number {
  return value == null ? Infinity : requireCount("map()", "options.concurrency", value, 1, true);
}

/**
 * Closes an input that was not read to its end, as `for…of` does after a `break`; an error from
 * `return()` is dropped in favour of the error already on its way (also as `for…of` does).
 */
async function closeQuietly<T>(source: Source<T>): Promise<void> {
  try {
    await source.iterator.return?.();
  } catch {
    // The error that stopped the map is the one to report.
  }
}
