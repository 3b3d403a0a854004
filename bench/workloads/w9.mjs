// W9 — 1,000 short child processes, 16 at a time: 99 in 100 run /bin/true, one in 100 a node
// child (`node -e ""`; a node child costs some 15 /bin/true's, so more would measure node's
// start-up, the same for both systems, and little else).
//
// Measures: wall time from the first spawn until every child has exited and its output has
// been collected. Dominated by the kernel's fork/exec and by node's start-up; what remains is
// what each system adds per child (pipes, exit tracking, output capture). Goal: trellis ≤ 1.1× raw.
//
// raw:     child_process.execFile, promisified (captures stdout and stderr through pipes, as
//          runProcess does by default), from 16 async loops sharing one counter.
// trellis: runProcess(argv) from 16 tasks of one group sharing one counter (the same shape):
//          pipes as trellis streams, the exit as a park, the child tracked by the run.

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { now, trellis } from "../lib.mjs";

export const meta = { n: 1_000, goal: { ms: 1.1 }, what: "n short children (/bin/true, 1 in 100 node -e), 16 at a time" };

const CONCURRENCY = 16;
const TRUE = "/bin/true";
const argvOf = (i) => (i % 100 === 99 ? [process.execPath, ["-e", ""]] : [TRUE, []]);

export async function raw(n) {
  const execFileP = promisify(execFile);
  const t0 = now();
  let next = 0;
  const loop = async () => {
    while (next < n) {
      const [file, args] = argvOf(next++);
      await execFileP(file, args);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, loop));
  return now() - t0;
}

export async function trellis_(n) {
  const { withTaskGroup } = await trellis("withTaskGroup");
  const { runProcess } = await import(new URL("../../dist/process/index.js", import.meta.url).href);
  const t0 = now();
  let next = 0;
  await withTaskGroup(async (tg) => {
    for (let k = 0; k < Math.min(CONCURRENCY, n); k++) {
      tg.spawn(async () => {
        while (next < n) {
          const [file, args] = argvOf(next++);
          await runProcess([file, ...args]);
        }
      });
    }
  });
  return now() - t0;
}

export const systems = { raw, trellis: trellis_ };
