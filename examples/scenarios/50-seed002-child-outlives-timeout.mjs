// Seed 002 lists subprocesses among the things asyncio cannot tie to a cancellation. In Node,
// a timeout around `execFile` gives up *waiting* for the child but does not stop it: the child
// finishes its work after the caller has reported failure. trellis's runProcess stops the child
// when its scope is cancelled (SIGTERM, then SIGKILL after killAfterMs) and raises Cancelled
// only once the child has exited.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { setTimeout as delay } from "node:timers/promises";
import { moveOnAfter, run } from "../../dist/index.js";
import { runProcess } from "../../dist/process/index.js";

export const title = "The child that outlives its timeout";
export const seed = "002";
export const order = 50;

const STEP = ["sh", "-c", "sleep 0.3; echo finished"];
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export async function plain() {
  const exec = promisify(execFile);
  const step = exec(STEP[0], STEP.slice(1));
  const pid = step.child.pid;
  const timeout = delay(50).then(() => Promise.reject(new Error("timed out")));
  await Promise.race([step, timeout]).catch((err) => console.log(`  Promise.race: ${err.message} after 50 ms`));
  console.log(`  the caller moved on; child ${pid} still running: ${alive(pid)}`);
  const { stdout } = await step; // (the demo waits for it, so that it leaves nothing behind)
  console.log(`  …and later it printed "${stdout.trim()}" anyway`);
  return "the timeout stopped the waiting, not the child: its work happened after the caller gave up";
}

export async function trellis() {
  let pid;
  const result = await run(
    () => moveOnAfter(50, () => runProcess(STEP, { encoding: "utf8", status: { started: (p) => (pid = p.pid) } })),
    { handleSignals: false },
  );
  console.log(`  moveOnAfter(50) returned ${result}; child ${pid} still running: ${alive(pid)}`);
  return "the deadline stopped the child (SIGTERM, then SIGKILL if needed) and returned only once it had exited";
}
