// CapacityLimiter: at most three downloads at once, a deadline that cancels the rest, and a
// limit raised while work is queued. Run with `npm run build && node examples/limiter.mjs`.
//
// What to notice: the "running" count never exceeds the number of tokens; raising
// totalTokens starts a queued download at once; when the deadline passes, running downloads
// are cancelled at their next checkpoint (their `finally` runs) and queued ones leave the line
// without ever taking a token — at the end the limiter is back to 0 borrowed, 0 waiting.
import { CapacityLimiter, currentTime, isCancelled, moveOnAfter, run, sleep, withTaskGroup } from "../dist/index.js";

const limiter = new CapacityLimiter(3);
const durations = [120, 80, 200, 60, 150, 90, 300, 70, 110, 40]; // ms per (fake) download
let running = 0;
let start = 0;
const log = (text) => console.log(`  ${String(Math.round(currentTime() - start)).padStart(4)} ms  ${text}`);

async function download(id, ms) {
  let started = false;
  try {
    await limiter.withToken(async () => {
      started = true;
      running++;
      log(`start  #${id}  (${running} running, ${limiter.statistics().tasksWaiting} waiting)`);
      try {
        await sleep(ms); // the real work would go here: fetch(url, { signal: currentSignal() })
        log(`done   #${id}  after ${ms} ms`);
      } finally {
        running--;
      }
    });
  } catch (err) {
    if (isCancelled(err)) log(started ? `cancelled #${id} while running` : `cancelled #${id} while waiting in line`);
    throw err; // let the cancellation finish its job
  }
}

await run(async () => {
  start = currentTime();
  await moveOnAfter(250, () =>
    withTaskGroup(async (tg) => {
      durations.forEach((ms, i) => tg.spawn(() => download(i + 1, ms), { name: `download #${i + 1}` }));
      await sleep(150);
      limiter.totalTokens = 4;
      log("totalTokens raised to 4");
    }),
  );
  log("deadline passed; every download has finished or been cancelled");
  console.log("  limiter after the run:", limiter.statistics());
});
