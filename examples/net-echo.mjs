// An echo server and two clients over loopback TCP with trellis/net. Run with
// `npm run build && node examples/net-echo.mjs`.
//
// What to notice: the server is a task started with tg.start, which hands back the bound
// address once it listens (port 0: the system picks one); each connection runs in its own
// task and is closed when its handler returns; the client reads framed lines with
// BufferedStream; a client that stops reading makes the server's send() wait instead of
// buffering (the server never holds more than one chunk per connection); cancelling the group
// closes the listener, the handlers and every socket, so the process exits on its own.
import { run, withTaskGroup, moveOnAfter, BrokenResourceError } from "../dist/index.js";
import { serveTcp, connectTcp, BufferedStream } from "../dist/net/index.js";

await run(() =>
  withTaskGroup(async (tg) => {
    const address = await tg.start((status) =>
      serveTcp(
        0,
        async (conn) => {
          try {
            for await (const chunk of conn) await conn.send(chunk); // echo, with backpressure
          } catch (err) {
            // A client that vanishes (here: one closing with echoed bytes unread, which makes
            // its kernel reset the connection) is routine for a server; anything else is a bug.
            if (!(err instanceof BrokenResourceError)) throw err;
          }
        },
        { status },
      ),
    );
    console.log(`echo server listening on ${address}`);

    // A line-based client.
    // (`await using conn = …` closes it at the end of the block where the runtime supports
    // it: Node 24+, or TypeScript; here try/finally does the same.)
    const lines = new BufferedStream(await connectTcp("127.0.0.1", address.port));
    try {
      for (const word of ["hello", "structured", "streams"]) await lines.send(`${word}\n`);
      await lines.sendEof(); // half-close: the server sees EOF, its handler ends, it closes its side
      for await (const line of lines.lines()) console.log(`echoed: ${line}`);
    } finally {
      await lines.close();
    }

    // A client that sends a lot and never reads: the kernel buffers fill up and send() waits.
    const conn = await connectTcp("127.0.0.1", address.port);
    try {
      const chunk = new Uint8Array(64 * 1024);
      let sent = 0;
      await moveOnAfter(300, async () => {
        for (;;) {
          await conn.send(chunk);
          sent += chunk.byteLength;
        }
      });
      const mib = (sent / 2 ** 20).toFixed(1);
      console.log(`a client that never reads got ${mib} MiB into the kernel's buffers, then send() waited`);
      console.log(`bytes waiting in this process's memory: ${conn.socket.writableLength}`);
    } finally {
      await conn.close(); // always succeeds; bounded even though the peer is not reading
    }

    tg.cancel(); // stop the server: listener, handlers and sockets are closed before run() returns
  }),
);
console.log("open handles after run():", process.getActiveResourcesInfo().filter((r) => r !== "TTYWrap"));
