// trellis/debug: what is every task of my program waiting on?
//
// A small service: a "db" task holds a lock, a "writer" waits for it, a "consumer" waits on a
// channel named "jobs", a "retry" task sleeps inside a 5 s timeout. formatTaskTree() draws the
// run's live tasks; serveTaskTree() serves the same tree as a web page (open the URL it prints
// while the program runs; here we fetch its JSON once and stop).
//
// Run it: node examples/debug-tree.mjs   (with debug: true, `kill -USR2 <pid>` prints the tree too)
import { run, withTaskGroup, Lock, openChannel, sleep, sleepForever, moveOnAfter } from "trellis";
import { formatTaskTree, serveTaskTree } from "trellis/debug";
import { waitAllTasksBlocked } from "trellis/testing";

await run(
  () =>
    withTaskGroup(
      async (tg) => {
        const { url } = await tg.start((status) => serveTaskTree({ status }), { name: "task tree page" });
        console.log(`task tree page at ${url} (JSON at ${url}tree.json)\n`);

        const lock = new Lock();
        const [send, receive] = openChannel(0, { name: "jobs" });
        tg.spawn(async function db() { await lock.acquire(); await sleepForever(); }, { name: "db" });
        tg.spawn(async function writer() { await lock.acquire(); }, { name: "writer" }); // db got it first
        tg.spawn(async function consumer() { for await (const job of receive) console.log(job); }, { name: "consumer" });
        tg.spawn(() => moveOnAfter(5_000, () => sleep(60_000)), { name: "retry" });
        await waitAllTasksBlocked();

        process.stdout.write(formatTaskTree());

        const tree = await (await fetch(`${url}tree.json`)).json();
        console.log(`\n/tree.json lists ${tree.taskCount} live tasks`);
        send.close(); // the consumer's loop ends
        tg.cancel(); // and the rest is cancelled
      },
      { name: "service" },
    ),
  { debug: true },
);
