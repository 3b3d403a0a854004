// An Express app served by serveHttp, unchanged: serveHttp calls it as node:http would, and
// each request runs as its own trellis task, so routes can use trellis waits, deadlines and
// currentSignal(), and a shutdown waits for the requests in flight.
import { request } from "node:http";
import express from "express";
import { run, withTaskGroup, sleep, currentTask, currentSignal, moveOnAfter, isCancelled } from "../dist/index.js";
import { serveHttp } from "../dist/http/index.js";

const app = express();
app.use(express.json());
app.use((req, res, next) => {
  res.setHeader("X-Task", currentTask().name); // middleware runs inside the request's task
  next();
});
app.get("/users/:id", async (req, res) => {
  // A lookup with its own deadline; `signal` would go to fetch() or a database driver.
  const signal = currentSignal();
  const user = await moveOnAfter(100, async () => {
    await sleep(10);
    return { id: req.params.id, name: "Ada", aborted: signal.aborted };
  });
  res.json(user ?? { error: "lookup timed out" });
});
app.post("/echo", (req, res) => res.json({ youSent: req.body }));
app.get("/fail", async () => {
  throw new Error("Express 5 passes a rejected route to its error handlers");
});
// Express catches what a route throws — a Cancelled too (the client left, requestTimeoutMs
// passed, the server is shutting down) — and hands it to its error handlers.
app.use((err, req, res, next) => {
  if (isCancelled(err)) return res.headersSent ? res.destroy() : res.status(503).end();
  res.status(500).json({ error: err.message });
});

function call(url, method = "GET", body) {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { "Content-Type": "application/json" };
    const req = request(url, { method, headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (c) => (text += c));
      res.on("end", () => resolve(`${res.statusCode} [task ${res.headers["x-task"]}] ${text.split("\n")[0]}`));
    });
    req.on("error", reject);
    req.end(body);
  });
}

await run(() =>
  withTaskGroup(async (tg) => {
    const { url } = await tg.start((status) => serveHttp(app, { host: "127.0.0.1", status }));
    console.log(await call(`${url}users/7`));
    console.log(await call(`${url}echo`, "POST", JSON.stringify({ hello: "world" })));
    console.log(await call(`${url}fail`));
    tg.cancel();
  }),
);
