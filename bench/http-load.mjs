// Child process: an HTTP load generator for W8, the same for every system.
//
//   node bench/http-load.mjs PORT N CONCURRENCY
//
// CONCURRENCY clients, each a loop of sequential GET / requests over one keep-alive
// connection (one node:http Agent with keepAlive, maxSockets = CONCURRENCY), until N
// responses have been read in all. Prints ONE JSON line: {"ms","p99Ms","p50Ms","errors"},
// `ms` from the first request to the last response, latencies per request. Running in its
// own process, it measures every server alike and leaves the server's process (and its
// allocation count, allocB) to the server alone.
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";

const [port, n, concurrency] = process.argv.slice(2).map(Number);
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const latencies = new Float64Array(n);
let issued = 0;
let errors = 0;

function once(i) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = request({ host: "127.0.0.1", port, path: "/", agent }, (res) => {
      res.on("data", () => {});
      res.on("end", () => {
        latencies[i] = performance.now() - t0;
        resolve();
      });
    });
    req.on("error", () => {
      errors++;
      latencies[i] = performance.now() - t0;
      resolve();
    });
    req.end();
  });
}

async function client() {
  while (issued < n) await once(issued++);
}

const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, client));
const ms = performance.now() - t0;
agent.destroy();
const sorted = latencies.sort();
const at = (q) => sorted[Math.min(n - 1, Math.floor(q * n))];
const round = (v) => Math.round(v * 1000) / 1000;
process.stdout.write(JSON.stringify({ ms: round(ms), p99Ms: round(at(0.99)), p50Ms: round(at(0.5)), errors }) + "\n");
