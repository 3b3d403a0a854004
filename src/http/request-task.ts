/**
 * One HTTP request as one trellis task. The task object *is* the request's state (its `req`,
 * `res`, server and links), so a request costs one object beyond what `node:http` allocates:
 * its body is one shared function that finds everything through the current scope, and its
 * one listener (`res` "close") is a shared function that finds the task through `res`.
 *
 * A request task lives until the handler has returned (or its promise settled) **and** the
 * response has ended: handlers written for `node:http` often return at once and answer later
 * from a callback or a piped stream, and a graceful shutdown must wait for those too.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { currentScope, park, TaskImpl, wake, type AnyParked, type TaskOwner, type WaitAborter } from "../core/index.js";
import type { HttpServer } from "./http-server.js";

/** Where a response keeps its request task, for the shared "close" listener. */
const kTask = Symbol("trellis.http.task");

/** @internal */
export type TrackedResponse = ServerResponse & { [kTask]?: RequestTask };

/** @internal A request's task: a trellis task carrying the request it serves. */
export class RequestTask extends TaskImpl<unknown> implements WaitAborter {
  /** Links in the server's list of running requests. */
  prevLive: RequestTask | undefined = undefined;
  nextLive: RequestTask | undefined = undefined;
  /** The wait for the response to end, once the handler has returned without ending it. */
  endWaiter: AnyParked | undefined = undefined;
  /** The client went away before the response ended. */
  gone = false;

  constructor(
    name: string,
    parent: TaskImpl<unknown> | undefined,
    owner: TaskOwner,
    readonly server: HttpServer,
    readonly req: IncomingMessage,
    readonly res: TrackedResponse,
  ) {
    super(name, parent, owner);
    res[kTask] = this;
    res.on("close", onResponseClose);
  }

  /** Withdraws the wait for the response's end (the task was cancelled). */
  abortWait(_parked: AnyParked): boolean {
    this.endWaiter = undefined;
    return true;
  }
}

/**
 * The body of every request task. It runs in the task's own context, so the task (which is its
 * own root cancel scope) is the current scope: no closure per request.
 *
 * @internal
 */
export function runRequest(): unknown {
  const task = currentScope() as RequestTask;
  const result = task.server.handler(task.req, task.res);
  if (result instanceof Promise) return result.then(afterHandler);
  if (result !== null && typeof result === "object" && typeof (result as PromiseLike<unknown>).then === "function") {
    return Promise.resolve(result).then(afterHandler);
  }
  return afterHandler();
}

/**
 * The wait's label. The debug task tree shows it beside the task's name ("GET /x"), so one
 * shared string says it all; an Express request waits here every time, and pays no string.
 */
const RESPONSE_END = "http response end (the handler returned before ending it)";

/** The task whose wait `registerEndWait` is registering (park calls it synchronously). */
let registering: RequestTask | undefined;

/** The handler has returned: the task ends once the response has ended (or the client left). */
function afterHandler(): unknown {
  const task = currentScope() as RequestTask;
  if (task.res.writableEnded || task.gone) return undefined;
  registering = task;
  const wait = park<void>(RESPONSE_END, registerEndWait, true, task);
  registering = undefined; // also when park raised Cancelled without registering
  return wait;
}

function registerEndWait(parked: AnyParked): void {
  const task = registering!;
  task.endWaiter = parked;
  parked.abort = task;
}

/**
 * The response's "close": it has ended (then "close" follows "finish"), or the connection was
 * closed before it ended, which is a client disconnect: the request's task is cancelled.
 */
function onResponseClose(this: TrackedResponse): void {
  const task = this[kTask];
  if (task === undefined) return;
  this[kTask] = undefined;
  if (!this.writableEnded) {
    task.gone = true;
    if (task.state === "running") task.cancel("the client disconnected before the response ended");
  } else {
    const waiter = task.endWaiter;
    if (waiter !== undefined) {
      task.endWaiter = undefined;
      wake(waiter, undefined);
    }
  }
  task.server.responseClosed(task);
}
