/**
 * `runProcess`: run a command to completion, as a function call that obeys cancel scopes.
 *
 * @module
 */
import { BrokenResourceError, checkpoint, requireBoolean, requireOptions, show, withTaskGroup, type TaskStatus } from "../core/index.js";
import type { ReceiveStream, SendStream } from "../net/index.js";
import { DEFAULT_MAX_BUFFER, planSpawn, requireMode, type RunProcessOptions } from "./options.js";
import { OutputBuffer } from "./output-buffer.js";
import { ProcessEngine } from "./process-engine.js";
import { ProcessError } from "./process-error.js";
import { ProcessFacade, type Process } from "./process.js";

/** What {@link runProcess} returns: how the child ended and what it wrote. */
export interface ProcessResult<Output extends Uint8Array | string = Uint8Array> {
  /** The command as given. */
  readonly argv: readonly string[];
  /** The exit code, or `null` if a signal ended the child (only with `check: false`). */
  readonly code: number | null;
  /** The signal that ended the child, or `null`. */
  readonly signal: NodeJS.Signals | null;
  /** Captured stdout (empty when not captured): bytes, or text with `encoding`. */
  readonly stdout: Output;
  /** Captured stderr (empty when not captured): bytes, or text with `encoding`. */
  readonly stderr: Output;
}

const WHERE = "runProcess()";

/**
 * Runs `argv[0]` with the arguments `argv.slice(1)` (no shell unless `shell: true`), feeds it
 * `input`, captures its output, and returns once it has exited and its pipes are drained.
 * Writing stdin and reading stdout and stderr run concurrently, so a child that writes while
 * it reads never deadlocks.
 *
 * Cancellation sends `killSignal` (default SIGTERM), then SIGKILL after `killAfterMs`
 * (default 5 000), and raises `Cancelled` only once the child has exited: the child never
 * outlives the call. With `tg.start<Process>((status) => runProcess(argv, { status }))` the
 * call runs as a task and `start` returns the {@link Process} once it has started.
 *
 * @returns `{ argv, code, signal, stdout, stderr }`; `stdout`/`stderr` are strings with `encoding`.
 * @throws {ProcessError} With `check` (default), if the child exits with a non-zero code or
 *   is ended by a signal; always, if its captured output passes `maxBuffer` (it is then killed).
 * @throws {Error} If the child cannot be started: the message names the missing program or directory.
 * @throws {TypeError} For a bad `argv` or option (the message names it).
 * @throws {Cancelled} If the caller is cancelled (after the child has exited).
 * @example
 * ```ts
 * import { moveOnAfter } from "trellis";
 * import { runProcess } from "trellis/process";
 * const result = await moveOnAfter(30_000, () => runProcess(["git", "status", "--short"], { encoding: "utf8" }));
 * if (result === undefined) console.log("git took too long and was stopped");
 * else console.log(result.stdout);
 * ```
 */
