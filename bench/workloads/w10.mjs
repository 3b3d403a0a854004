// W10 — n values through a Redis Stream consumer group, 4 consumers acknowledging each.
//
// Measures: wall time from the first send until the last value has been acknowledged
// (XACK replied). The workload starts its own redis-server (no persistence) on a free port,
// once per child process, and kills it at exit; each pass uses a fresh stream key.
//
// The same work on both sides (checked for session 4): one RESP2 client for the sends and
// the acknowledgements, plus one connection per consumer for its blocking reads; 16
// concurrent producers; JSON values `{ i }`; 4 consumers of one group; reads of up to 100
// entries (COUNT 100 / prefetch 100) blocking 100 ms. Both start the clock with only the
// client connected: the group and the 4 reading connections are made inside it (until
// session 4, raw made them before its clock started, trellis inside its own).
//
// raw:     hand-written node-redis: XGROUP CREATE; 16 producer loops of XADD; 4 consumer loops
//          of XREADGROUP COUNT 100 BLOCK 100, JSON.parse of each value, one XACK for the
//          batch, awaited before the next read.
// trellis: openRedisChannel: 16 producer tasks on clones of one send handle; 4 channels
//          (consumers c0–c3, prefetch 100, blockMs 100), each with 100 worker tasks on clones
//          of its receive handle doing `receive()` then `ack()` per value. The channel sends
//          the acks of one turn as one XACK, and after a short read waits for that XACK's reply
//          before reading again (raw's cadence: both issue ~0.11 XREADGROUP and ~0.11 XACK per
//          value). It also claims (XAUTOCLAIM) every 100 ms per consumer, which raw does not.
// Goal: trellis ≤ 1.2× raw.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, connect } from "node:net";
import { now, trellis } from "../lib.mjs";

export const meta = { n: 100_000, goal: { ms: 1.2 }, what: "n values via Redis Streams, 4 consumers acking each" };

const REDIS_SERVER = process.env.REDIS_SERVER ?? "/usr/bin/redis-server";
const PRODUCERS = 16;
const CONSUMERS = 4;
const BATCH = 100;
const WORKERS_PER_CONSUMER = 100;

let serverUrl;
let passes = 0;

/** A redis-server of this child process, started on first use and killed when it exits. */
async function redisUrl() {
  if (serverUrl !== undefined) return serverUrl;
  if (!existsSync(REDIS_SERVER)) throw new Error(`W10 needs redis-server (${REDIS_SERVER} is missing)`);
  const port = await new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
  const child = spawn(REDIS_SERVER, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"], {
    stdio: "ignore",
  });
  process.on("exit", () => child.kill("SIGKILL"));
  for (let i = 0; ; i++) {
    const ok = await new Promise((resolve) => {
      const sock = connect(port, "127.0.0.1", () => (sock.destroy(), resolve(true)));
      sock.on("error", () => resolve(false));
    });
    if (ok) break;
    if (i > 200) throw new Error("redis-server did not start");
    await new Promise((r) => setTimeout(r, 25));
  }
  serverUrl = `redis://127.0.0.1:${port}`;
  return serverUrl;
}

async function connectClient() {
  const { createClient } = await import("redis");
  const client = createClient({ url: await redisUrl(), RESP: 2 });
  client.on("error", () => {});
  await client.connect();
  return client;
}

export async function raw(n) {
  const client = await connectClient();
  const key = `w10:raw:${++passes}`;
  let acked = 0;
  let tEnd = 0;
  const t0 = now();
  // Inside the clock, as trellis's channels create the group and their connections inside it.
  await client.sendCommand(["XGROUP", "CREATE", key, "g", "0", "MKSTREAM"]);
  const readers = [];
  for (let c = 0; c < CONSUMERS; c++) {
    const conn = client.duplicate();
    conn.on("error", () => {});
    await conn.connect();
    readers.push(conn);
  }
  const producers = [];
  for (let p = 0; p < PRODUCERS; p++) {
    producers.push(
      (async () => {
        for (let i = p; i < n; i += PRODUCERS) await client.sendCommand(["XADD", key, "*", "v", JSON.stringify({ i })]);
      })(),
    );
  }
  const consumers = readers.map(async (conn, c) => {
    while (acked < n) {
      const reply = await conn.sendCommand(["XREADGROUP", "GROUP", "g", `c${c}`, "COUNT", String(BATCH), "BLOCK", "100", "STREAMS", key, ">"]);
      if (reply === null) continue;
      const ids = [];
      let sum = 0;
      for (const [id, fields] of reply[0][1]) {
        sum += JSON.parse(fields[1]).i;
        ids.push(id);
      }
      if (sum < 0) throw new Error("unreachable");
      await client.sendCommand(["XACK", key, "g", ...ids]);
      acked += ids.length;
      if (acked === n) tEnd = now();
    }
  });
  await Promise.all([...producers, ...consumers]);
  const ms = tEnd - t0;
  await client.sendCommand(["DEL", key]);
  for (const conn of readers) conn.destroy();
  client.destroy();
  return ms;
}

export async function trellis_(n) {
  const { run, withTaskGroup } = await trellis("run", "withTaskGroup");
  const { openRedisChannel } = await import(new URL("../../dist/redis/index.js", import.meta.url).href);
  const client = await connectClient();
  const key = `w10:trellis:${++passes}`;
  let acked = 0;
  let tEnd = 0;
  const t0 = now();
  await run(
    () =>
      withTaskGroup(async (tg) => {
        const channels = [];
        for (let c = 0; c < CONSUMERS; c++) {
          channels.push(openRedisChannel(client, key, { group: "g", consumer: `c${c}`, prefetch: BATCH, blockMs: 100 }));
        }
        const [send] = channels[0];
        for (let p = 0; p < PRODUCERS; p++) {
          const tx = send.clone();
          tg.spawn(async () => {
            try {
              for (let i = p; i < n; i += PRODUCERS) await tx.send({ i });
            } finally {
              tx.close();
            }
          });
        }
        for (const [tx, rx] of channels) {
          tx.close();
          for (let w = 0; w < WORKERS_PER_CONSUMER; w++) {
            const mine = rx.clone();
            tg.spawn(async () => {
              try {
                for await (const job of mine) {
                  if (job.value.i < 0) throw new Error("unreachable");
                  await job.ack();
                  if (++acked === n) {
                    tEnd = now();
                    tg.cancel();
                  }
                }
              } finally {
                mine.close();
              }
            });
          }
          rx.close();
        }
      }),
    { handleSignals: false },
  );
  const ms = tEnd - t0;
  await client.sendCommand(["DEL", key]);
  client.destroy();
  return ms;
}

export const systems = { raw, trellis: trellis_ };
