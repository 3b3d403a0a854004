import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { BusyResourceError, CancelScope, ClosedResourceError, run, withTaskGroup } from "../../src/index.js";
import { checkHalfCloseableStream, waitAllTasksBlocked } from "../../src/testing/index.js";
import { connectTcp, listenTcp, serveTcp, serve, type SocketStream, type ListenerAddress } from "../../src/net/index.js";
import { thrown } from "../support/thrown.js";
import { assertNothingLeft, clog } from "./support.js";

async function tcpPair(host = "127.0.0.1"): Promise<[SocketStream, SocketStream]> {
  await using listener = await listenTcp(0, { host });
  let accepted: SocketStream | undefined;
  let connected: SocketStream | undefined;
  await withTaskGroup(async (tg) => {
    tg.spawn(async () => void (accepted = await listener.accept()));
    connected = await connectTcp(host, listener.address.port!);
  });
  return [connected!, accepted!];
}


test("TCP streams (connectTcp/listenTcp) pass checkHalfCloseableStream", async () => {
  await run(() =>
    checkHalfCloseableStream(
      () => tcpPair(),
      async () => {
        const pair = await tcpPair();
        clog(pair[0].socket);
        clog(pair[1].socket);
        return pair;
      },
    ),
  );
  await assertNothingLeft();
});

test("connectTcp over IPv6 loopback and 'localhost'; addresses and labels", async () => {
  await run(async () => {
    const hasV6 = await new Promise<boolean>((resolve) => {
      const s = net.createServer().once("error", () => resolve(false));
      s.listen(0, "::1", () => s.close(() => resolve(true)));
    });
    if (hasV6) {
      const [a, b] = await tcpPair("::1");
      assert.match(a.remoteAddress, /^\[::1\]:\d+$/);
      await a.send("v6");
      assert.equal(String(await b.receive()), "v6");
      await a.close();
      await b.close();
    }
    await using listener = await listenTcp(0);
    assert.equal(String(listener.address), `127.0.0.1:${listener.address.port}`);
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await using conn = await listener.accept();
        await conn.send("hi");
      });
      // localhost may resolve to ::1 first: happy eyeballs falls back to 127.0.0.1 at once on refusal.
      await using conn = await connectTcp("localhost", listener.address.port!);
      assert.equal(conn.remoteAddress, `127.0.0.1:${listener.address.port}`);
      assert.match(conn.localAddress, /^127\.0\.0\.1:\d+$/);
      assert.equal(String(await conn.receive()), "hi");
    });
  });
  await assertNothingLeft();
});

test("malformed host and port are TypeError/RangeError; a refused port is ECONNREFUSED; a port in use is EADDRINUSE", async () => {
  await run(async () => {
    assert.ok((await thrown(() => connectTcp(42 as never, 80))) instanceof TypeError);
    assert.ok((await thrown(() => connectTcp("exa mple.com", 80))) instanceof TypeError);
    assert.ok((await thrown(() => connectTcp("", 80))) instanceof TypeError);
    assert.ok((await thrown(() => connectTcp("127.0.0.1", 0))) instanceof RangeError);
    assert.ok((await thrown(() => connectTcp("127.0.0.1", 70000))) instanceof RangeError);
    assert.ok((await thrown(() => connectTcp("127.0.0.1", "80" as never))) instanceof TypeError);
    assert.ok((await thrown(() => listenTcp(-1))) instanceof RangeError);
    assert.ok((await thrown(() => listenTcp(1.5))) instanceof RangeError);
    assert.ok((await thrown(() => connectTcp("127.0.0.1", 80, { happyEyeballsDelayMs: -5 }))) instanceof RangeError);
    // A port nobody listens on.
    const free = await listenTcp(0);
    const port = free.address.port!;
    await free.close();
    const refused = (await thrown(() => connectTcp("127.0.0.1", port))) as { code?: string };
    assert.equal(refused.code, "ECONNREFUSED");
    await using taken = await listenTcp(0);
    const inUse = (await thrown(() => listenTcp(taken.address.port!))) as { code?: string };
    assert.equal(inUse.code, "EADDRINUSE");
  });
  await assertNothingLeft();
});

