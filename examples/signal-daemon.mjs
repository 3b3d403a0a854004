// A daemon that reloads its configuration on SIGHUP and shuts down cleanly on SIGTERM, with
// signals received as values in a loop instead of callbacks. It tests itself: it sends itself
// a SIGHUP, then a SIGTERM, and exits 0. Run with `npm run build && node examples/signal-daemon.mjs`
// (or leave out the self-test and try `kill -HUP <pid>` by hand).
//
// What to notice: the worker keeps running while the config is reloaded between two of its
// steps; SIGTERM, which would otherwise end the process at once (or, under run(), cancel
// everything), reaches the loop as a value, so shutdown is ordinary code: cancel the workers,
// let their `finally` blocks run, return. Afterwards no signal listener is left.
import { run, sleep, withTaskGroup } from "../dist/index.js";
import { openSignalReceiver } from "../dist/signals/index.js";

const log = (text) => console.log(`  ${text}`);
let generation = 0;
const loadConfig = () => ({ generation: ++generation, greeting: generation === 1 ? "hello" : "bonjour" });

await run(async () => {
  let config = loadConfig();
  log(`pid ${process.pid}, config generation ${config.generation}`);
  await openSignalReceiver(["SIGHUP", "SIGTERM"], async (signals) => {
    await withTaskGroup(async (tg) => {
      tg.spawn(async function worker() {
        try {
          for (let job = 1; ; job++) {
            log(`worker: job ${job} says "${config.greeting}"`);
            await sleep(40);
          }
        } finally {
          log("worker: stopped, finishing up");
        }
      });

      // The self-test: what an operator would do from a shell.
      tg.spawn(async function operator() {
        await sleep(100);
        log("operator: kill -HUP");
        process.kill(process.pid, "SIGHUP");
        await sleep(100);
        log("operator: kill -TERM");
        process.kill(process.pid, "SIGTERM");
      });

      for await (const signal of signals) {
        if (signal === "SIGHUP") {
          config = loadConfig();
          log(`SIGHUP: reloaded, config generation ${config.generation}`);
        } else {
          log("SIGTERM: shutting down");
          tg.cancel();
          break;
        }
      }
    });
  });
  log("stopped cleanly");
});
log(`after run(): SIGHUP listeners ${process.listenerCount("SIGHUP")}, SIGTERM listeners ${process.listenerCount("SIGTERM")}`);
