// Seed 004: a long-running program spawns a background task that fails after a while
// (adelayed_boom). "Every other way of spawning tasks, you get your exceptions": threads print
// the traceback and the program goes on. asyncio loses it or shows it late, and a TaskGroup
// "brings down the entire app". Plain Node is the second kind: an unawaited rejection kills the
// process. withSupervisor reports the failure at once, with its stack and task chain, and the
// rest of the program keeps running.
import { spawnSync } from "node:child_process";
import { run, sleep, withSupervisor } from "../../dist/index.js";

export const title = "A background task fails in a long-running program";
export const seed = "004";
export const order = 40;

export async function plain() {
  const program = `
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    async function adelayedBoom() { await sleep(300); null.sense; }
    async function main() {
      console.log("Starting async!");
      adelayedBoom();            // fire and forget, as create_task
      await sleep(600);          // the rest of the program
      console.log("Ending.");
    }
    main();
  `;
  const child = spawnSync(process.execPath, ["-e", program], { encoding: "utf8" });
  console.log(`  ${child.stdout.trim()}`);
  const error = child.stderr.split("\n").find((line) => line.startsWith("TypeError"));
  console.log(`  [stderr] ${error}`);
  console.log(`  (the process exited with status ${child.status}; "Ending." was never printed)`);
  return "the background failure killed the whole program at 300 ms";
}

export async function trellis() {
  await run(
    async function main() {
      const started = performance.now();
      const at = () => `${Math.round((performance.now() - started) / 50) * 50} ms`;
      console.log("  Starting async!");
      await withSupervisor(
        async (sup) => {
          sup.spawn(async function adelayed_boom() {
            await sleep(300);
            null.sense;
          });
          await sleep(600);
          console.log(`  Ending. (at ${at()})`);
        },
        {
          name: "app",
          // Without onError the same report goes to stderr, with the whole stack. Here we show
          // its first lines, indented, with the time it arrived.
          onError(err, task) {
            const lines = err.stack.split("\n");
            const chain = lines.filter((line) => /^\s+(in task|spawned at)/.test(line));
            console.log(`  [${at()}] trellis: task "${task.name}" (#${task.id}) of supervisor "app" failed; the other tasks keep running:`);
            for (const line of [lines[0], lines[1], ...chain]) console.log(`    ${line.trim().startsWith("spawned") ? "  " : ""}${line.trim()}`);
          },
        },
      );
    },
    { handleSignals: false },
  );
  return "the failure was reported at 300 ms with its stack and where the task was spawned, and main ran on to the end";
}
