/**
 * The API a worker module uses (`import { callMain, … } from "trellis/threads"` inside the
 * worker), and the state it shares with the worker's call loop (worker-runtime.ts).
 *
 * A worker runs one call at a time, so "the call running here" is one variable. The caller's
 * cancellation reaches it twice: as a flag in the shared control block, which
 * `checkpointIfCancelled()` polls (seen even while the event loop is blocked), and as a
 * `CANCEL` message, which cancels the call's scope for code that awaits.
 *
 * @module
 */
import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import {
  RuntimeError,
  checkpointIfCancelled,
  currentScope,
  park,
  setCancellationPoll,
  show,
  wake,
  wakeWithError,
  type AnyParked,
  type ScopeNode,
} from "../core/index.js";
import { fromWire, type WireError } from "./error-transfer.js";
import {
  CALL_MAIN,
  CANCEL,
  CANCEL_MAIN,
  CANCEL_SOURCES,
  REPLY,
  REPLY_CANCELLED,
  REPLY_ERROR,
  SLOT_CANCEL_ID,
  SLOT_CANCEL_SOURCE,
  SLOT_SYNC,
} from "./protocol.js";

/** @internal The call a worker is running. */
export interface RunningCall {
  readonly id: number;
  readonly scope: ScopeNode;
}

/** @internal The worker's side of the wire, set once by the worker's call loop. */
let port: MessagePort | undefined;
let control: Int32Array | undefined;
let current: RunningCall | undefined;
let nextRequest = 1;
/** The call loop's handler, for messages `callMainSync` drains that are not its reply. */
let dispatch: ((message: readonly unknown[]) => void) | undefined;
/** `callMain` requests waiting for their reply, by request id. */
const requests = new Map<number, AnyParked>();

/** @internal Called once by worker-runtime.ts before the user's module is loaded. */
export function installWorker(workerPort: MessagePort, controlBlock: Int32Array, onMessage: (message: readonly unknown[]) => void): void {
  port = workerPort;
  dispatch = onMessage;
  control = controlBlock;
  setCancellationPoll(pollCancellation);
}

/** @internal The call loop sets and clears the running call. */
export function setRunningCall(call: RunningCall | undefined): void {
  current = call;
}

/** @internal The shared flag: cancels the running call's scope once its caller is cancelled. */
export function pollCancellation(): void {
  const call = current;
  if (call !== undefined && Atomics.load(control!, SLOT_CANCEL_ID) === call.id) {
    cancelRunningCall(call.id, Atomics.load(control!, SLOT_CANCEL_SOURCE));
  }
}

/** @internal Cancels the running call if it is `id` (from the flag or a `CANCEL` message). */
export function cancelRunningCall(id: number, source: number): void {
  const call = current;
  if (call === undefined || call.id !== id || call.scope.cancelCalled) return;
  call.scope.cancelWith("the calling task in the main thread was cancelled", CANCEL_SOURCES[source] ?? "explicit");
}

/** @internal A message for the worker-side API (a reply or a cancellation); false if not one. */
export function handleWorkerMessage(message: readonly unknown[]): boolean {
  if (message[0] === CANCEL) {
    cancelRunningCall(message[1] as number, message[2] as number);
    return true;
  }
  if (message[0] !== REPLY) return false;
  const parked = requests.get(message[1] as number);
  if (parked === undefined) return true;
  requests.delete(message[1] as number);
  const kind = message[2];
  if (kind === REPLY_ERROR) wakeWithError(parked, fromWire(message[3] as WireError));
  else if (kind === REPLY_CANCELLED) wakeWithError(parked, cancelledHere(parked.scope));
  else wake(parked, message[3]);
  return true;
}

/** The `Cancelled` a worker wait raises when the main thread's handler was cancelled. */
function cancelledHere(scope: ScopeNode | undefined): unknown {
  pollCancellation();
  if (scope?.cause != null) return scope.raiseCancelled();
  return new RuntimeError("the main thread's handler was cancelled while this worker call was not: its caller stopped waiting for it (cancel: \"abandon\")");
}

/**
 * True inside a worker thread of a `WorkerPool` (where {@link callMain} works), false in the
 * main thread and in workers trellis did not start.
 *
 * @example
 * ```ts
 * import { isWorker } from "trellis/threads";
 * if (!isWorker()) console.log("loaded in the main thread");
 * ```
 */
