// Seed 002: asyncio's cancellation is edge-triggered: after task.cancel(), a `finally` that
// awaits (here: a 500 ms sleep standing for "send QUIT and wait for the ack") runs to the end,
// and can deadlock if the peer is gone. JavaScript has no cancellation at all: an aborted
// operation's cleanup awaits whatever it likes. trellis is level-triggered: inside a cancelled
// scope every checkpoint raises again, so the cleanup's sleep is cancelled at once; a cleanup
// that must run opens a shielded scope with its own short deadline.
import { setTimeout as delay } from "node:timers/promises";
import { run, withTaskGroup, sleep, moveOnAfter, isCancelled } from "../../dist/index.js";

export const title = "The finally that sleeps after a cancel";
export const seed = "002";
export const order = 11;

export async function plain() {
  const controller = new AbortController();
  const started = performance.now();
  let cleanupMs = 0;
  const task = (async () => {
    try {
      await delay(60_000, undefined, { signal: controller.signal });
    } catch {
      // aborted
    } finally {
      const t = performance.now();
      await delay(500); // "send QUIT and wait for the ack": nothing stops it
      cleanupMs = performance.now() - t;
    }
  })();
  await delay(20);
  controller.abort();
  await task;
  console.log(`  after abort(), the cleanup still slept ${cleanupMs.toFixed(0)} ms (task ended ${(performance.now() - started).toFixed(0)} ms after start)`);
  return "the cancellation was a one-off event: the cleanup's own wait ran to the end (a dead peer would hang it)";
}

export async function trellis() {
  const lines = [];
  await run(
    async () => {
      await withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          try {
            await sleep(60_000);
          } finally {
            const t = performance.now();
            try {
              await sleep(500); // raises Cancelled at once: the scope is still cancelled
            } catch (err) {
              lines.push(`cleanup's sleep raised ${isCancelled(err) ? "Cancelled" : err} after ${(performance.now() - t).toFixed(0)} ms`);
            }
            const t2 = performance.now();
            await moveOnAfter(100, () => sleep(500), { shield: true }); // bounded graceful cleanup
            lines.push(`a shielded cleanup with a 100 ms budget ran for ${(performance.now() - t2).toFixed(0)} ms`);
          }
        });
        await sleep(20);
        tg.cancel();
      });
    },
    { handleSignals: false },
  );
  for (const line of lines) console.log(`  ${line}`);
  return "level-triggered: waits in cleanup are cancelled too; a shield plus a deadline makes graceful cleanup bounded";
}
