// The README's example: two tasks in a group, one fails, the other is cancelled and cleans up,
// and the error reaches the caller only after both have finished.
import { run, withTaskGroup, sleep } from "../dist/index.js";

await run(async () => {
  try {
    await withTaskGroup(async (tg) => {
      tg.spawn(async function heartbeat() {
        try {
          for (;;) await sleep(100);
        } finally {
          console.log("heartbeat: cancelled, cleaned up");
        }
      });
      tg.spawn(async function fetchConfig() {
        await sleep(250);
        throw new Error("config server unreachable");
      });
    });
  } catch (err) {
    console.log(`group failed with: ${err.message} (after every task had finished)`);
  }
});
