/**
 * Why a child could not be started, said plainly: Node reports a missing program and a missing
 * working directory both as `spawn <program> ENOENT`, which names the wrong culprit half the time.
 *
 * @module
 */
import { statSync } from "node:fs";

/** A spawn failure as an Error naming the program or the directory; Node's error is the `cause`. @internal */
export function describeSpawnError(where: string, argv: readonly string[], cwd: string | undefined, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const program = argv[0]!;
  let message: string;
  if (cwd !== undefined && (code === "ENOENT" || code === "ENOTDIR") && !isDirectory(cwd)) {
    message = `${where}: the working directory ${JSON.stringify(cwd)} (option \`cwd\`) does not exist or is not a directory, so ${JSON.stringify(program)} could not be started`;
  } else if (code === "ENOENT") {
    message = program.includes("/")
      ? `${where}: program ${JSON.stringify(program)} not found: no such file`
      : `${where}: program ${JSON.stringify(program)} not found on the PATH; check its spelling, install it, or give its full path`;
  } else if (code === "EACCES") {
    message = `${where}: program ${JSON.stringify(program)} could not be run: permission denied (is it executable? is it a directory?)`;
  } else {
    const text = err instanceof Error ? err.message : String(err);
    message = `${where}: could not start ${JSON.stringify(program)}: ${text}`;
  }
  const error = new Error(message, { cause: err });
  if (code !== undefined) Object.assign(error, { code, path: program });
  return error;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
