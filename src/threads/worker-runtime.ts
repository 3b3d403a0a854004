/**
 * The worker thread's call loop: loads the user's module, then runs each `CALL` as a trellis
 * task of one long-lived `run()`, inside a scope that the caller's cancellation cancels. So
 * `checkpoint()`, `sleep()`, `currentSignal()` and the rest of trellis work in the worker as in
 * the main thread. Ends (and lets the thread exit) on `CLOSE`.
 *
 * @module
 */
import type { MessagePort } from "node:worker_threads";
import { CancelScope, run, withTaskGroup, type TaskGroup } from "../core/index.js";
import { Event } from "../sync/index.js";
import { notCloneable, toWire } from "./error-transfer.js";
import { CALL, CANCELLED, CLOSE, ERROR, LOAD_ERROR, RESULT, type WorkerBoot } from "./protocol.js";
import { handleWorkerMessage, installWorker, pollCancellation, setRunningCall } from "./worker-side.js";

/** @internal Runs in the worker thread (worker-entry.ts). */
export async function serveCalls(boot: WorkerBoot, port: MessagePort): Promise<void> {
  let group: TaskGroup | undefined;
  const pending: (readonly unknown[])[] = [];
  const closed = new Event();
  let module: Record<string, unknown>;

  const onMessage = (message: readonly unknown[]): void => {
    if (message[0] === CALL) {
      if (group === undefined) pending.push(message);
      else startCall(group, module, message, port);
    } else if (message[0] === CLOSE) closed.set();
    else handleWorkerMessage(message);
  };
  installWorker(port, new Int32Array(boot.control), onMessage);
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
        for (const message of pending.splice(0)) startCall(tg, module, message, port);
        await closed.wait();
      }),
    { handleSignals: false },
  );
  port.close();
}

function startCall(tg: TaskGroup, module: Record<string, unknown>, message: readonly unknown[], port: MessagePort): void {
  const id = message[1] as number;
  const name = message[2] as string;
  const args = message[3] as unknown[];
  tg.spawn(() => runCall(module, id, name, args, port), { name });
}

async function runCall(module: Record<string, unknown>, id: number, name: string, args: unknown[], port: MessagePort): Promise<void> {
  const scope = new CancelScope();
  let reply: unknown[];
  setRunningCall({ id, scope });
  pollCancellation(); // cancelled before it started: its CANCEL message may have come first
  try {
    const fn = module[name];
    if (typeof fn !== "function") throw missingExport(module, name);
    const value = await scope.run(() => (fn as (...a: unknown[]) => unknown)(...args));
    reply = scope.cancelledCaught ? [CANCELLED, id] : [RESULT, id, value];
  } catch (err) {
    reply = [ERROR, id, toWire(err)];
  }
  setRunningCall(undefined);
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
