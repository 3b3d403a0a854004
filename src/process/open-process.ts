/**
 * `openProcess`: start a child and get a handle to talk to it.
 *
 * @module
 */
import { checkpoint } from "../core/index.js";
import { planSpawn, requireMode, type OpenProcessOptions } from "./options.js";
import { ProcessEngine } from "./process-engine.js";
import { ProcessFacade, type Process } from "./process.js";

/**
 * Starts `argv[0]` with the arguments `argv.slice(1)` (no shell unless `shell: true`) and
 * returns a {@link Process} handle at once, without waiting for it to finish. Each of
 * `stdin`, `stdout`, `stderr` is `"inherit"` (default), `"ignore"` or `"pipe"` (a trellis
 * stream on the handle). Close the handle in the scope that opened it: `await using`, or
 * `close()` in a `finally`; both terminate a child that still runs and wait for its exit.
 * If the run ends first, the child is killed with SIGKILL.
 *
 * A checkpoint: raises `Cancelled` before starting anything in a cancelled context.
 *
 * @throws {TypeError} For a bad `argv` or option (the message names it).
 * @throws {Error} If the child cannot be started: the message names the missing program or
 *   working directory (Node's error is the `cause`, its `code` is kept).
 * @example
 * ```ts
 * import { openProcess } from "trellis/process";
 * await using proc = await openProcess(["sort"], { stdin: "pipe", stdout: "pipe" });
 * await proc.stdin!.send("b\na\n");
 * await proc.stdin!.close(); // the child's end of input
 * for await (const chunk of proc.stdout!) process.stdout.write(chunk);
 * ```
 */
export async function openProcess(argv: readonly string[], options?: OpenProcessOptions | null): Promise<Process> {
  const where = "openProcess()";
  const stdio = [
    requireMode(where, "options.stdin", options?.stdin, "inherit"),
    requireMode(where, "options.stdout", options?.stdout, "inherit"),
    requireMode(where, "options.stderr", options?.stderr, "inherit"),
  ] as const;
  const plan = planSpawn(where, argv, options, stdio);
  await checkpoint();
  const engine = await ProcessEngine.spawn(where, plan);
  const proc = new ProcessFacade(engine);
  engine.track(proc);
  return proc;
}