test("accept: BusyResourceError for two at once, ClosedResourceError on close, cancelled accept takes nothing", async () => {
  await run(async () => {
    const listener = await listenTcp(0);
    const scope = new CancelScope();
    await withTaskGroup(async (tg) => {
      tg.spawn(() => scope.run(() => listener.accept()));
      await waitAllTasksBlocked();
      await assert.rejects(listener.accept(), BusyResourceError);
      scope.cancel();
    });
    // The connection made after the cancelled accept goes to the next accept.
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await using conn = await connectTcp("127.0.0.1", listener.address.port!);
        await conn.send("after");
      });
      await using conn = await listener.accept();
      assert.equal(String(await conn.receive()), "after");
    });
    await withTaskGroup(async (tg) => {
      tg.spawn(() => assert.rejects(listener.accept(), ClosedResourceError));
      await waitAllTasksBlocked();
      const cancelled = new CancelScope();
      cancelled.cancel();
      await cancelled.run(() => listener.close());
    });
    await listener.close();
    await assert.rejects(listener.accept(), ClosedResourceError);
  });
  await assertNothingLeft();
});

test("a cancelled connect leaves no socket behind", async () => {
  await run(async () => {
    // On loopback a connect completes within one event-loop turn, so cancel it in the same
    // turn, while its attempts are in flight (or, for a name, while it is being resolved: the
    // lookup is abandoned and finishes in the resolver's thread on its own).
    await using listener = await listenTcp(0);
    for (const host of ["127.0.0.1", "localhost"]) {
      const scope = new CancelScope();
      await scope.run(async () => {
        const connecting = connectTcp(host, listener.address.port!);
        scope.cancel();
        await connecting;
      });
      assert.equal(scope.cancelledCaught, true);
    }
  });
  await assertNothingLeft();
});

test("serveTcp reports its address through tg.start; cancelling it closes handlers and listener", async () => {
  await run(async () => {
    const handled: string[] = [];
    await withTaskGroup(async (tg) => {
      const address: ListenerAddress = await tg.start((status) =>
        serveTcp(
          0,
          async (conn) => {
            for await (const chunk of conn) {
              handled.push(String(chunk));
              await conn.send(chunk);
            }
          },
          { status },
        ),
      );
      assert.equal(address.host, "127.0.0.1");
      await using a = await connectTcp("127.0.0.1", address.port!);
      await using b = await connectTcp("127.0.0.1", address.port!);
      await a.send("one");
      assert.equal(String(await a.receive()), "one");
      await b.send("two");
      assert.equal(String(await b.receive()), "two");
      tg.cancel();
    });
    assert.deepEqual(handled.sort(), ["one", "two"]);
  });
  await assertNothingLeft();
});

test("serve reports a handler's error and goes on; errors: 'fail' stops it", async () => {
  await run(async () => {
    const reported: unknown[] = [];
    const boom = new Error("handler failed");
    await withTaskGroup(async (tg) => {
      const listener = await listenTcp(0);
      tg.spawn(() =>
        serve(
          listener,
          async () => {
            throw boom;
          },
          { onError: (err) => void reported.push(err) },
        ),
      );
      for (let i = 0; i < 2; i++) {
        await using conn = await connectTcp("127.0.0.1", listener.address.port!);
        assert.equal((await conn.receive().catch(() => new Uint8Array(0))).byteLength, 0);
      }
      tg.cancel();
    });
    assert.deepEqual(reported, [boom, boom]);

    const listener = await listenTcp(0);
    const err = await thrown(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(() => serve(listener, async () => Promise.reject(boom), { errors: "fail" }));
        await using conn = await connectTcp("127.0.0.1", listener.address.port!);
        await conn.receive().catch(() => undefined);
      }),
    );
    assert.equal(err, boom);
    await assert.rejects(listener.accept(), ClosedResourceError);
  });
  await assertNothingLeft();
});

test("a peer vanishing mid-transfer is BrokenResourceError or EOF for the reader, never a hang", async () => {
  await run(async () => {
    const [a, b] = await tcpPair();
    await a.send("partial");
    assert.equal(String(await b.receive()), "partial");
    a.socket.resetAndDestroy();
    const err = await thrown(async () => {
      for (;;) {
        const chunk = await b.receive();
        assert.ok(chunk.byteLength > 0, "a reset must not look like a clean EOF");
      }
    });
    assert.equal((err as Error).name, "BrokenResourceError");
    await a.close();
    await b.close();
  });
  await assertNothingLeft();
});

test("run() force-closes a listener and sockets left open", async () => {
  let port = 0;
  await run(async () => {
    const listener = await listenTcp(0);
    port = listener.address.port!;
    await withTaskGroup(async (tg) => {
      tg.spawn(() => listener.accept());
      await connectTcp("127.0.0.1", port); // never closed by its owner
    });
  });
  await assertNothingLeft();
  // The port is free again.
  await run(async () => {
    await using again = await listenTcp(port);
    assert.equal(again.address.port, port);
  });
  await assertNothingLeft();
});
