// tg.spawn(fn, { limiter }): a thousand downloads, at most 8 at a time, and the ones that wait
// have not started. Run with `npm run build && node examples/limited-spawn.mjs`
// (docs/task-groups.md, "Tasks that wait for a token").
//
// What to notice: never more than 8 bodies run at once; the queued tasks are in the group all
// along (the debug tree shows them waiting for a token); when one download fails, the group is
// cancelled and the tasks still waiting end `cancelled` without ever starting. Each body sees
// the request id the spawner had in its AsyncLocalStorage.
import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { CapacityLimiter, run, sleep, withTaskGroup } from "../dist/index.js";
import { taskTree } from "../dist/debug/index.js";

const requestId = new AsyncLocalStorage();
const limiter = new CapacityLimiter(8);
let running = 0;
let most = 0;
let started = 0;

async function download(n) {
  started++;
  running++;
  most = Math.max(most, running);
  assert.equal(requestId.getStore(), "req-42");
  try {
    await sleep(1 + (n % 3)); // the work
    if (n === 300) throw new Error(`download ${n} failed`);
  } finally {
    running--;
  }
}

const tasks = [];
try {
  await run(() =>
    withTaskGroup(async (tg) => {
      requestId.run("req-42", () => {
        for (let n = 0; n < 1000; n++) tasks.push(tg.spawn(() => download(n), { name: `download ${n}`, limiter }));
      });
      await sleep(0);
      const waiting = taskTree().root.children.filter((t) => t.waitingOn?.startsWith("waiting for a token"));
      console.log(`${waiting.length} tasks wait for a token, e.g. ${JSON.stringify(waiting[0].name)}: ${waiting[0].waitingOn}`);
    }),
  );
} catch (err) {
  console.log(`the group failed: ${err.message}`);
}

const count = (state) => tasks.filter((t) => t.state === state).length;
console.log(`at most ${most} ran at once; ${started} started; ${count("done")} done, ${count("failed")} failed, ${count("cancelled")} cancelled`);
assert.ok(most <= 8);
assert.ok(started < 1000, "the tasks still queued when the failure came never started");
assert.equal(limiter.borrowedTokens, 0);
