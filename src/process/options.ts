/**
 * The options of `openProcess` and `runProcess`, and their checks. `null` and `undefined` mean
 * "not given" for every option.
 *
 * @module
 */
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { requireBoolean, requireDuration, requireOneOf, requireOptions, show, type TaskStatus } from "../core/index.js";
import type { Process } from "./process.js";

/** Where a standard stream of the child goes: a pipe to us, our own stream, or nowhere. */
export type StdioMode = "pipe" | "inherit" | "ignore";

/** Options shared by {@link openProcess} and {@link runProcess}. */
export interface ProcessOptions {
  /** The child's working directory. Default: ours. */
  readonly cwd?: string | URL | null;
  /** The child's whole environment (not merged with ours: spread `process.env` to extend it). Default: ours. */
  readonly env?: Readonly<Record<string, string | undefined>> | null;
  /** The signal sent first when the child must stop (cancellation, `close()`). Default `"SIGTERM"`. */
  readonly killSignal?: NodeJS.Signals | null;
  /** How long after `killSignal` the child gets `SIGKILL` if it has not exited. Default 5 000 ms; `Infinity`: never. */
  readonly killAfterMs?: number | null;
  /** Run `argv[0]` through `/bin/sh -c` (argv must then be one string). Default false: no shell, no quoting pitfalls. */
  readonly shell?: boolean | null;
}

/** Options of {@link openProcess}. */
export interface OpenProcessOptions extends ProcessOptions {
  /** `"pipe"` makes `process.stdin` a trellis stream. Default `"inherit"`. */
  readonly stdin?: StdioMode | null;
  /** `"pipe"` makes `process.stdout` a trellis stream. Default `"inherit"`. */
  readonly stdout?: StdioMode | null;
  /** `"pipe"` makes `process.stderr` a trellis stream. Default `"inherit"`. */
  readonly stderr?: StdioMode | null;
}

/** Options of {@link runProcess}. */
export interface RunProcessOptions extends ProcessOptions {
  /** Bytes or text written to the child's stdin, which is then closed. Default: an empty stdin. */
  readonly input?: string | Uint8Array | null;
  /**
   * With no `input`: `"ignore"` (default, the child reads an empty stdin), `"inherit"` (ours),
   * or `"pipe"` (with `status` only: write to `Process.stdin` yourself).
   */
  readonly stdin?: StdioMode | null;
  /**
   * Where stdout goes when it is not captured: `"inherit"` (ours, the default), `"ignore"`, or
   * `"pipe"` (with `status` only: read `Process.stdout` yourself). Giving it turns off capture of stdout.
   */
  readonly stdout?: StdioMode | null;
  /** As `stdout`, for stderr. */
  readonly stderr?: StdioMode | null;
  /**
   * Capture stdout and stderr (default true, except for a stream whose own option is given),
   * or say which; what is not captured goes where `stdout`/`stderr` say.
   */
  readonly capture?: boolean | { readonly stdout?: boolean | null; readonly stderr?: boolean | null } | null;
  /** Throw {@link ProcessError} if the child exits with a non-zero code or is ended by a signal. Default true. */
  readonly check?: boolean | null;
  /** Decode captured output as text in this encoding (e.g. `"utf8"`). Default: bytes. */
  readonly encoding?: BufferEncoding | null;
  /** The most bytes captured per stream; past it the child is killed and {@link ProcessError} says so. Default 64 MiB. */
  readonly maxBuffer?: number | null;
  /**
   * From `tg.start<Process>((status) => runProcess(argv, { status }))`: reports the
   * {@link Process} once started (`start` cannot infer its type from the body, hence `<Process>`).
   */
  readonly status?: TaskStatus<Process> | TaskStatus<void> | null;
}

/** @internal The checked form of the common options. */
export interface SpawnPlan {
  readonly argv: readonly string[];
  readonly cwd: string | undefined;
  readonly env: Record<string, string | undefined> | undefined;
  readonly killSignal: NodeJS.Signals;
  readonly killAfterMs: number;
  readonly shell: boolean;
  readonly stdio: readonly [StdioMode, StdioMode, StdioMode];
}

export const DEFAULT_MAX_BUFFER = 64 * 1024 * 1024;
const MODES = ["pipe", "inherit", "ignore"] as const;

/** @internal */
export function requireArgv(where: string, argv: unknown, shell: boolean): readonly string[] {
  if (!Array.isArray(argv) || argv.length === 0) {
    throw new TypeError(`${where}: \`argv\` must be a non-empty array: the program, then its arguments (no shell), got ${show(argv)}`);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg: unknown = argv[i];
    if (typeof arg !== "string") throw new TypeError(`${where}: \`argv[${i}]\` must be a string, got ${show(arg)}`);
    if (arg.includes("\0")) throw new TypeError(`${where}: \`argv[${i}]\` contains a NUL byte, which no program can receive`);
  }
  if (argv[0] === "") throw new TypeError(`${where}: \`argv[0]\` (the program) is empty`);
  if (shell && argv.length !== 1) {
    throw new TypeError(
      `${where}: with \`shell: true\`, \`argv\` must be one string, the whole command line, got ${argv.length} strings; ` +
        "or drop `shell` and pass the program and its arguments separately",
    );
  }
  return Object.freeze([...argv] as string[]);
}

/** @internal */
export function requireSignal(where: string, name: string, value: unknown): NodeJS.Signals {
  if (typeof value !== "string" || !Object.hasOwn(constants.signals, value)) {
    throw new TypeError(`${where}: \`${name}\` must be a signal name such as "SIGTERM" or "SIGINT", got ${show(value)}`);
  }
  return value as NodeJS.Signals;
}

/** @internal Checks what `openProcess` and `runProcess` share; `stdio` is decided by the caller. */
export function planSpawn(
  where: string,
  argv: unknown,
  options: ProcessOptions | undefined | null,
  stdio: readonly [StdioMode, StdioMode, StdioMode],
): SpawnPlan {
  requireOptions(where, options ?? undefined);
  const o = options ?? {};
  const shell = o.shell == null ? false : requireBoolean(where, "options.shell", o.shell);
  const checked = requireArgv(where, argv, shell);
  let cwd: string | undefined;
  if (o.cwd != null) {
    if (o.cwd instanceof URL) cwd = fileURLToPath(o.cwd);
    else if (typeof o.cwd === "string" && o.cwd !== "") cwd = o.cwd;
    else throw new TypeError(`${where}: \`options.cwd\` must be a path (a non-empty string or a file: URL), got ${show(o.cwd)}`);
  }
  let env: Record<string, string | undefined> | undefined;
  if (o.env != null) {
    if (typeof o.env !== "object") throw new TypeError(`${where}: \`options.env\` must be an object of strings, got ${show(o.env)}`);
    env = { ...o.env };
  }
  const killSignal = o.killSignal == null ? "SIGTERM" : requireSignal(where, "options.killSignal", o.killSignal);
  const killAfterMs = o.killAfterMs == null ? 5_000 : requireDuration(where, "options.killAfterMs", o.killAfterMs);
  return { argv: checked, cwd, env, killSignal, killAfterMs, shell, stdio };
}

/** @internal */
export function requireMode<T extends StdioMode>(where: string, name: string, value: unknown, fallback: T, allowed: readonly T[] = MODES as readonly StdioMode[] as readonly T[]): T {
  return value == null ? fallback : requireOneOf(where, name, value, allowed);
}