export function runProcess(argv: readonly string[], options: RunProcessOptions & { readonly encoding: BufferEncoding }): Promise<ProcessResult<string>>;
export function runProcess(argv: readonly string[], options?: RunProcessOptions | null): Promise<ProcessResult<Uint8Array>>;
export async function runProcess(argv: readonly string[], options?: RunProcessOptions | null): Promise<ProcessResult<Uint8Array | string>> {
  requireOptions(WHERE, options ?? undefined);
  const o = options ?? {};
  const input = requireInput(o.input);
  const [captureOut, captureErr] = requireCapture(o.capture, o.stdout != null, o.stderr != null);
  const check = o.check == null ? true : requireBoolean(WHERE, "options.check", o.check);
  const encoding = requireEncoding(o.encoding);
  const maxBuffer = requireMaxBuffer(o.maxBuffer);
  const status = o.status ?? undefined;
  if (status !== undefined && (typeof status !== "object" || typeof status.started !== "function")) {
    throw new TypeError(`${WHERE}: \`options.status\` must be the status tg.start() passes to its task, got ${show(status)}`);
  }
  if (input !== undefined && o.stdin != null) {
    throw new TypeError(`${WHERE}: give \`options.input\` or \`options.stdin\`, not both: with \`input\`, stdin is a pipe fed with it`);
  }
  const stdin = input !== undefined ? "pipe" : requireMode(WHERE, "options.stdin", o.stdin, "ignore");
  const stdoutMode = captureOut ? "pipe" : requireMode(WHERE, "options.stdout", o.stdout, "inherit");
  const stderrMode = captureErr ? "pipe" : requireMode(WHERE, "options.stderr", o.stderr, "inherit");
  if (status === undefined) {
    for (const [name, mode] of [["stdin", o.stdin], ["stdout", o.stdout], ["stderr", o.stderr]] as const) {
      if (mode === "pipe") {
        throw new TypeError(
          `${WHERE}: \`options.${name}: "pipe"\` needs \`status\` (tg.start), the only way to reach the pipe; ` +
            (name === "stdin" ? "pass the data as `input` instead" : `use \`capture\` to collect ${name} instead`),
        );
      }
    }
  }
  const plan = planSpawn(WHERE, argv, o, [stdin, stdoutMode, stderrMode]);

  await checkpoint();
  const engine = await ProcessEngine.spawn(WHERE, plan);
  const proc = new ProcessFacade(engine);
  engine.track(proc);
  if (input !== undefined) engine.hidden.add("stdin");
  if (captureOut) engine.hidden.add("stdout");
  if (captureErr) engine.hidden.add("stderr");
  const out = captureOut ? new OutputBuffer(maxBuffer) : undefined;
  const err = captureErr ? new OutputBuffer(maxBuffer) : undefined;
  let exceeded: "stdout" | "stderr" | undefined;

  const collect = async (stream: ReceiveStream, buffer: OutputBuffer, which: "stdout" | "stderr") => {
    for (;;) {
      const chunk = await stream.receive();
      if (chunk.byteLength === 0) return;
      if (!buffer.add(chunk)) {
        exceeded ??= which;
        await engine.terminate(); // the body's wait() returns once it has exited
        return;
      }
    }
  };

  try {
    await withTaskGroup(async (tg) => {
      if (input !== undefined) tg.spawn(() => feed(engine.stdin!, input), { name: `stdin of pid ${engine.pid}` });
      if (out !== undefined) tg.spawn(() => collect(engine.stdout!, out, "stdout"), { name: `stdout of pid ${engine.pid}` });
      if (err !== undefined) tg.spawn(() => collect(engine.stderr!, err, "stderr"), { name: `stderr of pid ${engine.pid}` });
      (status as TaskStatus<Process> | undefined)?.started(proc);
      await engine.wait();
    });
  } catch (error) {
    // Cancelled, or a failure of ours: the child must be gone before the error goes on.
    await engine.close();
    throw error;
  }
  await engine.close();

  const empty = encoding !== undefined ? "" : new Uint8Array(0);
  const stdout = out === undefined ? empty : encoding !== undefined ? out.text(encoding) : out.bytes();
  const stderr = err === undefined ? empty : encoding !== undefined ? err.text(encoding) : err.bytes();
  const { exitCode: code, exitSignal: signal } = engine;
  if (exceeded !== undefined) {
    throw new ProcessError({ argv: plan.argv, code, signal, stdout, stderr, maxBufferExceeded: exceeded, maxBuffer });
  }
  if (check && (code !== 0 || signal !== null)) throw new ProcessError({ argv: plan.argv, code, signal, stdout, stderr });
  return { argv: plan.argv, code, signal, stdout, stderr };
}

/** Writes `input`, then closes stdin; a child that stops reading early is not an error. */
async function feed(stdin: SendStream, input: string | Uint8Array): Promise<void> {
  try {
    if (input.length > 0) await stdin.send(input);
  } catch (err) {
    if (!(err instanceof BrokenResourceError)) throw err;
  } finally {
    await stdin.close();
  }
}

function requireInput(value: unknown): string | Uint8Array | undefined {
  if (value == null) return undefined;
  if (typeof value === "string" || value instanceof Uint8Array) return value;
  throw new TypeError(`${WHERE}: \`options.input\` must be a string or a Uint8Array, got ${show(value)}`);
}

/** Which streams to capture; a stream whose own option is given is not captured by default. */
function requireCapture(value: unknown, stdoutGiven: boolean, stderrGiven: boolean): [boolean, boolean] {
  let out: boolean;
  let err: boolean;
  if (value == null) [out, err] = [!stdoutGiven, !stderrGiven];
  else if (typeof value === "boolean") [out, err] = [value, value];
  else if (typeof value === "object") {
    const { stdout, stderr } = value as { stdout?: unknown; stderr?: unknown };
    out = stdout == null ? false : requireBoolean(WHERE, "options.capture.stdout", stdout);
    err = stderr == null ? false : requireBoolean(WHERE, "options.capture.stderr", stderr);
  } else {
    throw new TypeError(`${WHERE}: \`options.capture\` must be a boolean or { stdout?, stderr? }, got ${show(value)}`);
  }
  for (const [name, captured, given] of [["stdout", out, stdoutGiven], ["stderr", err, stderrGiven]] as const) {
    if (captured && given) {
      throw new TypeError(`${WHERE}: ${name} cannot be both captured and sent elsewhere; drop \`options.${name}\` or capture only the other stream`);
    }
  }
  return [out, err];
}

function requireEncoding(value: unknown): BufferEncoding | undefined {
  if (value == null) return undefined;
  if (typeof value === "string" && Buffer.isEncoding(value)) return value;
  throw new TypeError(`${WHERE}: \`options.encoding\` must be a text encoding such as "utf8", got ${show(value)}`);
}

function requireMaxBuffer(value: unknown): number {
  if (value == null) return DEFAULT_MAX_BUFFER;
  if (typeof value === "number" && (value === Infinity || (Number.isInteger(value) && value >= 0))) return value;
  throw new RangeError(`${WHERE}: \`options.maxBuffer\` must be a whole number of bytes ≥ 0, or Infinity, got ${show(value)}`);
}
