/**
 * `Process`: a running child, its pipes as trellis streams, its exit as a checkpoint.
 *
 * @module
 */
import type { ReceiveStream, SendStream } from "../net/index.js";
import type { ProcessEngine } from "./process-engine.js";
import { requireSignal } from "./options.js";

/**
 * A child process started by `openProcess` (or reported by `tg.start` around `runProcess`).
 * Close it with `await using` or `close()`: that sends `killSignal`, then SIGKILL after
 * `killAfterMs`, and returns once the child has exited and the pipes are closed.
 *
 * @example
 * ```ts
 * import { openProcess } from "trellis/process";
 * await using proc = await openProcess(["cat"], { stdin: "pipe", stdout: "pipe" });
 * await proc.stdin!.send("hello\n");
 * console.log(new TextDecoder().decode(await proc.stdout!.receive()));
 * ```
 */
export interface Process extends AsyncDisposable {
  /** The child's process id. */
  readonly pid: number;
  /** The command it runs: the program and its arguments. */
  readonly argv: readonly string[];
  /** Our end of its stdin when opened with `stdin: "pipe"`, else `undefined`. A stream that only sends; closing it is the child's end of input. */
  readonly stdin: SendStream | undefined;
  /** Our end of its stdout when opened with `stdout: "pipe"`, else `undefined`. A stream that only receives. */
  readonly stdout: ReceiveStream | undefined;
  /** Our end of its stderr when opened with `stderr: "pipe"`, else `undefined`. A stream that only receives. */
  readonly stderr: ReceiveStream | undefined;
  /**
   * `undefined` while it runs; then its exit code, or minus the number of the signal that ended
   * it (`-9` for SIGKILL), as Python's `returncode`.
   */
  readonly returnCode: number | undefined;
  /** The signal that ended it; `null` if it exited by itself; `undefined` while it runs. */
  readonly signal: NodeJS.Signals | null | undefined;
  /**
   * Waits until the child exits and returns {@link Process.returnCode}. A checkpoint: a
   * cancelled `wait` leaves the child running (closing it is what stops it).
   *
   * @example
   * ```ts
   * import { openProcess } from "trellis/process";
   * await using proc = await openProcess(["make"]);
   * if ((await proc.wait()) !== 0) console.error("make failed");
   * ```
   */
  wait(): Promise<number>;
  /**
   * Sends `signal` (default `"SIGTERM"`) to the child; false if it has already exited. Never waits.
   * A name that is not a signal of this platform (`"SIGFOO"`, a number) throws `TypeError`.
   *
   * @example
   * ```ts
   * import { openProcess } from "trellis/process";
   * await using server = await openProcess(["node", "server.js"]);
   * server.kill("SIGHUP"); // reload
   * ```
   */
  kill(signal?: NodeJS.Signals): boolean;
  /**
   * Sends `killSignal` if the child still runs, then SIGKILL after `killAfterMs`, waits for its
   * exit and closes the pipes. Idempotent; succeeds inside a cancelled scope (it is shielded)
   * and never raises `Cancelled`.
   *
   * @example
   * ```ts
   * import { openProcess } from "trellis/process";
   * const proc = await openProcess(["tail", "-f", "app.log"], { stdout: "pipe" });
   * try { await watch(proc.stdout!); } finally { await proc.close(); }
   * ```
   */
  close(): Promise<void>;
}

/** @internal The facade: its only state is the engine. */
export class ProcessFacade implements Process {
  readonly #engine: ProcessEngine;

  constructor(engine: ProcessEngine) {
    this.#engine = engine;
  }

  get pid(): number {
    return this.#engine.pid;
  }

  get argv(): readonly string[] {
    return this.#engine.plan.argv;
  }

  get stdin(): SendStream | undefined {
    return this.#engine.hidden.has("stdin") ? undefined : this.#engine.stdin;
  }

  get stdout(): ReceiveStream | undefined {
    return this.#engine.hidden.has("stdout") ? undefined : this.#engine.stdout;
  }

  get stderr(): ReceiveStream | undefined {
    return this.#engine.hidden.has("stderr") ? undefined : this.#engine.stderr;
  }

  get returnCode(): number | undefined {
    return this.#engine.returnCode;
  }

  get signal(): NodeJS.Signals | null | undefined {
    return this.#engine.exited ? this.#engine.exitSignal : undefined;
  }

  wait(): Promise<number> {
    return this.#engine.wait();
  }

  kill(signal?: NodeJS.Signals): boolean {
    return this.#engine.kill(signal == null ? "SIGTERM" : requireSignal("process.kill()", "signal", signal));
  }

  close(): Promise<void> {
    return this.#engine.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.#engine.close();
  }

  /** @internal `Process { pid: 1234, argv: [...], returnCode: undefined }` in `console.log`. */
  [Symbol.for("nodejs.util.inspect.custom")](_depth: number, options: object, inspect?: (v: unknown, o?: object) => string): string {
    const state = { pid: this.pid, argv: this.argv, returnCode: this.returnCode };
    return `Process ${inspect !== undefined ? inspect(state, options) : JSON.stringify(state)}`;
  }
}
