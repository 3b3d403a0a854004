// Work shared by processes through Redis, surviving a worker that dies mid-job. Run with
// `npm run build && node examples/redis-workers.mjs` (needs redis-server; docs/distributed.md).
//
// The producer (this process) starts its own redis-server on a free port and two worker
// processes (this file again, with `worker`), and queues 20 jobs on the stream "jobs". Worker
// "a" is killed with SIGKILL in the middle of its third job: no finally, no close, no goodbye.
// Its job stays pending under "a" in the consumer group; once it has been idle for
// claimIdleMs (500 ms here), worker "b" claims it (XAUTOCLAIM) and does it, delivery 2.
//
// What to notice: every job is done and acknowledged exactly once; the job "a" died on is
// done by "b" with `deliveries: 2`; nothing is left pending in Redis.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createClient } from "redis";
import { run, sleep } from "../dist/index.js";
import { openRedisChannel } from "../dist/redis/index.js";

const REDIS_SERVER = "/usr/bin/redis-server";
const JOBS = 20;
const options = (consumer) => ({ group: "workers", consumer, claimIdleMs: 500, blockMs: 100 });

if (process.argv[2] === "worker") await worker(process.argv[3], process.argv[4]);
else await producer();

async function worker(url, name) {
  const client = await connectWhenUp(url);
  try {
    await run(async () => {
      const [send, receive] = openRedisChannel(client, "jobs", options(name));
      send.close();
      try {
        let jobs = 0;
        for await (const job of receive) {
          console.log(`working ${name} ${job.value} ${job.deliveries}`);
          // The work: 25 ms, except a's third job, which a never finishes (the producer kills a
          // in it; on a loaded machine 25 ms may pass before the kill arrives).
          await sleep(name === "a" && ++jobs === 3 ? 60_000 : 25);
          await job.ack();
          console.log(`done ${name} ${job.value} ${job.deliveries}`);
        }
      } finally {
        receive.close(); // what this worker holds unacknowledged goes back to the group at once
      }
    }); // SIGTERM from the producer cancels the loop; run() then ends the process with 143
  } finally {
    client.destroy();
  }
}

async function producer() {
  if (!existsSync(REDIS_SERVER)) {
    console.log(`examples/redis-workers.mjs: ${REDIS_SERVER} is not installed, so there is nothing to show (apt-get install redis-server)`);
    return;
  }
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const server = spawn(REDIS_SERVER, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  const workers = [];
  try {
    const done = new Map(); // job → [worker, deliveries] of each acknowledgement
    let allDone;
    const finished = new Promise((resolve) => (allDone = resolve));
    let killedOn;
    const startWorker = (name) => {
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "worker", url, name], { stdio: ["ignore", "pipe", "inherit"] });
      workers.push(child);
      let started = 0;
      createInterface({ input: child.stdout }).on("line", (line) => {
        const [what, who, job, deliveries] = line.split(" ");
        // "b" starts once "a" is at work, so that "a" surely gets to its third job.
        if (what === "working" && who === "a" && started === 0) startWorker("b");
        if (what === "working" && who === "a" && ++started === 3) {
          killedOn = job;
          child.kill("SIGKILL");
          console.log(`worker a: killed (SIGKILL) in the middle of ${job}`);
        }
        if (what === "done") {
          done.set(job, [...(done.get(job) ?? []), [who, Number(deliveries)]]);
          if (job === killedOn) console.log(`worker b: did ${job}, which a died on (delivery ${deliveries})`);
          if (done.size === JOBS) allDone();
        }
      });
    };
    startWorker("a");
    // The workers start while the jobs are queued (they would get them just as well later:
    // the group is read from id 0).
    const client = await connectWhenUp(url);
    await run(async () => {
      const [send, receive] = openRedisChannel(client, "jobs", options("producer"));
      receive.close(); // this process only produces
      for (let j = 1; j <= JOBS; j++) await send.send(`job-${j}`);
      send.close();
    });
    console.log(`queued ${JOBS} jobs on redis ${url}`);
    await finished;

    const pending = await client.sendCommand(["XPENDING", "jobs", "workers"]);
    for (let j = 1; j <= JOBS; j++) assert.equal(done.get(`job-${j}`)?.length, 1, `job-${j} acknowledged ${done.get(`job-${j}`)?.length ?? 0} times`);
    assert.deepEqual(done.get(killedOn), [["b", 2]]);
    assert.equal(pending[0], 0, "nothing left pending in Redis");
    const by = (w) => [...done.values()].filter(([[who]]) => who === w).length;
    console.log(`all ${JOBS} jobs done and acknowledged exactly once (a: ${by("a")}, b: ${by("b")}); nothing pending`);
    client.destroy();
  } finally {
    await Promise.all(workers.map((w) => stop(w, "SIGTERM")));
    await stop(server, "SIGKILL");
  }
}

function stop(child, signal) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  return exited;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

async function connectWhenUp(url) {
  for (let i = 0; ; i++) {
    const client = createClient({ url, socket: { reconnectStrategy: false } });
    client.on("error", () => {});
    try {
      return await client.connect();
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
