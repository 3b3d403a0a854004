// W7 — echo throughput over loopback TCP: n chunks of 64 KiB (n = 16,384: 1 GiB) sent by a
// client, echoed by a server in the same process, all received back by the client.
//
// Measures: wall time from the first byte sent until the last echoed byte is received.
// Goal (Node 26): trellis ≥ 0.8× raw's throughput, i.e. time ≤ 1.25× raw.
//
// raw:     node:net. Server: `socket.pipe(socket)` (Node's own backpressure). Client: writes
//          the chunks, waiting for 'drain' whenever write() returns false, and counts the
//          echoed bytes in 'data'.
// trellis: trellis/net. Server: serveTcp, handler `for await (chunk of conn) await conn.send(chunk)`.
//          Client: connectTcp; one task sends the chunks (each send returns once the kernel
//          took the bytes), another receives until every byte is back.
// Both reuse one 64 KiB buffer for every send, and both turn Nagle off on both sides.

import net from "node:net";
import { now } from "../lib.mjs";

export const meta = { n: 16_384, goal: { ms: 1.25 }, what: "n × 64 KiB echoed over loopback TCP" };

const CHUNK = 64 * 1024;

export async function raw(n) {
  // noDelay on both sides, as trellis sets it on every TCP socket it makes or accepts.
  const server = net.createServer({ noDelay: true }, (socket) => socket.pipe(socket));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const client = net.connect({ port: server.address().port, host: "127.0.0.1" });
  await new Promise((resolve) => client.once("connect", resolve));
  client.setNoDelay(true);
  const chunk = Buffer.alloc(CHUNK, 1);
  const total = n * CHUNK;
  const t0 = now();
  const received = new Promise((resolve) => {
    let got = 0;
    client.on("data", (data) => {
      got += data.length;
      if (got >= total) resolve();
    });
  });
  for (let i = 0; i < n; i++) {
    if (!client.write(chunk)) await new Promise((resolve) => client.once("drain", resolve));
  }
  await received;
  const ms = now() - t0;
  client.destroy();
  server.close();
  return ms;
}

export async function trellis(n) {
  const { run, withTaskGroup } = await import(new URL("../../dist/index.js", import.meta.url).href);
  const { serveTcp, connectTcp } = await import(new URL("../../dist/net/index.js", import.meta.url).href);
  let ms = 0;
  await run(() =>
    withTaskGroup(async (tg) => {
      const address = await tg.start((status) =>
        serveTcp(
          0,
          async (conn) => {
            for await (const data of conn) await conn.send(data);
          },
          { status },
        ),
      );
      const conn = await connectTcp("127.0.0.1", address.port);
      const chunk = Buffer.alloc(CHUNK, 1);
      const total = n * CHUNK;
      const t0 = now();
      await withTaskGroup(async (inner) => {
        inner.spawn(async () => {
          for (let i = 0; i < n; i++) await conn.send(chunk);
        });
        let got = 0;
        while (got < total) got += (await conn.receive()).byteLength;
      });
      ms = now() - t0;
      await conn.close();
      tg.cancel();
    }),
  );
  return ms;
}

export const systems = { raw, trellis };