export function isWorker(): boolean {
  return port !== undefined;
}

function requireCall(where: string, name: unknown): RunningCall {
  if (typeof name !== "string") throw new TypeError(`${where}: \`name\` must be a string (the name of a handler), got ${show(name)}`);
  if (port === undefined) {
    throw new RuntimeError(`${where}: not in a pool worker; call it from a function that WorkerPool.run() runs in a worker thread`);
  }
  const call = current;
  if (call === undefined) {
    throw new RuntimeError(`${where}: no pool call is running on this worker; call it while a function run by pool.run() is running`);
  }
  return call;
}

function post(where: string, message: unknown[]): void {
  try {
    port!.postMessage(message);
  } catch (err) {
    throw new TypeError(`${where}: \`args\` cannot be sent to the main thread (${(err as Error).message}); pass structured-clonable values`, {
      cause: err,
    });
  }
}

/**
 * Runs the pool's handler `name` (from `new WorkerPool(url, { handlers })`) in the main thread,
 * inside the task that called `pool.run()` (its cancel scopes, deadline and `currentTask()`),
 * and returns its result. A checkpoint. When the calling task is cancelled, the handler is
 * cancelled and `callMain` throws `Cancelled` here; when this call is cancelled in the worker,
 * the handler is cancelled and `callMain` waits for it to end.
 *
 * @param name - A key of the pool's `handlers`.
 * @param args - Structured-clonable arguments.
 * @throws {RuntimeError} Outside a pool call in a worker.
 * @throws Whatever the handler throws, rebuilt with its class, stack and properties.
 * @example
 * ```ts
 * import { callMain } from "trellis/threads";
 * export async function resize(path: string) {
 *   const quota = await callMain<number>("quotaFor", path);
 *   return quota;
 * }
 * ```
 */
export async function callMain<T = unknown>(name: string, ...args: unknown[]): Promise<T> {
  const call = requireCall("callMain()", name);
  checkpointIfCancelled();
  const requestId = nextRequest++;
  post(`callMain(${JSON.stringify(name)})`, [CALL_MAIN, call.id, requestId, name, args, false]);
  return park<T>(`callMain(${JSON.stringify(name)})`, (parked) => {
    requests.set(requestId, parked);
    parked.abort = () => {
      // The handler runs in the main thread: ask for its cancellation and wait for its end.
      port!.postMessage([CANCEL_MAIN, call.id, requestId]);
      return false;
    };
  });
}

/**
 * As {@link callMain}, for synchronous worker code: blocks this worker thread (`Atomics.wait`)
 * until the handler has settled in the main thread, and returns its result or throws its error.
 * Throws `Cancelled` at once if the call is cancelled, and when the calling task is cancelled
 * while it waits (the handler is cancelled too).
 *
 * @example
 * ```ts
 * import { callMainSync } from "trellis/threads";
 * export function step(n: number) {
 *   const factor = callMainSync<number>("currentFactor");
 *   return n * factor;
 * }
 * ```
 */
export function callMainSync<T = unknown>(name: string, ...args: unknown[]): T {
  const call = requireCall("callMainSync()", name);
  checkpointIfCancelled();
  const requestId = nextRequest++;
  const ctl = control!;
  Atomics.store(ctl, SLOT_SYNC, 0);
  post(`callMainSync(${JSON.stringify(name)})`, [CALL_MAIN, call.id, requestId, name, args, true]);
  let reply: readonly unknown[] | undefined;
  while (reply === undefined) {
    Atomics.wait(ctl, SLOT_SYNC, 0, 1_000);
    for (let m = receiveMessageOnPort(port!); m !== undefined; m = receiveMessageOnPort(port!)) {
      const message = m.message as readonly unknown[];
      if (message[0] === REPLY && message[1] === requestId) reply = message;
      else dispatch!(message);
    }
  }
  Atomics.store(ctl, SLOT_SYNC, 0);
  if (reply[2] === REPLY_ERROR) throw fromWire(reply[3] as WireError);
  if (reply[2] === REPLY_CANCELLED) throw cancelledHere(currentScope());
  return reply[3] as T;
}

