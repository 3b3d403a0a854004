// Runs a fixture program (test/fixtures/<area>/<name>.mjs) as a child process and watches its
// output: used by the tests of trellis/signals and trellis/process, which need real signals
// sent to a real process running trellis. Fixtures import the built package by name.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: three levels above the compiled test (build/test/<area>), else the cwd. */
function repoRoot(): string {
  const fromBuild = fileURLToPath(new URL("../../../", import.meta.url));
  if (existsSync(join(fromBuild, "package.json")) && existsSync(join(fromBuild, "test", "fixtures"))) return fromBuild;
  return process.cwd();
}

export const ROOT = repoRoot();

export interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Running {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout holds `text` (a string or a pattern); rejects if the process exits first. */
  waitFor(text: string | RegExp): Promise<string>;
  readonly exited: Promise<Outcome>;
}

/** Starts `node test/fixtures/<path> ...args`; a fixture that hangs is killed after `guardMs`. */
export function startFixture(path: string, args: readonly string[] = [], guardMs = 20_000): Running {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // the fixture is a plain program, not a test file
  const child = spawn(process.execPath, [join(ROOT, "test", "fixtures", path), ...args], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const waiters: { match: (s: string) => string | undefined; resolve: (m: string) => void }[] = [];
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    for (const w of waiters.splice(0)) {
      const m = w.match(out);
      if (m !== undefined) w.resolve(m);
      else waiters.push(w);
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  const guard = setTimeout(() => child.kill("SIGKILL"), guardMs);
  const exited = new Promise<Outcome>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(text) {
      const match = (s: string): string | undefined => {
        if (typeof text === "string") return s.includes(text) ? text : undefined;
        return text.exec(s)?.[0];
      };
      const now = match(out);
      if (now !== undefined) return Promise.resolve(now);
      return new Promise<string>((resolve, reject) => {
        waiters.push({ match, resolve });
        void exited.then(() => {
          if (match(out) === undefined) {
            reject(new Error(`fixture ${path} exited before printing ${String(text)}; stdout:\n${out}\nstderr:\n${err}`));
          }
        });
      });
    },
  };
}

/** True if the process ended as `signal` would have ended it (killed by it, or its shell status). */
export function endedBy(outcome: Outcome, signal: "SIGINT" | "SIGTERM" | "SIGHUP"): boolean {
  const status = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 }[signal];
  return outcome.signal === signal || outcome.code === status;
}
