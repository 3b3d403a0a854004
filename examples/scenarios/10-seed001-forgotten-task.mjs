// Seed 001: "Whenever a coroutine function is run, it might or might not spawn some background
// task… Nothing ensures that the Task execution is joined later on." In JavaScript: a floating
// promise. The function returns, its background work is still pending, and if that work never
// completes its `finally` never runs; if it fails, the error surfaces later with no context.
import { setTimeout as delay } from "node:timers/promises";
import { run, withTaskGroup, sleep } from "../../dist/index.js";

export const title = "The forgotten task: work that outlives the function that started it";
export const seed = "001";
export const order = 10;

export async function plain() {
  const log = [];
  async function syncCache() {
    try {
      await new Promise(() => {}); // waits for an event that never comes
      log.push("synced");
    } finally {
      log.push("cleanup"); // never runs
    }
  }
  async function handleRequest() {
    syncCache(); // floating: nobody awaits it, nobody owns it
    return "200 OK";
  }
  const status = await handleRequest();
  await delay(50);
  console.log(`  handleRequest() returned ${status}; 50 ms later the background task is still pending and its finally never ran: log=${JSON.stringify(log)}`);
  return "the function returned while its task was still running; nothing will ever join it";
}

export async function trellis() {
  const log = [];
  async function syncCache() {
    try {
      await sleep(30);
      log.push("synced");
    } finally {
      log.push("cleanup");
    }
  }
  async function handleRequest() {
    // The task belongs to a group, and the group cannot finish before its tasks.
    await withTaskGroup(async (tg) => {
      tg.spawn(syncCache);
    });
    return "200 OK";
  }
  const status = await run(handleRequest, { handleSignals: false });
  console.log(`  handleRequest() returned ${status} only after its task finished: log=${JSON.stringify(log)}`);
  return "the group owned the task: handleRequest could not return before it, and its finally ran";
}
