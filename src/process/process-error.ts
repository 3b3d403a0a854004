/**
 * `ProcessError`: a child process that failed (non-zero exit, killed by a signal, or output
 * past `maxBuffer`), with everything needed to say why.
 *
 * @module
 */

/**
 * Thrown by `runProcess` (with `check`, the default) when the child exits with a non-zero code
 * or is ended by a signal, and, whatever `check` says, when its captured output passes
 * `maxBuffer` (the child is then killed). Carries the command, how it ended and what it wrote,
 * as Python's `CalledProcessError` does.
 *
 * @example
 * ```ts
 * import { runProcess, ProcessError } from "trellis/process";
 * try {
 *   await runProcess(["git", "pull"]);
 * } catch (err) {
 *   if (err instanceof ProcessError) console.error(err.code, new TextDecoder().decode(err.stderr as Uint8Array));
 *   throw err;
 * }
 * ```
 */
export class ProcessError extends Error {
  /** The command as given: the program and its arguments. */
  readonly argv: readonly string[];
  /** The exit code, or `null` if a signal ended the child. */
  readonly code: number | null;
  /** The signal that ended the child, or `null` if it exited. */
  readonly signal: NodeJS.Signals | null;
  /** What the child wrote to stdout, as far as it was captured (empty if not captured). */
  readonly stdout: Uint8Array | string;
  /** What the child wrote to stderr, as far as it was captured (empty if not captured). */
  readonly stderr: Uint8Array | string;
  /** Set when the child was killed because this stream passed `maxBuffer`. */
  readonly maxBufferExceeded: "stdout" | "stderr" | undefined;

  constructor(init: {
    argv: readonly string[];
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: Uint8Array | string;
    stderr: Uint8Array | string;
    maxBufferExceeded?: "stdout" | "stderr" | undefined;
    maxBuffer?: number;
  }) {
    super(describe(init));
    this.argv = init.argv;
    this.code = init.code;
    this.signal = init.signal;
    this.stdout = init.stdout;
    this.stderr = init.stderr;
    this.maxBufferExceeded = init.maxBufferExceeded;
  }
}
Object.defineProperty(ProcessError.prototype, "name", { value: "ProcessError" });

function describe(init: ConstructorParameters<typeof ProcessError>[0]): string {
  const command = `command ${JSON.stringify(init.argv)}`;
  if (init.maxBufferExceeded !== undefined) {
    return (
      `${command} wrote more than maxBuffer (${init.maxBuffer} bytes) to ${init.maxBufferExceeded}, so it was killed; ` +
      `raise \`maxBuffer\`, or read the output as a stream with openProcess()` +
      tail(init.stderr)
    );
  }
  const how = init.signal !== null ? `was ended by ${init.signal}` : `exited with code ${init.code}`;
  return `${command} ${how}${tail(init.stderr)}`;
}

/** The last lines of stderr, which usually say what went wrong. */
function tail(stderr: Uint8Array | string): string {
  const text = (typeof stderr === "string" ? stderr : Buffer.from(stderr.buffer, stderr.byteOffset, stderr.byteLength).toString("utf8")).trimEnd();
  if (text.length === 0) return "";
  const lines = text.split("\n");
  const shown = lines.slice(-10).join("\n");
  const cut = shown.length > 2000 ? `…${shown.slice(-2000)}` : shown;
  return `; its stderr ${lines.length > 10 ? "ended with" : "was"}:\n${cut}`;
}
