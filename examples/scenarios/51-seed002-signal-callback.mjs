// Seed 002: asyncio's signal API is a callback (loop.add_signal_handler), where Trio has a
// scoped receiver you iterate. Node's is a callback too, with a trap: a `process.on("SIGINT")`
// listener replaces the default action, so Ctrl-C silently stops ending the program, for good.
// trellis's openSignalReceiver hands signals over as values in a loop, only while its function
// runs; afterwards every listener is gone and Ctrl-C works again.
import { setTimeout as delay } from "node:timers/promises";
import { run } from "../../dist/index.js";
import { openSignalReceiver } from "../../dist/signals/index.js";

export const title = "The signal handler that swallows Ctrl-C";
export const seed = "002";
export const order = 51;

export async function plain() {
  const onSigint = () => console.log("  listener: SIGINT (meant to clean up and exit)");
  process.on("SIGINT", onSigint); // e.g. added by a library, to flush its logs
  process.kill(process.pid, "SIGINT"); // Ctrl-C
  await delay(50);
  console.log(`  the program is still running after Ctrl-C; listeners on SIGINT: ${process.listenerCount("SIGINT")}, installed for good`);
  process.removeListener("SIGINT", onSigint); // (the demo cleans up; real code rarely does)
  return "one listener anywhere turned Ctrl-C into a no-op, and nothing ties it to the code that needed it";
}

export async function trellis() {
  const got = await run(
    () =>
      openSignalReceiver(["SIGINT"], async (signals) => {
        process.kill(process.pid, "SIGINT"); // Ctrl-C
        for await (const signal of signals) return signal;
      }),
    { handleSignals: false },
  );
  console.log(`  received ${got} as a value in a loop; listeners on SIGINT afterwards: ${process.listenerCount("SIGINT")}`);
  return "signals are values, in order, in the scope that wants them; leaving it restores Ctrl-C";
}
