// trellis/threads: CPU work on worker threads, cancelled in both directions. Run with
// `npm run build && node examples/threads.mjs`.
//
// What to notice: calls queue for the 2 workers in FIFO order; the worker reports progress to
// the main thread with callMain, and the handler runs inside the calling task; a deadline
// stops a synchronous loop in the worker at once (checkpointIfCancelled reads shared memory),
// without terminating the worker; an error thrown in the worker keeps its class and
// properties; closing the pool leaves no thread behind.
import { run, moveOnAfter, currentTask, withTaskGroup } from "../dist/index.js";
import { WorkerPool } from "../dist/threads/index.js";

const t0 = performance.now();
const log = (text) => console.log(`  ${String(Math.round(performance.now() - t0)).padStart(4)} ms  ${text}`);

await run(async () => {
  const pool = new WorkerPool(new URL("./workers/crunch.mjs", import.meta.url), {
    size: 2,
    handlers: {
      // Runs in the main thread, inside the task that called pool.run().
      progress: (name, i, n) => log(`${name} ${i}/${n} (handler in task "${currentTask()?.name}")`),
    },
  });
  try {
    await withTaskGroup(async (tg) => {
      for (const name of ["a.png", "b.png", "c.png"]) {
        tg.spawn(async () => log(`done ${await pool.run("resize", [name, 3])}`), { name: `resize ${name}` });
      }
    });

    const started = performance.now();
    const result = await moveOnAfter(50, () => pool.run("spin", [10_000]));
    log(`a 10 s loop under a 50 ms deadline: ${result === undefined ? "cancelled" : "finished"} after ${Math.round(performance.now() - started)} ms`);
    log(`workers replaced so far: ${pool.statistics().replaced} (the loop saw the cancellation and ended by itself)`);

    try {
      await pool.run("fail");
    } catch (err) {
      log(`the worker threw ${err.constructor.name}: ${err.message} (code ${err.code}, cause ${JSON.stringify(err.cause)})`);
    }
    console.log("  statistics:", pool.statistics());
  } finally {
    await pool.close();
  }
});
const left = process.getActiveResourcesInfo().filter((r) => r === "Worker" || r === "MessagePort");
console.log(`  after close: ${left.length} worker handles left`);
