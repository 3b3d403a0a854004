/**
 * `WorkerPool`: CPU work on worker threads, cancellation in both directions. A thin facade
 * over pool-engine.ts.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ResourceLimits, TransferListItem } from "node:worker_threads";
import { requireDuration, requireOneOf, requireOptionalString, requireOptions, show } from "../core/index.js";
import type { CancelMode } from "./pool-call.js";
import { PoolEngine, type PoolSettings } from "./pool-engine.js";

export type { CancelMode } from "./pool-call.js";

/** Any function a worker module may export. */
export type WorkerFunction = (...args: never[]) => unknown;

/** The shape of a module nothing is known about: any export, any arguments, `unknown` results. */
export interface UntypedWorkerModule {
  readonly [exportName: string]: (...args: readonly unknown[]) => unknown;
}

/** The names of `M`'s exported functions. */
export type ExportName<M> = { [K in keyof M]: M[K] extends WorkerFunction ? K : never }[keyof M] & string;
/** The parameters of `M`'s export `K`. */
export type ExportArgs<M, K extends keyof M> = M[K] extends (...args: infer A) => unknown ? A : never;
/** What `pool.run(K)` resolves with: the awaited result of `M`'s export `K`. */
export type ExportResult<M, K extends keyof M> = M[K] extends (...args: never[]) => infer R ? Awaited<R> : never;
/** `pool.bind()`: each exported function of `M`, run in the pool. */
export type BoundPool<M> = { readonly [K in ExportName<M>]: (...args: ExportArgs<M, K>) => Promise<ExportResult<M, K>> };

/** Options of {@link WorkerPool}. `null` and `undefined` mean "the default". */
export interface WorkerPoolOptions {
  /** Most workers (and calls running at once). An integer ≥ 1. Default: `os.availableParallelism()`. */
  readonly size?: number | null;
  /** Functions the workers may call in the main thread with `callMain(name, …args)`. */
  readonly handlers?: Readonly<Record<string, (...args: never[]) => unknown>> | null;
  /** A worker idle this long exits; the pool starts one again on demand. Default 30 000 ms; `Infinity`: never. */
  readonly idleTimeoutMs?: number | null;
  /** Default for `RunOptions.graceMs`, and how long `close()` waits for a worker to exit by itself. Default 1 000 ms. */
  readonly graceMs?: number | null;
  /** Passed to each `Worker` (`maxOldGenerationSizeMb`, …); a worker that exceeds them fails its call with `BrokenResourceError`. */
  readonly resourceLimits?: ResourceLimits | null;
  /** Shown in errors, in `trellis/debug` and as the worker threads' name. */
  readonly name?: string | null;
}

/** Options of {@link WorkerPool.run}. `null` and `undefined` mean "the default". */
export interface RunOptions {
  /** Objects to transfer rather than copy (ArrayBuffers, MessagePorts): detached in the caller. */
  readonly transfer?: readonly TransferListItem[] | null;
  /**
   * What the caller's cancellation does to a running call. `"cooperative"` (default): cancels the
   * call's scope in the worker at once (seen by `checkpointIfCancelled()` even in a synchronous
   * loop); after `graceMs` the worker is terminated and replaced; `Cancelled` comes once the
   * call has ended or the worker is gone. `"terminate"`: terminates the worker at once.
   * `"abandon"`: raises `Cancelled` at once and lets the worker finish the call unobserved.
   * In every mode, a call the worker has not started is taken back, and one it has already
   * ended (its result not read yet) gives the caller that result.
   */
  readonly cancel?: CancelMode | null;
  /** For `"cooperative"`: how long the call may take to end after its cancellation. Default: the pool's `graceMs`. */
  readonly graceMs?: number | null;
}

/**
 * What {@link WorkerPool.statistics} returns. Every call whose arguments passed the checks is
 * counted once, when it ends, in `completed`, `failed` or `cancelled`.
 */
export interface WorkerPoolStatistics {
  readonly size: number;
  /** Worker threads alive (also those exiting). */
  readonly workers: number;
  /** Workers running a call. */
  readonly busy: number;
  readonly idle: number;
  /** Calls queued for a worker. */
  readonly waiting: number;
  /** Calls that returned a value. */
  readonly completed: number;
  /** Calls that threw (their function's error, arguments that cannot be cloned, a crashed worker, a closed pool). */
  readonly failed: number;
  /** Calls ended by their caller's cancellation (also before they started) or by the pool's close. */
  readonly cancelled: number;
  /** Workers terminated or crashed in the middle of a call. */
  readonly replaced: number;
}

const MODES = ["cooperative", "terminate", "abandon"] as const;

