// W8 — requests/s of a trivial HTTP handler, 50 concurrent keep-alive clients.
//
// Measures: wall time for n requests (`ms`, so requests/s = n / ms × 1000), the p99 and p50
// latencies (`p99Ms`, `p50Ms`) seen by the clients, and the server's CPU time per request
// (`cpuUs`: user + system µs of the server's process, which waiting for a core does not inflate). The load generator (bench/http-load.mjs) runs in a
// child process, the same program for every system, so both servers face identical clients
// and the server's process (its allocB) holds the server alone. Goal (Node 26): trellis
// ≥ 0.9× raw's throughput (ms ≤ 1.11× raw) and p99 ≤ 1.2× raw's.
//
// raw:     http.createServer((req, res) => res.end("ok")), listening on 127.0.0.1:0.
// trellis: serveHttp with the same handler inside run(): each request is a task, with its
//          disconnect listener; no requestTimeoutMs (no deadline per request).

import { fork } from "node:child_process";
import { createServer } from "node:http";
import { trellis } from "../lib.mjs";

export const meta = { n: 20_000, goal: { ms: 1.11 }, what: "n HTTP requests, 50 keep-alive clients (also p99Ms)" };

const CONCURRENCY = 50;
const LOAD = new URL("../http-load.mjs", import.meta.url);

const handler = (req, res) => res.end("ok");

/**
 * Runs the load generator against `port`: resolves with { ms, p99Ms, p50Ms, cpuUs }, cpuUs being
 * this (the server's) process's CPU time per request, user + system, in µs: steadier than ms
 * on a loaded machine, since time the server spends waiting for a core is not counted.
 */
async function load(port, n) {
  const cpu0 = process.cpuUsage();
  const result = await runLoad(port, n);
  const cpu = process.cpuUsage(cpu0);
  return { ms: result.ms, p99Ms: result.p99Ms, p50Ms: result.p50Ms, cpuUs: Math.round(((cpu.user + cpu.system) / n) * 10) / 10 };
}

function runLoad(port, n) {
  return new Promise((resolve, reject) => {
    const child = fork(LOAD, [String(port), String(n), String(CONCURRENCY)], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      const result = JSON.parse(out.trim().split("\n").pop());
      if (result.errors > 0) return reject(new Error(`${result.errors} requests failed`));
      resolve(result);
    });
  });
}

export async function raw(n) {
  const server = createServer(handler);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    return await load(server.address().port, n);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

export async function trellis_(n) {
  const { run, withTaskGroup } = await trellis("run", "withTaskGroup");
  const { serveHttp } = await import(new URL("../../dist/http/index.js", import.meta.url).href);
  let result;
  await run(
    () =>
      withTaskGroup(async (tg) => {
        const { port } = await tg.start((status) => serveHttp(handler, { host: "127.0.0.1", status }));
        result = await load(port, n);
        tg.cancel();
      }),
    { handleSignals: false },
  );
  return result;
}

export const systems = { raw, trellis: trellis_ };
