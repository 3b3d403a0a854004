// Handlers written for node:http work unchanged: an Express app is served by serveHttp, its
// routes run inside the request's task (trellis waits, currentSignal(), disconnects), and a
// shutdown waits for a route still answering.
import { test } from "node:test";
import assert from "node:assert/strict";
import express from "express";
import { currentSignal, currentTask, Event, isCancelled, sleep, sleepForever } from "../../src/index.js";
import { assertNothingLeft, baseline, get, rawConnect, withServer } from "./support.js";

test("an Express app runs unchanged: routes and middleware in the request's task, a disconnect cancels a route, shutdown waits for a route", async () => {
  const before = baseline();
  const inRoute = new Event();
  const routeEnded = new Event();
  const slowStarted = new Event();
  let cancelledWith = "";
  const app = express();
  app.use((_req, res, next) => {
    res.setHeader("X-Task", currentTask()!.name);
    next();
  });
  app.get("/json/:id", (req, res) => {
    res.json({ id: req.params.id });
  });
  app.get("/wait", async () => {
    const signal = currentSignal();
    inRoute.set();
    try {
      await sleepForever();
    } catch (err) {
      cancelledWith = `${isCancelled(err)} ${signal.aborted}`;
      throw err;
    } finally {
      routeEnded.set();
    }
  });
  app.get("/slow", async (_req, res) => {
    slowStarted.set();
    await sleep(50);
    res.send("slow done");
  });

  // Express catches what a route throws, Cancelled included, and passes it to its error
  // handlers (its default one prints it and answers 500): answer a cancelled route here.
  app.use((err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (!isCancelled(err)) return next(err);
    if (!res.headersSent) res.status(503).end();
    else res.destroy();
  });

  await withServer(app, { shutdownGraceMs: 10_000 }, async (info, tg) => {
    const json = await get(info.url, "/json/7");
    assert.deepEqual([json.status, JSON.parse(json.body), json.headers["x-task"]], [200, { id: "7" }, "GET /json/7"]);

    const socket = await rawConnect(info);
    socket.write("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
    await inRoute.wait();
    socket.destroy();
    await routeEnded.wait();
    assert.equal(cancelledWith, "true true");

    const slow = get(info.url, "/slow");
    await slowStarted.wait();
    tg.cancel();
    const reply = await slow;
    assert.deepEqual([reply.status, reply.body], [200, "slow done"]);
  });
  await assertNothingLeft(before);
});
