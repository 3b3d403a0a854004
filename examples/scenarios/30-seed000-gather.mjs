// Seed 000: "an exception in one of the inner tasks does not cause the cancellation of all other
// tasks" — asyncio.gather. Promise.all has the same flaw: it rejects on the first failure and
// leaves the other operations running, unowned, with their side effects still to come.
// trellis's all() cancels the others and waits for them (their finally blocks have run) before
// it throws.
import { setTimeout as delay } from "node:timers/promises";
import { all, run, sleep } from "../../dist/index.js";

export const title = "gather / Promise.all: one fails, the others run on";
export const seed = "000";
export const order = 30;

function clock() {
  const started = performance.now();
  return () => `${Math.round((performance.now() - started) / 50) * 50} ms`;
}

export async function plain() {
  const events = [];
  const at = clock();
  const fetchUser = async () => {
    await delay(300);
    events.push(`fetchUser finished at ${at()}`);
  };
  const fetchOrders = async () => {
    await delay(100);
    throw new Error("orders service is down");
  };
  const savePrices = async () => {
    await delay(300);
    events.push(`savePrices wrote to the database at ${at()}`);
  };
  try {
    await Promise.all([fetchUser(), fetchOrders(), savePrices()]);
  } catch (err) {
    events.push(`Promise.all threw "${err.message}" at ${at()}`);
  }
  await delay(300); // the caller has moved on; watch what still happens
  console.log(`  ${events.join("\n  ")}`);
  return "the caller got the error at 100 ms; the other two ran on and wrote to the database at 300 ms";
}

export async function trellis() {
  const events = [];
  await run(
    async () => {
      const at = clock();
      const fetchUser = async () => {
        try {
          await sleep(300);
          events.push(`fetchUser finished at ${at()}`);
        } finally {
          events.push(`fetchUser's finally ran at ${at()}`);
        }
      };
      const fetchOrders = async () => {
        await sleep(100);
        throw new Error("orders service is down");
      };
      const savePrices = async () => {
        try {
          await sleep(300);
          events.push(`savePrices wrote to the database at ${at()}`);
        } finally {
          events.push(`savePrices's finally ran at ${at()}`);
        }
      };
      try {
        await all([fetchUser, fetchOrders, savePrices]);
      } catch (err) {
        events.push(`all() threw "${err.message}" at ${at()}`);
      }
      await sleep(300); // nothing of the other two is left to happen
    },
    { handleSignals: false },
  );
  console.log(`  ${events.join("\n  ")}`);
  return "the others were cancelled, and their finally blocks had run before all() threw; nothing wrote late";
}
