/**
 * The worker thread's call loop: loads the user's module, then runs each `CALL` as a trellis
 * task of one long-lived `run()`, inside a scope that the caller's cancellation cancels. So
 * `checkpoint()`, `sleep()`, `currentSignal()` and the rest of trellis work in the worker as in
 * the main thread. Ends (and lets the thread exit) on `CLOSE`.
 *
 * @module
 */
import { AsyncResource } from "node:async_hooks";
import type { MessagePort } from "node:worker_threads";
import { run, UserScope, withTaskGroup, type TaskGroup } from "../core/index.js";
import { Event } from "../sync/index.js";
import { notCloneable, toWire } from "./error-transfer.js";
import { CALL, CANCELLED, CLOSE, ERROR, LOAD_ERROR, RESULT, CALL_SLOTS, SLOT_CALLS, SLOT_ENDED, type WorkerBoot } from "./protocol.js";
import { handleWorkerMessage, installWorker, pollCancellation, setRunningCall } from "./worker-side.js";

/** @internal Runs in the worker thread (worker-entry.ts). */
export async function serveCalls(boot: WorkerBoot, port: MessagePort): Promise<void> {
  const control = new Int32Array(boot.control);
  let group: TaskGroup | undefined;
  /** CALL messages not started yet: the pool may send the next call before this one ends. */
  const calls: (readonly unknown[])[] = [];
  let running = false;
  const closed = new Event();
  let module: Record<string, unknown>;

  /** Starts the next call that has not been withdrawn (see protocol.ts). */
  const startNext = (): void => {
    while (!running && group !== undefined && calls.length > 0) {
      const message = calls.shift()!;
      const id = message[1] as number;
      if (Atomics.compareExchange(control, SLOT_CALLS + (id % CALL_SLOTS), id, -id) !== id) {
        port.postMessage([CANCELLED, id]);
        continue;
      }
      running = true;
      const name = message[2] as string;
      group.spawn(() => runCall(module, id, name, message[3] as unknown[], port, control).finally(callEnded), { name });
    }
  };
  // Bound to this (task-less) context: the next call's task must not become a child of the
  // previous call's task (a chain of parents that would never be collected).
  const callEnded = AsyncResource.bind((): void => {
    running = false;
    startNext();
  });
  const onMessage = (message: readonly unknown[]): void => {
    if (message[0] === CALL) {
      calls.push(message);
      startNext();
    } else if (message[0] === CLOSE) closed.set();
    else handleWorkerMessage(message);
  };
  installWorker(port, control, onMessage);
  port.on("message", onMessage);
  try {
    module = (await import(boot.moduleUrl)) as Record<string, unknown>;
  } catch (err) {
    port.postMessage([LOAD_ERROR, toWire(err)]);
    port.close();
    return;
  }
  await run(
    () =>
      withTaskGroup(async (tg) => {
        group = tg;
        startNext();
        await closed.wait();
      }),
    { handleSignals: false },
  );
  port.close();
}

async function runCall(module: Record<string, unknown>, id: number, name: string, args: unknown[], port: MessagePort, control: Int32Array): Promise<void> {
  const scope = new UserScope();
  let reply: unknown[];
  setRunningCall({ id, scope });
  pollCancellation(); // cancelled before it started: its CANCEL message may have come first
  try {
    const fn = module[name];
    if (typeof fn !== "function") throw missingExport(module, name);
    if (scope.cancelCalled) reply = [CANCELLED, id];
    else {
      const value = await scope.run(() => (fn as (...a: unknown[]) => unknown)(...args));
      reply = scope.cancelledCaught ? [CANCELLED, id] : [RESULT, id, value];
    }
  } catch (err) {
    reply = [ERROR, id, toWire(err)];
  }
  setRunningCall(undefined);
  Atomics.store(control, SLOT_ENDED, id);
  try {
    port.postMessage(reply);
  } catch (err) {
    const what = reply[0] === RESULT ? `the result of ${name}()` : `the error thrown by ${name}()`;
    const value = reply[0] === RESULT ? reply[2] : (reply[2] as readonly unknown[])[1];
    port.postMessage([ERROR, id, notCloneable(what, value, err)]);
  }
}

function missingExport(module: Record<string, unknown>, name: string): TypeError {
  const functions = Object.keys(module).filter((key) => typeof module[key] === "function");
  return new TypeError(
    `pool.run(${JSON.stringify(name)}): the worker module has no exported function named ${JSON.stringify(name)}; ` +
      (functions.length === 0 ? "it exports no functions" : `its exported functions are ${functions.map((f) => JSON.stringify(f)).join(", ")}`),
  );
}
