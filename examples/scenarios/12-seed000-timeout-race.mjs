// Seed 000: asyncio.wait_for built timeouts from a race and could swallow a cancellation
// (CPython issue 86296). The JavaScript idiom, Promise.race([work, timeout]), is worse: the
// timeout "wins", and the work keeps running in the background, with its side effects.
// trellis's timeouts are deadline scopes, never races: the work is cancelled and has finished
// (its finally has run) before moveOnAfter returns.
import { setTimeout as delay } from "node:timers/promises";
import { run, moveOnAfter, sleep } from "../../dist/index.js";

export const title = "The timeout built from a race";
export const seed = "000";
export const order = 12;

export async function plain() {
  const events = [];
  const started = performance.now();
  const at = () => `${Math.round((performance.now() - started) / 10) * 10} ms`;
  async function chargeCard() {
    await delay(150);
    events.push(`card charged at ${at()}`);
    return "receipt";
  }
  const timeout = delay(50).then(() => "timeout");
  const outcome = await Promise.race([chargeCard(), timeout]);
  events.push(`race returned "${outcome}" at ${at()}`);
  await delay(200);
  console.log(`  ${events.join("; ")}`);
  return "the caller was told it timed out, and the card was charged anyway, 100 ms later";
}

export async function trellis() {
  const events = [];
  await run(
    async () => {
      const started = performance.now();
      const at = () => `${Math.round((performance.now() - started) / 10) * 10} ms`;
      async function chargeCard() {
        try {
          await sleep(150);
          events.push(`card charged at ${at()}`);
          return "receipt";
        } finally {
          events.push(`chargeCard's finally ran at ${at()}`);
        }
      }
      const outcome = await moveOnAfter(50, chargeCard);
      events.push(`moveOnAfter returned ${outcome} at ${at()}`);
      await sleep(200);
    },
    { handleSignals: false },
  );
  console.log(`  ${events.join("; ")}`);
  return "the deadline cancelled the work; it had finished before moveOnAfter returned, and never charged the card";
}
