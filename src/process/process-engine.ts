/**
 * The machinery behind a {@link Process}: the Node `ChildProcess`, its exit, its pipes, and the
 * terminate-then-kill sequence. One `exit` listener per child dispatches to every waiter
 * (DESIGN.md choice 9); the child is tracked by the run until it is closed (choice 8).
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { basename } from "node:path";
import { constants } from "node:os";
import {
  CancelScope,
  checkpoint,
  currentTime,
  trackResource,
  withCancelScope,
  WaitQueue,
  type TrackedResource,
} from "../core/index.js";
import type { ReceiveStream, SendStream } from "../net/index.js";
import type { SpawnPlan } from "./options.js";
import { receivePipe, sendPipe } from "./pipes.js";
import { describeSpawnError } from "./spawn-error.js";

/**
 * Children alive in this process. If the process exits while some are still running (a second
 * Ctrl-C, a `process.exit()` somewhere), they are killed on the way out, so none is orphaned.
 * One `exit` listener for all of them, there only while one lives.
 */
const live = new Set<ChildProcess>();

function killLiveChildren(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Best effort on the way out.
    }
  }
}

function addLive(child: ChildProcess): void {
  if (live.size === 0) process.on("exit", killLiveChildren);
  live.add(child);
}

function removeLive(child: ChildProcess): void {
  if (!live.delete(child)) return;
  if (live.size === 0) process.removeListener("exit", killLiveChildren);
}

/** @internal */
export class ProcessEngine {
  exited = false;
  /** Set one loop iteration after the exit, when the waiters are woken (see onExit). */
  settled = false;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  readonly waiters = new WaitQueue();
  readonly label: string;
  readonly stdin: SendStream | undefined;
  readonly stdout: ReceiveStream | undefined;
  readonly stderr: ReceiveStream | undefined;
  /** Streams runProcess consumes itself: the facade does not show them. */
  readonly hidden = new Set<"stdin" | "stdout" | "stderr">();
  private record: TrackedResource | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly plan: SpawnPlan,
    readonly child: ChildProcess,
    readonly pid: number,
  ) {
    const name = plan.shell ? `sh -c ${JSON.stringify(plan.argv[0]!.slice(0, 40))}` : basename(plan.argv[0]!);
    this.label = `process wait pid ${pid} (${name})`;
    this.stdin = child.stdin !== null ? sendPipe(child.stdin, `stdin of pid ${pid}`) : undefined;
    this.stdout = child.stdout !== null ? receivePipe(child.stdout, `stdout of pid ${pid}`) : undefined;
    this.stderr = child.stderr !== null ? receivePipe(child.stderr, `stderr of pid ${pid}`) : undefined;
  }

  /** Starts the child; a failure to start is an error naming the program or the directory. */
  static async spawn(where: string, plan: SpawnPlan): Promise<ProcessEngine> {
    let child: ChildProcess;
    const [program, ...args] = plan.argv;
    try {
      child = spawn(program!, args, { cwd: plan.cwd, env: plan.env, stdio: [...plan.stdio], shell: plan.shell, windowsHide: true });
    } catch (err) {
      throw describeSpawnError(where, plan.argv, plan.cwd, err);
    }
    if (child.pid === undefined) {
      // Node reports the failure on the next tick, and cleans up the pipes it made.
      const err = await new Promise<unknown>((resolve) => child.once("error", resolve));
      throw describeSpawnError(where, plan.argv, plan.cwd, err);
    }
    const engine = new ProcessEngine(plan, child, child.pid);
    addLive(child);
    // After a successful start, 'error' only reports a failed kill or a closed IPC channel:
    // kill() already returns false for those, so nothing is lost by ignoring it here.
    child.on("error", () => {});
    child.once("exit", (code, signal) => engine.onExit(code, signal));
    return engine;
  }

  /** Registers with the run, for `owner` (the facade); call at once after spawn. */
  track(owner: object): void {
    const name = this.label.slice(this.label.indexOf("(") + 1, -1);
    this.record = trackResource(owner, "child process", `pid ${this.pid} (${name})`, () => this.forceClose());
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    this.exitCode = code;
    this.exitSignal = signal;
    removeLive(this.child);
    // Node closes the child's handle in this same callback; libuv finishes closing it in the
    // close phase of this loop iteration. Waking the waiters one iteration later means that
    // once a wait returns, not even the closing handle is left (getActiveResourcesInfo()).
    setImmediate(() =>
      setImmediate(() => {
        this.settled = true;
        this.waiters.wakeMany(Infinity, undefined);
      }),
    );
  }

  /** Python's convention: the exit code, or minus the number of the signal that ended it. */
  get returnCode(): number | undefined {
    if (!this.exited) return undefined;
    if (this.exitSignal !== null) return -(constants.signals[this.exitSignal] ?? 0);
    return this.exitCode ?? 0;
  }

  /** Waits for the exit (a checkpoint). */
  async wait(): Promise<number> {
    if (this.settled) await checkpoint();
    else await this.waiters.park<void>(this.label);
    return this.returnCode!;
  }

  /** Sends `signal` unless the child has exited; true if it was sent. Never throws for a gone child. */
  kill(signal: NodeJS.Signals): boolean {
    if (this.exited) return false;
    try {
      return this.child.kill(signal);
    } catch {
      return false;
    }
  }

  /**
   * `killSignal`, then SIGKILL if the child is still there after `killAfterMs`; returns once it
   * has exited. Shielded: it runs to the end inside a cancelled scope, and never raises Cancelled.
   */
  async terminate(): Promise<void> {
    if (this.settled) return;
    await withCancelScope(
      async () => {
        const { killSignal, killAfterMs } = this.plan;
        this.kill(killSignal);
        if (killSignal !== "SIGKILL") {
          await new CancelScope({ deadline: currentTime() + killAfterMs }).run(() => this.waitExit());
          if (this.settled) return;
          this.kill("SIGKILL");
        }
        await this.waitExit();
      },
      { shield: true },
    );
  }

  private waitExit(): Promise<void> {
    return this.settled ? Promise.resolve() : this.waiters.park<void>(this.label);
  }

  /** Terminates the child if it runs, waits for it, closes the pipes. Idempotent; never raises Cancelled. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    try {
      await this.terminate();
    } finally {
      await withCancelScope(() => this.closePipes(), { shield: true });
      this.record?.untrack();
    }
  }

  /** Closes our ends of the pipes (each close succeeds, also inside a cancelled scope). */
  async closePipes(): Promise<void> {
    for (const stream of [this.stdin, this.stdout, this.stderr]) {
      if (stream === undefined) continue;
      try {
        await stream.close();
      } catch {
        // A stream's close always succeeds by contract; nothing more to do if it did not.
      }
    }
  }

  /** run() ended with the child still open: kill it and drop the pipes, now. Holds no facade. */
  /** SIGKILL and pipes destroyed; the promise settles once the child is reaped (see onExit). */
  private forceClose(): Promise<void> | undefined {
    this.kill("SIGKILL");
    for (const pipe of [this.child.stdin, this.child.stdout, this.child.stderr]) pipe?.destroy();
    if (this.settled) return undefined;
    return new Promise<void>((resolve) => {
      const reaped = () => setImmediate(() => setImmediate(resolve));
      if (this.exited) reaped();
      else this.child.once("exit", reaped);
    });
  }
}
