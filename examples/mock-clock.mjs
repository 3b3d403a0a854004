// Testing time-dependent code with trellis/testing: a retry loop with exponential backoff
// checked in virtual time, a watchdog driven step by step with jump() and
// waitAllTasksBlocked(), and assertCheckpoints() catching an async function that is not a
// checkpoint. Run with `npm run build && node examples/mock-clock.mjs` (docs/testing.md).
//
// What to notice: 15 s of backoff take a few real milliseconds; the watchdog test says
// exactly when it stalls (50 000 ms, not "about then"); nothing here sleeps in real time
// to "let the other task get there".
import assert from "node:assert/strict";
import { checkpoint, currentTime, moveOnAfter, openChannel, run, sleep, withTaskGroup } from "../dist/index.js";
import { MockClock, assertCheckpoints, waitAllTasksBlocked } from "../dist/testing/index.js";

// ---- the code under test ---------------------------------------------------------------

/** Calls `fn(attempt)` until it succeeds, waiting backoffMs, 2×, 4×… between attempts. */
async function withRetries(fn, { attempts = 5, backoffMs = 1_000 } = {}) {
  await checkpoint(); // a checkpoint even when the first attempt succeeds at once (part 3)
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt + 1 >= attempts) throw err;
      await sleep(backoffMs * 2 ** attempt);
    }
  }
}

/** Returns once no heartbeat has arrived for `silenceMs`. */
async function watchdog(heartbeats, silenceMs) {
  for (;;) {
    const beat = await moveOnAfter(silenceMs, () => heartbeats.receive());
    if (beat === undefined) return `stalled at ${currentTime()} ms`;
  }
}

// ---- 1. autojump: the clock jumps to the next deadline whenever every task is blocked ----

console.log("1. a retry loop with 15 s of backoff, under autojump");
const realStart = performance.now();
const attemptsAt = [];
const result = await run(
  () =>
    withRetries(async (attempt) => {
      attemptsAt.push(currentTime());
      if (attempt < 4) throw new Error("flaky");
      return "ok";
    }),
  { clock: new MockClock({ autojumpThreshold: 0 }) },
);
console.log(`  attempts at ${attemptsAt.join(", ")} virtual ms → ${result}`);
console.log(`  in ${(performance.now() - realStart).toFixed(1)} real ms`);
assert.deepEqual(attemptsAt, [0, 1_000, 3_000, 7_000, 15_000]);

// ---- 2. a stopped clock, moved by hand -------------------------------------------------

console.log("2. a watchdog, driven step by step");
const clock = new MockClock(); // rate 0: time moves only when we jump it
await run(
  () =>
    withTaskGroup(async (tg) => {
      const [send, receive] = openChannel(0);
      const verdict = tg.spawn(() => watchdog(receive, 30_000));
      await waitAllTasksBlocked(); // the watchdog is waiting for a beat
      clock.jump(20_000);
      await send.send("beat"); // taken at 20 s…
      await waitAllTasksBlocked(); // …and the watchdog has opened its next 30 s window
      clock.jump(29_999);
      await waitAllTasksBlocked();
      console.log(`  at ${currentTime()} ms the watchdog is still ${verdict.state}`);
      assert.equal(verdict.state, "running");
      clock.jump(1);
      const said = await verdict.result();
      console.log(`  one ms later: ${said}`);
      assert.equal(said, "stalled at 50000 ms");
    }),
  { clock },
);

// ---- 3. assertCheckpoints: is an async function a checkpoint on its fast path? ----------

console.log("3. assertCheckpoints");
await assertCheckpoints(() => withRetries(async () => "at once"));
console.log("  withRetries is a checkpoint even when the first attempt succeeds at once");
async function naiveRetries(fn) {
  return await fn(0); // no checkpoint of its own: a cancelled caller is not noticed here
}
await assert.rejects(assertCheckpoints(() => naiveRetries(async () => "at once")), (err) => {
  console.log(`  without its first checkpoint() it is not: ${err.message.split(" (it returned")[0]}`);
  return err.name === "AssertionError";
});
