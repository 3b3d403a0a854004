// One task per event: an HTTP server whose requests each take a CapacityLimiter token and a
// Lock. Run with `npm run build && node examples/per-event-tasks.mjs` (docs/sync.md).
//
// The rule: a callback registered inside a task runs as that task. `http.createServer`'s
// callback set up in `main` makes every request "task main", so a limiter or lock used per
// request sees one borrower for all of them: the second concurrent request is refused ("task
// main already holds a token"). The fix is a task per event, spawned into a group:
//   1. from the callback itself: `tg.spawn(() => handle(req, res))`;
//   2. or from a loop over `events.on(server, "request", { signal: currentSignal() })`.
//
// What to notice: in part 0 the second request gets a 500; in parts 1 and 2 every request is
// served, never more than two at once, each by a task of its own, and everything closes
// before run() returns.
import http from "node:http";
import { on, once } from "node:events";
import {
  CapacityLimiter,
  Event,
  Lock,
  all,
  checkpointIfCancelled,
  currentSignal,
  currentTask,
  run,
  sleep,
  wait,
  withTaskGroup,
} from "../dist/index.js";

const limiter = new CapacityLimiter(2); // at most two requests at work at once
const ledger = new Lock(); // guards the shared count
let served = 0;
let atWork = 0;
let mostAtWork = 0;
// The work of each request waits until all three requests have arrived, so that they really
// overlap, however slowly the machine opens the connections.
let arrivals = 0;
let allArrived = new Event();
function arrive() {
  if (++arrivals === 3) allArrived.set();
}

/** The per-request work: a token of the limiter, some async work, a short critical section. */
async function handle(req, res) {
  await limiter.withToken(async () => {
    mostAtWork = Math.max(mostAtWork, ++atWork);
    try {
      await allArrived.wait();
      await sleep(5); // the real work: a query, a fetch(url, { signal: currentSignal() })…
      await ledger.withLock(async () => {
        served++;
        await sleep(1);
      });
      res.end(`${req.url} served by task "${currentTask()?.name}"`);
    } finally {
      atWork--;
    }
  });
}

/** GET http://127.0.0.1:port/path, cancellable: the socket is destroyed if the caller is cancelled. */
function get(port, path) {
  return wait(
    new Promise((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port, path, agent: false, signal: currentSignal() }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk) => (body += chunk));
          res.on("end", () => resolve(`${res.statusCode} ${body}`));
          res.on("error", reject);
        })
        .on("error", reject);
    }),
  );
}

/** Starts `server` on a free loopback port, runs three requests at once, then closes it. */
async function exercise(server, label) {
  console.log(label);
  served = arrivals = 0;
  allArrived = new Event();
  server.listen(0, "127.0.0.1");
  await wait(once(server, "listening"));
  const { port } = server.address();
  try {
    const replies = await all(["/a", "/b", "/c"].map((path) => () => get(port, path)));
    for (const reply of replies) console.log(`  ${reply}`);
    return replies;
  } finally {
    server.close();
    await wait(once(server, "close"));
  }
}

await run(
  async () => {
    // ---- 0. what goes wrong: the callback runs as task "main" -----------------------------
    const naive = http.createServer((req, res) => {
      arrive();
      handle(req, res).catch((err) => {
        res.statusCode = 500;
        res.end(err.message.split(";")[0]);
      });
    });
    const replies = await exercise(naive, "0. handle() called from the callback: every request is task main");
    if (!replies.some((r) => r.startsWith("500") && r.includes("already holds a token"))) {
      throw new Error("expected the naive server to refuse a concurrent request");
    }

    // ---- 1. a task per event, spawned from the callback -------------------------------------
    await withTaskGroup(async (tg) => {
      const server = http.createServer((req, res) => {
        arrive();
        tg.spawn(() => handle(req, res), { name: `request ${req.url}` });
      });
      await exercise(server, "1. tg.spawn() from the callback: one task per request");
    });
    if (served !== 3) throw new Error(`part 1 served ${served} requests, expected 3`);

    // ---- 2. a task per event, from events.on() driven by the group's signal -----------------
    await withTaskGroup(async (tg) => {
      const server = http.createServer();
      const acceptor = tg.spawn(
        async () => {
          try {
            for await (const [req, res] of on(server, "request", { signal: currentSignal() })) {
              arrive();
              tg.spawn(() => handle(req, res), { name: `request ${req.url}` });
            }
          } catch (err) {
            checkpointIfCancelled(); // aborted by our cancellation: raise Cancelled, not Node's AbortError
            throw err;
          }
        },
        { name: "accept loop" },
      );
      await exercise(server, "2. events.on(server, 'request', { signal: currentSignal() }) feeding tg.spawn()");
      acceptor.cancel(); // stop listening for events; the group then finishes
    });
    if (served !== 3) throw new Error(`part 2 served ${served} requests, expected 3`);
    if (mostAtWork > 2) throw new Error(`${mostAtWork} requests at work at once with 2 tokens`);
    console.log(`at most ${mostAtWork} requests at work at once; limiter back to ${limiter.borrowedTokens} borrowed`);
  },
  { handleSignals: false },
);