/**
 * A pool of `worker_threads` running the ES module at `moduleUrl`, whose exported functions
 * `run()` calls. Workers start lazily, up to `size`; calls beyond wait in FIFO order. Each call
 * runs in the worker as a trellis task whose cancellation follows the calling task, and the
 * worker can call back into the main thread (`callMain`) inside the calling task. Close it with
 * `await using` or {@link WorkerPool.close}: nothing of it outlives `run()`.
 *
 * @typeParam M - The worker module's type (`typeof import("./worker.js")`), for typed calls.
 * @throws {TypeError} If `moduleUrl` is not a URL or path, or its file does not exist.
 * @throws {RangeError} If `options.size` is not an integer ≥ 1.
 * @example
 * ```ts
 * import { WorkerPool } from "trellis/threads";
 * // In your code: new WorkerPool<typeof import("./hash-worker.js")>(…), typed from the module.
 * interface HashWorker { hash(text: string): string }
 * await using pool = new WorkerPool<HashWorker>(new URL("./hash-worker.js", import.meta.url), { size: 2 });
 * const digest: string = await pool.run("hash", ["some text"]);
 * ```
 */
export class WorkerPool<M extends object = UntypedWorkerModule> {
  readonly #engine: PoolEngine;

  constructor(moduleUrl: URL | string, options?: WorkerPoolOptions) {
    this.#engine = new PoolEngine(this, settingsFrom(moduleUrl, options));
  }

