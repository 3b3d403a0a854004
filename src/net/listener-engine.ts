/**
 * The machinery of a Listener: the queue of accepted sockets, the one parked `accept()`, and
 * closing.
 *
 * @internal
 * @module
 */
import { lstatSync, unlinkSync } from "node:fs";
import type net from "node:net";
import {
  ClosedResourceError,
  countCheckpoint,
  currentScope,
  park,
  schedulePoint,
  trackResource,
  wake,
  wakeWithError,
  sliceExpired,
  yieldToEventLoop,
  type Parked,
  type WaitAborter,
  type WaitRegistrar,
  type TrackedResource,
} from "../core/index.js";
import { busyError } from "../core/index.js";
import type { ListenerAddress } from "./listener.js";

/** @internal The machinery of a Listener. */
export class ListenerEngine implements WaitRegistrar<net.Socket>, WaitAborter {
  private readonly queue: net.Socket[] = [];
  private acceptor: Parked<net.Socket> | undefined = undefined;
  private closed = false;
  private closing: Promise<void> | undefined = undefined;
  private failure: unknown = undefined;
  private tracked: TrackedResource | undefined = undefined;
  readonly acceptLabel: string;

  constructor(
    readonly server: net.Server,
    readonly address: ListenerAddress,
    readonly backlog: number,
    readonly closeGraceMs: number | undefined,
    private readonly unixPath: string | undefined,
    connectionEvent: string,
  ) {
    this.acceptLabel = `accept on ${String(address)}`;
    server.on(connectionEvent, this.onConnection);
    server.on("error", this.onError);
    // A failed handshake is the client's problem, not the listener's; Node leaves the socket
    // open when someone listens for this event, so destroy it.
    if (connectionEvent === "secureConnection") server.on("tlsClientError", destroySocket);
  }

  track(owner: object): void {
    const server = this.server;
    const path = this.unixPath;
    this.tracked = trackResource(owner, "listener", String(this.address), () => {
      server.close();
      if (path !== undefined) removeSocketFile(path);
    });
  }

  private readonly onConnection = (socket: net.Socket): void => {
    socket.allowHalfOpen = true;
    if (this.closed || this.queue.length >= this.backlog) {
      socket.destroy();
      return;
    }
    socket.on("error", ignore); // until a stream takes it: a reset while queued is not an error of ours
    const acceptor = this.acceptor;
    if (acceptor !== undefined) {
      this.acceptor = undefined;
      wake(acceptor, socket);
    } else {
      this.queue.push(socket);
    }
  };

  private readonly onError = (err: unknown): void => {
    this.failure ??= err;
    const acceptor = this.acceptor;
    if (acceptor !== undefined) {
      this.acceptor = undefined;
      wakeWithError(acceptor, err);
    }
  };

  accept(): Promise<net.Socket> {
    // The error messages' text is made only when one is thrown (nothing per accept).
    if (this.closed) return Promise.reject(new ClosedResourceError(`accept() on ${String(this.address)}: this listener was closed`));
    if (this.acceptor !== undefined) return Promise.reject(busyError(`accept() on ${String(this.address)}`, "accept()"));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const scope = currentScope();
    if (scope !== undefined && scope.cause !== null) return scope.rejectCancelled();
    const socket = this.queue.shift();
    if (socket !== undefined) {
      // The scope was checked just above: this schedule point completes the checkpoint. The
      // socket is taken even if a cancellation comes meanwhile (then the caller owns it).
      countCheckpoint(scope);
      return sliceExpired() ? yieldToEventLoop().then(() => socket) : Promise.resolve(socket);
    }
    // The engine is the wait's registrar and abort (registerWait, abortWait): no closure.
    return park<net.Socket>(this.acceptLabel, this, true, scope);
  }

  /** Precondition of an object registrar (park.ts): it neither throws nor wakes the wait. */
  registerWait(parked: Parked<net.Socket>): void {
    this.acceptor = parked;
    parked.abort = this;
  }

  abortWait(): boolean {
    this.acceptor = undefined;
    return true;
  }

  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing.then(schedulePoint);
    this.closed = true;
    this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const acceptor = this.acceptor;
    this.acceptor = undefined;
    if (acceptor !== undefined) wakeWithError(acceptor, new ClosedResourceError(`a task blocked in accept() on ${String(this.address)}: the listener was closed`));
    for (const socket of this.queue.splice(0)) socket.destroy();
    this.server.close();
    if (this.unixPath !== undefined) removeSocketFile(this.unixPath);
    // The listening handle closes at the end of this event-loop turn: wait two turns so that
    // nothing is left when the caller's run() returns.
    await park<void>(`close ${String(this.address)}`, (parked) => setImmediate(() => setImmediate(() => wake(parked, undefined))), false);
    this.tracked?.untrack();
  }
}

/** @internal */
export function ignore(): void {}

function destroySocket(_err: unknown, socket: net.Socket): void {
  socket.destroy();
}

/** Removes a Unix socket file we created; anything else at that path is left alone. */
/** @internal */
export function removeSocketFile(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Already gone.
  }
}

