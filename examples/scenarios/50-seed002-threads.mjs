// Seed 002, "Threads are stupid": a thread calls back into the event loop
// (asyncio.run_coroutine_threadsafe), the task that started the thread is cancelled, and the
// callback runs to the end anyway ("as if i would be cancelled!"), while the thread keeps
// burning CPU. In Node the same story is worker_threads: the caller gives up (an
// AbortController), but nothing reaches the worker nor the main-thread callback it asked for.
// trellis/threads carries the cancellation both ways: the worker's synchronous loop sees it
// through shared memory, and the callback (callMainSync's handler) runs inside the calling
// task, so it is cancelled with it; the caller gets Cancelled once the worker's call has ended.
import { MessageChannel, Worker } from "node:worker_threads";
import { setTimeout as delay } from "node:timers/promises";
import { run, moveOnAfter, sleep, isCancelled } from "../../dist/index.js";
import { WorkerPool } from "../../dist/threads/index.js";

export const title = "A worker thread and its callback outlive the cancelled caller";
export const seed = "002";
export const order = 50;

const CPU_MS = 100; // CPU work before and after the callback
const SAVE_MS = 200; // the callback's own wait ("await asyncio.sleep(5)")
const GIVE_UP_MS = 150; // the caller cancels while the callback is running

export async function plain() {
  const worker = new Worker(new URL("../workers/plain-crunch.mjs", import.meta.url));
  const { port1, port2 } = new MessageChannel();
  const lines = [];
  await new Promise((resolve) => worker.once("online", resolve));
  const t0 = performance.now();
  const at = () => `${Math.round(performance.now() - t0)} ms`;
  const controller = new AbortController();
  const done = new Promise((resolve) => {
    worker.on("message", async (m) => {
      if (m.save) {
        await delay(SAVE_MS); // the main-thread callback: nothing tells it the caller is gone
        lines.push(`${at()}: the callback finished "saving" (as if it had not been cancelled)`);
        port1.postMessage("saved");
        Atomics.store(m.flag, 0, 1);
        Atomics.notify(m.flag, 0);
      } else if (m.done) {
        lines.push(`${at()}: the worker finished its CPU work`);
        resolve();
      }
    });
  });
  worker.postMessage({ ms: CPU_MS, reply: port2 }, [port2]);
  const caller = new Promise((resolve, reject) => {
    controller.signal.addEventListener("abort", () => reject(new Error("aborted")));
    done.then(resolve);
  });
  setTimeout(() => controller.abort(), GIVE_UP_MS);
  await caller.catch(() => lines.push(`${at()}: the caller gave up (AbortController)`));
  await done;
  await worker.terminate();
  port1.close();
  for (const line of lines) console.log(`  ${line}`);
  return "the caller gave up, but the worker and the callback it asked for both ran to the end";
}

export async function trellis() {
  const lines = [];
  let t0 = 0;
  const at = () => `${Math.round(performance.now() - t0)} ms`;
  await run(
    async () => {
      const pool = new WorkerPool(new URL("../workers/crunch.mjs", import.meta.url), {
        size: 1,
        handlers: {
          save: async () => {
            try {
              await sleep(SAVE_MS);
              lines.push(`${at()}: the callback finished "saving"`);
            } catch (err) {
              if (isCancelled(err)) lines.push(`${at()}: the callback was cancelled with its caller`);
              throw err;
            }
          },
        },
      });
      try {
        await pool.run("spin", [1]); // start the worker before the clock matters
        t0 = performance.now();
        const result = await moveOnAfter(GIVE_UP_MS, () => pool.run("crunchAndSave", [CPU_MS]));
        lines.push(
          `${at()}: the caller got ${result === undefined ? "Cancelled" : "a result"} (deadline ${GIVE_UP_MS} ms), once the worker's call had ended (workers replaced: ${pool.statistics().replaced})`,
        );
      } finally {
        await pool.close();
      }
    },
    { handleSignals: false },
  );
  for (const line of lines) console.log(`  ${line}`);
  return "the deadline cancelled the callback in the main thread and the call in the worker; nothing ran on unobserved";
}
