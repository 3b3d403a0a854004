// An HTTP server on trellis, driving itself: a client that gives up cancels the work done for
// it, a per-request deadline answers 503 instead of hanging, and a shutdown lets the request in
// flight finish. In a real program the last step is Ctrl-C or SIGTERM: run() cancels the tree,
// serveHttp drains, and the process exits with 130 / 143, with no shutdown code of our own.
import { request } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import { run, withTaskGroup, currentSignal, Event } from "../dist/index.js";
import { serveHttp } from "../dist/http/index.js";

const reportStopped = new Event();

async function handler(req, res) {
  if (req.url === "/report") {
    try {
      // Stands for a database query or a fetch: anything that takes an AbortSignal.
      const rows = await delay(5_000, ["row 1", "row 2"], { signal: currentSignal() });
      res.end(rows.join("\n"));
    } catch (err) {
      console.log(`server: /report stopped after its client left (${err.name}): the query did not run on`);
      reportStopped.set();
      throw err;
    }
  } else if (req.url === "/stuck") {
    await delay(60_000, undefined, { signal: currentSignal() }); // never answers in time
  } else if (req.url === "/work") {
    res.write("started, ");
    await delay(150, undefined, { signal: currentSignal() });
    res.end("finished");
  } else {
    res.statusCode = 404;
    res.end("not found");
  }
}

/** A plain node:http client: resolves with "status body", or "gave up" if it disconnects first. */
function get(url, giveUpAfterMs) {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c) => (body += c));
      res.on("end", () => resolve(`${res.statusCode} ${body}`));
      res.on("error", reject);
    });
    req.on("error", (err) => (req.destroyed && giveUpAfterMs !== undefined ? resolve("gave up") : reject(err)));
    req.end();
    if (giveUpAfterMs !== undefined) setTimeout(() => req.destroy(), giveUpAfterMs);
  });
}

await run(() =>
  withTaskGroup(async (tg) => {
    const { url } = await tg.start(
      (status) => serveHttp(handler, { host: "127.0.0.1", status, requestTimeoutMs: 200, shutdownGraceMs: 5_000 }),
      { name: "http server" },
    );
    console.log(`server: listening on ${url}`);

    // 1. A client gives up after 50 ms: the handler's scope is cancelled, its signal aborts.
    console.log(`client: /report -> ${await get(`${url}report`, 50)}`);
    await reportStopped.wait();

    // 2. A handler that takes too long is cancelled at requestTimeoutMs and answered 503.
    console.log(`client: /stuck -> ${await get(`${url}stuck`)}`);

    // 3. Shutdown while /work is in flight: it finishes, its client gets the whole answer.
    const work = get(`${url}work`);
    await delay(50);
    console.log("server: shutting down (as SIGTERM would)");
    tg.cancel();
    console.log(`client: /work -> ${await work}`);
  }),
);
console.log("server: stopped; every request finished and every socket closed");
