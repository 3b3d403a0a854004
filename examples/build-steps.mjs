// A build tool in miniature: steps run as child processes, some one after the other, some side
// by side, all under one deadline. Run with `npm run build && node examples/build-steps.mjs`.
//
// What to notice: a failing step is a ProcessError carrying its exit code and what it wrote to
// stderr; steps in a task group run at once and a failure among them stops the others; when a
// deadline passes, the running step is stopped (SIGTERM, then SIGKILL if it ignores that) and
// the build goes on only once the child has exited — no step keeps running behind our back.
import { currentTime, isCancelled, moveOnAfter, run, withTaskGroup } from "../dist/index.js";
import { ProcessError, runProcess } from "../dist/process/index.js";

let start = 0;
const log = (text) => console.log(`  ${String(Math.round(currentTime() - start)).padStart(5)} ms  ${text}`);
const procs = []; // every child started, as its Process
const pids = [];
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** One build step: a command whose output is captured; `status` records the pid. */
async function step(name, argv, options = {}) {
  log(`${name}: start`);
  const result = await runProcess(argv, { encoding: "utf8", ...options, status: { started: (p) => (procs.push(p), pids.push(p.pid)) } });
  log(`${name}: ok — ${result.stdout.trim()}`);
  return result;
}

await run(async () => {
  start = currentTime();
  const finished = await moveOnAfter(10_000, async () => {
    await step("lint", ["sh", "-c", "echo 12 files clean"]);

    // Independent steps side by side; the group waits for both.
    await withTaskGroup(async (tg) => {
      tg.spawn(() => step("compile core", ["sh", "-c", "sleep 0.1; echo core.js written"]));
      tg.spawn(() => step("compile cli", ["sh", "-c", "sleep 0.05; echo cli.js written"]));
    });

    // A failing step: its code and stderr are in the error.
    try {
      await step("unit tests", ["sh", "-c", "echo 'expected 3, got 4 (math.test.js:12)' >&2; exit 1"]);
    } catch (err) {
      if (!(err instanceof ProcessError)) throw err;
      log(`unit tests: failed with code ${err.code}; stderr: ${err.stderr.trim()}`);
    }

    // A step that hangs, with its own deadline: stopped, and gone before we go on.
    const hung = await moveOnAfter(300, () => step("integration", ["sh", "-c", "exec sleep 30"]));
    if (hung === undefined) log(`integration: over its 300 ms budget; stopped by ${procs.at(-1).signal} (alive: ${alive(pids.at(-1))})`);

    // One that ignores SIGTERM gets SIGKILL after killAfterMs.
    const stubborn = await moveOnAfter(200, () =>
      step("e2e", ["sh", "-c", "trap '' TERM; exec sleep 30"], { killAfterMs: 200 }).catch((err) => {
        if (!isCancelled(err)) throw err;
        // SIGKILL, unless the SIGTERM came before the step's shell had set its trap.
        log(`e2e: over its 200 ms budget; stopped by ${procs.at(-1).signal} (alive: ${alive(pids.at(-1))})`);
        throw err;
      }),
    );
    if (stubborn !== undefined) throw new Error("e2e should have been stopped");
    return true;
  });
  log(finished ? "build finished" : "build deadline passed");
});

const left = pids.filter(alive);
console.log(`  children started: ${pids.length}, still running after run(): ${left.length}`);
if (left.length > 0) process.exit(1);