  /**
   * Runs the export `name(...args)` in a worker and returns its awaited result. A checkpoint:
   * waits for a free worker, then for the call; cancellation acts as `options.cancel` says.
   * Arguments and results travel by structured clone; an error thrown in the worker is rethrown
   * here with its class (built-in and trellis errors), message, the worker's stack, `cause` and
   * own properties.
   *
   * @throws {ClosedResourceError} If the pool is closed, or closes while the call runs.
   * @throws {BrokenResourceError} If the worker crashes or exits mid-call (`exitCode` says how); the pool replaces it.
   * @throws {TypeError} If `args` cannot be cloned, or the module has no such export.
   * @example
   * ```ts
   * import { WorkerPool } from "trellis/threads";
   * declare const pool: WorkerPool<{ hash(text: string): string }>;
   * const digest: string = await pool.run("hash", ["abc"], { cancel: "cooperative", graceMs: 200 });
   * ```
   */
  run<Mod extends object = M, K extends ExportName<Mod> = ExportName<Mod>>(
    name: K,
    args?: Readonly<ExportArgs<Mod, K>> | null,
    options?: RunOptions | null,
  ): Promise<ExportResult<Mod, K>> {
    try {
      if (typeof name !== "string") throw new TypeError(`pool.run(): \`exportName\` must be a string, got ${show(name)}`);
      const where = `pool.run(${JSON.stringify(name)})`;
      const list = args ?? [];
      if (!Array.isArray(list)) throw new TypeError(`${where}: \`args\` must be an array of arguments, got ${show(args)}`);
      const opts = options ?? undefined;
      requireOptions(where, opts);
      const transfer = opts?.transfer ?? undefined;
      if (transfer !== undefined && !Array.isArray(transfer)) {
        throw new TypeError(`${where}: \`options.transfer\` must be an array of transferable objects, got ${show(transfer)}`);
      }
      const mode = requireOneOf(where, "options.cancel", opts?.cancel ?? "cooperative", MODES);
      const graceMs = opts?.graceMs == null ? this.#engine.settings.graceMs : requireDuration(where, "options.graceMs", opts.graceMs);
      return this.#engine.run(name, list, transfer, mode, graceMs) as Promise<ExportResult<Mod, K>>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * An object with one method per exported function of `Mod`, each running it in the pool
   * with `options`: `pool.bind<typeof import("./worker.js")>().hash("abc")`.
   *
   * @example
   * ```ts
   * import { WorkerPool } from "trellis/threads";
   * declare const pool: WorkerPool;
   * const worker = pool.bind<{ hash(text: string): string }>({ cancel: "terminate" });
   * const digest: string = await worker.hash("abc");
   * ```
   */
  bind<Mod extends object = M>(options?: RunOptions | null): BoundPool<Mod> {
    requireOptions("pool.bind()", options ?? undefined);
    const cache = new Map<string, (...args: unknown[]) => Promise<unknown>>();
    return new Proxy({} as BoundPool<Mod>, {
      get: (_target, key) => {
        if (typeof key !== "string" || key === "then") return undefined;
        let fn = cache.get(key);
        if (fn === undefined) {
          fn = (...args: unknown[]) => this.run<UntypedWorkerModule>(key, args, options);
          cache.set(key, fn);
        }
        return fn;
      },
    });
  }

  /**
   * A snapshot of the pool: `{ size, workers, busy, idle, waiting, completed, failed, cancelled, replaced }`.
   *
   * @example
   * ```ts
   * import { WorkerPool } from "trellis/threads";
   * declare const pool: WorkerPool;
   * const { busy, waiting } = pool.statistics();
   * ```
   */
  statistics(): WorkerPoolStatistics {
    return Object.freeze(this.#engine.counts());
  }

  /**
   * Closes the pool: new calls throw `ClosedResourceError`, and so do calls that have not started
   * (queued, or sent ahead to a worker); running calls are cancelled (each by its mode, within
   * its grace period — the pool's if the call's is `Infinity`) and their callers get
   * `ClosedResourceError`, or the call's own outcome if it ended first (`Cancelled` if the
   * caller was cancelled too); idle workers exit. It returns once every worker thread has exited.
   * Idempotent; succeeds inside a cancelled scope, where it stops waiting for grace periods and
   * terminates what is left. See "What a call sees when the pool closes under it" in docs/threads.md.
   *
   * @example
   * ```ts
   * import { WorkerPool } from "trellis/threads";
   * const pool = new WorkerPool(new URL("./worker.js", import.meta.url));
   * try { await pool.run("main"); } finally { await pool.close(); }
   * ```
   */
  close(): Promise<void> {
    return this.#engine.close();
  }

  /** Same as {@link WorkerPool.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.#engine.close();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const s = this.#engine.counts();
    return `WorkerPool <${this.#engine.poolLabel}, ${this.#engine.closed ? "closed, " : ""}workers ${s.workers}/${s.size}, busy ${s.busy}, waiting ${s.waiting}>`;
  }
}

/**
 * Opens a {@link WorkerPool}, runs `fn(pool)`, and closes the pool however `fn` ends.
 *
 * @example
 * ```ts
 * import { withWorkerPool } from "trellis/threads";
 * const sizes = await withWorkerPool(new URL("./images.js", import.meta.url), { size: 4 }, (pool) =>
 *   Promise.all(files.map((f) => pool.run("resize", [f]))),
 * );
 * ```
 */
export async function withWorkerPool<M extends object = UntypedWorkerModule, T = unknown>(
  moduleUrl: URL | string,
  options: WorkerPoolOptions | null | undefined,
  fn: (pool: WorkerPool<M>) => T | PromiseLike<T>,
): Promise<Awaited<T>> {
  if (typeof fn !== "function") throw new TypeError(`withWorkerPool(): \`fn\` must be a function, got ${show(fn)}`);
  const pool = new WorkerPool<M>(moduleUrl, options ?? undefined);
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}

function settingsFrom(moduleUrl: unknown, options: WorkerPoolOptions | undefined): PoolSettings {
  const where = "new WorkerPool()";
  requireOptions(where, options ?? undefined);
  const url = moduleUrlFrom(moduleUrl);
  const size = options?.size ?? availableParallelism();
  if (typeof size !== "number" || !Number.isInteger(size) || size < 1) {
    throw new RangeError(`${where}: \`options.size\` must be an integer ≥ 1, got ${show(size)}`);
  }
  const handlers = options?.handlers ?? {};
  if (typeof handlers !== "object") throw new TypeError(`${where}: \`options.handlers\` must be an object of functions, got ${show(handlers)}`);
  for (const [key, value] of Object.entries(handlers)) {
    if (typeof value !== "function") throw new TypeError(`${where}: \`options.handlers.${key}\` must be a function, got ${show(value)}`);
  }
  const resourceLimits = options?.resourceLimits ?? undefined;
  if (resourceLimits !== undefined && typeof resourceLimits !== "object") {
    throw new TypeError(`${where}: \`options.resourceLimits\` must be an object, got ${show(resourceLimits)}`);
  }
  return {
    moduleUrl: url,
    size,
    handlers,
    idleTimeoutMs: options?.idleTimeoutMs == null ? 30_000 : requireDuration(where, "options.idleTimeoutMs", options.idleTimeoutMs),
    graceMs: options?.graceMs == null ? 1_000 : requireDuration(where, "options.graceMs", options.graceMs),
    resourceLimits,
    name: requireOptionalString(where, "options.name", options?.name ?? undefined),
  };
}

function moduleUrlFrom(value: unknown): string {
  const where = "new WorkerPool()";
  let url: URL;
  if (value instanceof URL) url = value;
  else if (typeof value === "string" && value !== "") {
    url = /^[a-z][a-z0-9+.-]+:/i.test(value) ? new URL(value) : pathToFileURL(resolve(value));
  } else {
    throw new TypeError(`${where}: \`moduleUrl\` must be a URL or a file path of an ES module, got ${show(value)}`);
  }
  if (url.protocol === "file:" && !existsSync(fileURLToPath(url))) {
    throw new TypeError(`${where}: \`moduleUrl\` ${url.href} does not exist; pass the URL of the worker's module, e.g. new URL("./worker.js", import.meta.url)`);
  }
  return url.href;
}
