/**
 * The main thread's side of one pool worker: the `Worker`, its shared control block, the call
 * it runs, and one listener per event that forwards to the pool (never a listener per call).
 *
 * @module
 */
import { Worker, type ResourceLimits } from "node:worker_threads";
import type { PoolCall } from "./pool-call.js";
import { CONTROL_SLOTS, type WorkerBoot } from "./protocol.js";

const ENTRY = new URL("./worker-entry.js", import.meta.url);

/**
 * A worker inherits the process's flags, but `--input-type` (set by `node --input-type=module
 * -e …`) would make it refuse its file entry: then only, pass the flags without it. (Passing
 * `execArgv` at all makes Node validate every flag, and reject some it would otherwise ignore.)
 */
const INHERITED_FLAGS = process.execArgv.some((flag) => flag.startsWith("--input-type"))
  ? process.execArgv.filter((flag) => !flag.startsWith("--input-type"))
  : undefined;

/** @internal What a worker reports to its pool. */
export interface WorkerEvents {
  onMessage(handle: WorkerHandle, message: readonly unknown[]): void;
  onExit(handle: WorkerHandle, code: number): void;
}

/** @internal */
export class WorkerHandle {
  readonly worker: Worker;
  readonly control: Int32Array;
  /** The call it runs or runs next (also an abandoned one: the worker stays busy until it ends). */
  call: PoolCall | undefined = undefined;
  /** Calls sent ahead, oldest first, to start as soon as `call` ends (see "Call states" in protocol.ts). */
  ahead: PoolCall[] = [];

  /** True if `call` is this worker's current call or one sent ahead to it. */
  holds(call: PoolCall): boolean {
    return this.call === call || this.ahead.includes(call);
  }

  /** The current or sent-ahead call with this id. */
  find(id: unknown): PoolCall | undefined {
    if (this.call?.id === id) return this.call;
    for (const call of this.ahead) if (call.id === id) return call;
    return undefined;
  }
  /** Calls withdrawn whose skipping the worker has not reported yet. */
  withdrawnInFlight = 0;
  nextId = 1;
  /** False once it is being retired or terminated: it takes no more calls. */
  live = true;
  /** True while it sits in the pool's idle list. */
  idle = false;
  idleSince = 0;
  /** When its current call started, or its previous call ended (ms, performance.now()). */
  lastEnd = 0;
  /** The last uncaught error the worker reported (its `error` event), for the exit report. */
  lastError: unknown = undefined;
  /** True once the worker has sent any message (it started, loaded the module and runs). */
  answered = false;
  /** Set when the user's module failed to load in this worker. */
  loadError: unknown = undefined;
  /** Terminates the worker if a graceful exit takes longer than the grace period. */
  exitTimer: NodeJS.Timeout | undefined = undefined;

  constructor(events: WorkerEvents, moduleUrl: string, resourceLimits: ResourceLimits | undefined, name: string | undefined) {
    const control = new SharedArrayBuffer(CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT);
    this.control = new Int32Array(control);
    const boot: WorkerBoot = { moduleUrl, control };
    this.worker = new Worker(ENTRY, {
      workerData: boot,
      ...(INHERITED_FLAGS === undefined ? {} : { execArgv: INHERITED_FLAGS }),
      ...(resourceLimits === undefined ? {} : { resourceLimits }),
      ...(name === undefined ? {} : { name }),
    });
    this.worker.on("message", (message: readonly unknown[]) => events.onMessage(this, message));
    this.worker.on("error", (err: unknown) => {
      this.lastError = err;
    });
    this.worker.on("exit", (code: number) => events.onExit(this, code));
  }

  /** True once the pool has terminated it (rather than it exiting or crashing by itself). */
  terminated = false;

  /** Terminates the thread now (the `exit` event follows); the promise settles once it is gone (never rejects). Idempotent. */
  terminate(): Promise<void> {
    this.live = false;
    this.terminated = true;
    return this.worker.terminate().then(ignore, ignore);
  }
}

function ignore(): void {}
