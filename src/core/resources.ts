/**
 * Resources are owned like tasks (DESIGN.md choice 8). Every socket, listener, worker pool,
 * child process or signal receiver a module opens registers here with the run it was opened
 * in, and unregisters when it is closed. So:
 *
 * - `run()` force-closes whatever is still registered when its last task has finished: nothing
 *   of trellis outlives `run()`, even when user code forgot to close a resource;
 * - with `run(main, { debug: true })`, a resource whose public object is garbage-collected while
 *   still registered is reported on stderr with the place it was opened, and closed;
 * - `trellis/debug` can list what is open.
 *
 * Invariant: `forceClose` must not hold the public object (`owner`) strongly, or the owner can
 * never be collected and the leak report can never fire. It closes the underlying handle
 * (socket, worker, child process) synchronously and must not throw.
 *
 * @module
 */
import { currentScope } from "./context.js";
import { getDefaultRuntime, type Runtime } from "./runtime.js";
import { captureSpawnSite } from "./spawn-site.js";

/**
 * @internal A resource's label made only when asked (a leak report, the debug tree): an accepted
 * socket's peer address costs a system call, which a connection storm should not pay per socket.
 */
export interface ResourceLabeller {
  resourceLabel(): string;
}

/**
 * @internal A force-close as a method of an object the resource already has (a stream engine),
 * instead of a closure per resource. Same invariant as a function: it must not hold `owner`.
 */
export interface ForceCloser {
  forceClose(): void | PromiseLike<unknown>;
}

/** @internal What the run knows of one open resource. */
export class TrackedResource {
  /** True from `trackResource` until `untrack()` (closed by its owner) or a forced close. */
  open = true;

  constructor(
    readonly runtime: Runtime,
    /** What it is: `"socket"`, `"listener"`, `"worker pool"`, `"child process"`, … */
    readonly kind: string,
    private readonly labelOrLabeller: string | ResourceLabeller,
    /** Where it was opened (user frames), recorded in debug mode only. */
    readonly openedAt: string | undefined,
    private readonly forceCloser: (() => void | PromiseLike<unknown>) | ForceCloser,
  ) {}

  /** Which one: an address, a path, a pid, a module URL. */
  get label(): string {
    const label = this.labelOrLabeller;
    return typeof label === "string" ? label : label.resourceLabel();
  }

  /** The owner closed it: the run forgets it. Idempotent. */
  untrack(): void {
    if (!this.open) return;
    this.open = false;
    this.runtime.resources.delete(this);
  }

  /**
   * Closes it forcefully (the run ended, or its owner was collected while open). Returns the
   * promise of a close that completes later (a thread terminating, a child being reaped), which
   * `run()` waits for, bounded; it never rejects.
   */
  close(): Promise<unknown> | undefined {
    if (!this.open) return undefined;
    this.untrack();
    try {
      const closer = this.forceCloser;
      const done = typeof closer === "function" ? closer() : closer.forceClose();
      return done === undefined ? undefined : Promise.resolve(done).catch(ignore);
    } catch {
      // A forced close is best effort: the handle may already be gone.
      return undefined;
    }
  }

  describe(): string {
    return `${this.kind} ${this.label}`;
  }
}

function ignore(): void {}

/**
 * Closes every resource still open in `runtime` and waits until those whose close completes
 * later are gone, for at most `limitMs` (an unref'd timer: it never keeps the process alive).
 * `run()` calls it once its last task has finished, so that nothing of the run outlives it.
 *
 * @internal
 */
export async function closeResources(resources: Set<TrackedResource>, limitMs: number): Promise<void> {
  const pending: Promise<unknown>[] = [];
  for (const resource of [...resources]) {
    const done = resource.close();
    if (done !== undefined) pending.push(done);
  }
  if (pending.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, limitMs);
    timer.unref();
  });
  await Promise.race([Promise.all(pending), limit]);
  clearTimeout(timer);
}

/** Reports resources collected while open; made on first use in debug mode. */
let leakRegistry: FinalizationRegistry<TrackedResource> | undefined;

function reportLeak(record: TrackedResource): void {
  if (!record.open) return;
  process.stderr.write(
    `trellis: a ${record.describe()} was garbage-collected while still open; it has been closed now.\n` +
      `  Close it with \`await using\` or its close() method in the scope that opened it.\n` +
      (record.openedAt !== undefined ? `${record.openedAt.replace(/spawned/g, "opened")}\n` : ""),
  );
  record.close();
}

/**
 * Registers a resource with the calling code's run (the default runtime outside `run()`).
 * `owner` is the public object users hold; `forceClose` destroys the underlying handle.
 * Call `untrack()` on the result once the resource is closed.
 *
 * @internal
 */
export function trackResource(
  owner: object,
  kind: string,
  label: string | ResourceLabeller,
  forceClose: (() => void | PromiseLike<unknown>) | ForceCloser,
): TrackedResource {
  const runtime = currentScope()?.runtime ?? getDefaultRuntime();
  const openedAt = runtime.debug ? captureSpawnSite(trackResource, 4) : undefined;
  const record = new TrackedResource(runtime, kind, label, openedAt, forceClose);
  runtime.resources.add(record);
  if (runtime.debug) {
    leakRegistry ??= new FinalizationRegistry(reportLeak);
    leakRegistry.register(owner, record, record);
  }
  return record;
}

/** Handles watched by {@link watchForLeak}, made on first use (debug mode only). */
let leakWatched: WeakMap<object, TrackedResource> | undefined;

/**
 * Debug mode's report-only twin of {@link trackResource}, for handles that `run()` must not
 * close when it ends (a channel handle may outlive the run that made it): if `owner` is
 * garbage-collected before {@link forgetLeak}, the leak is reported with the place it was
 * made, and `onLeak` runs (a channel handle then counts as closed, so its peers stop waiting).
 * Call only when `runtime.debug` is on: it costs a stack trace. `onLeak` must not hold `owner`.
 *
 * @internal
 */
export function watchForLeak(runtime: Runtime, owner: object, kind: string, label: string, onLeak: () => void): void {
  const openedAt = captureSpawnSite(watchForLeak, 4);
  const record = new TrackedResource(runtime, kind, label, openedAt, onLeak);
  leakRegistry ??= new FinalizationRegistry(reportLeak);
  leakRegistry.register(owner, record, record);
  (leakWatched ??= new WeakMap()).set(owner, record);
}

/** The handle watched by {@link watchForLeak} was closed properly: no report. @internal */
export function forgetLeak(owner: object): void {
  const record = leakWatched?.get(owner);
  if (record === undefined) return;
  leakWatched!.delete(owner);
  record.open = false;
  leakRegistry?.unregister(record);
}
