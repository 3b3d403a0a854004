// W7b — a connection storm over loopback TCP: n connections (n = 10,000), 100 at a time, each
// connect → send 16 bytes → receive the echo → close, against an echo server in the same
// process that closes its side when the client has.
//
// Measures: wall time from the first connect until the last connection is closed on both sides.
// Goal (Node 26): trellis ≤ 1.3× raw.
//
// Warm-up: a whole pass (meta.warmup = 1), not the usual tenth. After 1,000 connections and the
// harness's forced gc() the measured pass is still the JIT's warm-up, for both systems: in one
// process, successive passes of 5,000 connections take 716, 654, 527, 516 ms (trellis) and 675,
// 595, 554, 526 ms (raw) (`node --expose-gc bench/passes.mjs W7b trellis --n 5000`); and the
// forced gc() drops type feedback and optimized code of what is not in use at that moment
// (every socket is closed then), which costs trellis, with more JavaScript per connection, ~20 %
// of the pass and raw ~2 %. A storm is measured on a server that is warm, as a storm meets one.
// `--warmup 0.1` measures the colder start (bench/RESULTS.md "Session 5" has both).
//
// raw:     node:net server echoing in 'data', ending on 'end'; client sockets made with
//          net.connect, 100 chains of connections run at once.
// trellis: serveTcp with handler `for await (chunk of conn) await conn.send(chunk)` (the stream
//          is closed when the handler returns); clients are 100 tasks, each looping over
//          connectTcp / send / receive / close.

import net from "node:net";
import { now } from "../lib.mjs";

export const meta = { n: 10_000, warmup: 1, goal: { ms: 1.3 }, what: "n connect/echo/close, 100 at a time" };

const CONCURRENCY = 100;
const MESSAGE = Buffer.from("0123456789abcdef");

export async function raw(n) {
  let serverClosed = 0;
  let done;
  const allClosed = new Promise((resolve) => (done = resolve));
  // noDelay on both sides, as trellis sets it on every TCP socket it makes or accepts.
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on("data", (data) => socket.write(data));
    socket.on("end", () => socket.end());
    socket.on("close", () => {
      if (++serverClosed === n) done();
    });
    socket.on("error", () => {});
  });
  await new Promise((resolve) => server.listen({ port: 0, host: "127.0.0.1", backlog: 511 }, resolve));
  const port = server.address().port;
  const one = () =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: "127.0.0.1" });
      socket.setNoDelay(true);
      socket.once("connect", () => socket.write(MESSAGE));
      socket.once("data", () => socket.end());
      socket.once("close", resolve);
      socket.once("error", reject);
    });
  const t0 = now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        next++;
        await one();
      }
    }),
  );
  await allClosed;
  const ms = now() - t0;
  server.close();
  return ms;
}

export async function trellis(n) {
  const { run, withTaskGroup } = await import(new URL("../../dist/index.js", import.meta.url).href);
  const { serveTcp, connectTcp } = await import(new URL("../../dist/net/index.js", import.meta.url).href);
  let ms = 0;
  await run(() =>
    withTaskGroup(async (tg) => {
      let serverClosed = 0;
      let allDone;
      const allClosed = new Promise((resolve) => (allDone = resolve));
      const address = await tg.start((status) =>
        serveTcp(
          0,
          async (conn) => {
            try {
              for await (const data of conn) await conn.send(data);
            } finally {
              await conn.close();
              if (++serverClosed === n) allDone();
            }
          },
          { status },
        ),
      );
      const t0 = now();
      let next = 0;
      await withTaskGroup(async (clients) => {
        for (let c = 0; c < CONCURRENCY; c++) {
          clients.spawn(async () => {
            while (next < n) {
              next++;
              const conn = await connectTcp("127.0.0.1", address.port);
              await conn.send(MESSAGE);
              await conn.receive();
              await conn.close();
            }
          });
        }
      });
      await allClosed;
      ms = now() - t0;
      tg.cancel();
    }),
  );
  return ms;
}

export const systems = { raw, trellis };
