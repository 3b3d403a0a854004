// W7c — idle connections: n (2,000) loopback TCP connections opened to a server in the same
// process, then held idle (the server side waiting to receive). Both ends live in this
// process, so each connection is two sockets.
//
// Measures: time to open all n connections; the harness's rssMb is the peak RSS with all of
// them open, so (rssMb at n = 4000 − rssMb at n = 2000) / 2000 is the memory one idle
// connection costs (both ends). No goal; reported.
//
// raw:     node:net; the server side does nothing with its sockets (Node reads in the
//          background into nothing: no 'data' listener, the socket stays paused).
// trellis: serveTcp whose handler waits in conn.receive() (one parked task per connection);
//          clients opened with connectTcp, 100 at a time.

import net from "node:net";
import { now } from "../lib.mjs";

export const meta = { n: 2_000, goal: {}, what: "n idle loopback connections (RSS per connection)" };

const CONCURRENCY = 100;

export async function raw(n) {
  const held = [];
  const server = net.createServer((socket) => held.push(socket));
  await new Promise((resolve) => server.listen({ port: 0, host: "127.0.0.1", backlog: 511 }, resolve));
  const port = server.address().port;
  const clients = [];
  const t0 = now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        next++;
        const socket = net.connect({ port, host: "127.0.0.1" });
        await new Promise((resolve) => socket.once("connect", resolve));
        clients.push(socket);
      }
    }),
  );
  const ms = now() - t0;
  globalThis.gc?.();
  for (const s of clients) s.destroy();
  for (const s of held) s.destroy();
  server.close();
  return ms;
}

export async function trellis(n) {
  const { run, withTaskGroup, waitAllTasksBlocked } = {
    ...(await import(new URL("../../dist/index.js", import.meta.url).href)),
    ...(await import(new URL("../../dist/testing/index.js", import.meta.url).href)),
  };
  const { serveTcp, connectTcp } = await import(new URL("../../dist/net/index.js", import.meta.url).href);
  let ms = 0;
  await run(() =>
    withTaskGroup(async (tg) => {
      const address = await tg.start((status) => serveTcp(0, (conn) => conn.receive(), { status }));
      const clients = [];
      const t0 = now();
      let next = 0;
      await withTaskGroup(async (inner) => {
        for (let c = 0; c < CONCURRENCY; c++) {
          inner.spawn(async () => {
            while (next < n) {
              next++;
              clients.push(await connectTcp("127.0.0.1", address.port));
            }
          });
        }
      });
      ms = now() - t0;
      await waitAllTasksBlocked();
      globalThis.gc?.();
      for (const c of clients) await c.close();
      tg.cancel();
    }),
  );
  return ms;
}

export const systems = { raw, trellis };
