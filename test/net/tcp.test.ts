import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { BusyResourceError, CancelScope, ClosedResourceError, run, withTaskGroup } from "../../src/index.js";
import { checkHalfCloseableStream, waitAllTasksBlocked } from "../../src/testing/index.js";
import { connectTcp, listenTcp, serveTcp, serve, type SocketStream, type ListenerAddress } from "../../src/net/index.js";
import { thrown } from "../support/thrown.js";
import { assertNothingLeft, clog, prng, socketStreamPair } from "./support.js";

const tcpPair = async (host = "127.0.0.1"): Promise<[SocketStream, SocketStream]> => (await socketStreamPair(host)).slice(0, 2) as [SocketStream, SocketStream];



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

// close() of a plain TCP socket has a fast path (precondition: no parked receive or send and
// nothing queued in user space: destroy, then wait for 'close' through the engine's own
// listener) and a fallback (doClose: wake the waiters, discard what a cancelled send left).
// Seeded: each round picks a state that meets the precondition or breaks it in one way, and
// checks the same outcome either way: close() returns with the handle gone, the peer sees EOF
// or a reset, a parked receive gets ClosedResourceError, and nothing is left.
test("close takes its fast path or falls back, seeded: either way the socket is gone when it returns", async () => {
  const rand = prng(1207);
  const hit = { fast: 0, parkedReceive: 0, queued: 0, unread: 0 };
  for (let round = 0; round < 24; round++) {
    const kind = Math.floor(rand() * 4);
    await run(async () => {
      const [a, b] = await tcpPair();
      if (kind === 3) {
        // Data queued on our side but not received (the 'data' queue): no waiter, so fast path.
        await b.send(new Uint8Array(1 + Math.floor(rand() * 100_000)));
        await withTaskGroup(async (tg) => {
          tg.spawn(async () => void (await a.receive(1)));
        });
      }
      await withTaskGroup(async (tg) => {
        if (kind === 1) {
          // A parked receive: the precondition fails, close wakes it with ClosedResourceError.
          tg.spawn(async () => assert.ok((await thrown(() => a.receive())) instanceof ClosedResourceError));
          await waitAllTasksBlocked();
        }
        if (kind === 2) {
          // A send cancelled while the peer does not read leaves bytes queued in Node: fallback.
          clog(a.socket);
          const scope = new CancelScope();
          tg.spawn(async () => {
            await scope.run(async () => {
              for (;;) await a.send(new Uint8Array(256 * 1024));
            });
          });
          await waitAllTasksBlocked();
          scope.cancel();
          await waitAllTasksBlocked();
        }
        const scope = new CancelScope();
        scope.cancel(); // close succeeds in a cancelled scope on either path
        await scope.run(() => a.close());
        assert.equal(a.socket.destroyed, true);
        assert.equal(a.socket.closed, true, "the handle is closed when close() returns");
      });
      if (kind === 0) hit.fast++;
      else if (kind === 1) hit.parkedReceive++;
      else if (kind === 2) hit.queued++;
      else hit.unread++;
      const seen = await b.receive().catch((err: unknown) => err);
      assert.ok(seen instanceof Uint8Array ? seen.byteLength >= 0 : seen instanceof Error, String(seen));
      await b.close();
    });
  }
  assert.ok(hit.fast > 0 && hit.parkedReceive > 0 && hit.queued > 0 && hit.unread > 0, JSON.stringify(hit));
  await assertNothingLeft();
});

// A reset of a connection the listener still holds (before accept()) is no error of ours: no
// uncaught 'error', and the stream accept() makes of it reports it (or sees EOF); after accept()
// the stream's own listener (the only 'error' listener left) reports a reset. Seeded:
// connections reset while queued, reset after accept, or echoed cleanly, in a random order.
test("a reset while queued in a listener is no uncaught error; after accept it is the stream's BrokenResourceError", async () => {
  const random = prng(0x5eed12);
  const hit = { queuedReset: 0, acceptedReset: 0, clean: 0 };
  await run(async () => {
    await using listener = await listenTcp(0);
    const port = listener.address.port!;
    for (let round = 0; round < 8; round++) {
      const kinds = Array.from({ length: 6 }, () => Math.floor(random() * 3));
      const clients: net.Socket[] = [];
      for (const kind of kinds) {
        const client = net.connect(port, "127.0.0.1");
        client.on("error", () => {});
        await new Promise((resolve) => client.once("connect", resolve));
        clients.push(client);
        if (kind === 0) client.resetAndDestroy();
      }
      // Let the resets reach the queued sockets before anything is accepted.
      await new Promise((resolve) => setTimeout(resolve, 5));
      for (let i = 0; i < kinds.length; i++) {
        const stream = await listener.accept();
        assert.equal(stream.socket.listenerCount("error"), 1, "one 'error' listener: the stream's own");
        const client = clients[i]!;
        if (kinds[i] === 1) client.resetAndDestroy();
        if (kinds[i] === 2) client.write("ping");
        let outcome: unknown = "eof";
        try {
          for (;;) {
            const chunk = await stream.receive();
            if (chunk.byteLength === 0) break;
            assert.equal(String(chunk), "ping");
            await stream.send(chunk);
            client.end();
          }
        } catch (err) {
          outcome = err;
        }
        if (kinds[i] === 2) {
          assert.equal(outcome, "eof");
          hit.clean++;
        } else {
          // A reset is BrokenResourceError (or, for one the kernel saw before any read, EOF).
          assert.ok(outcome === "eof" || (outcome as Error).name === "BrokenResourceError", String(outcome));
          if (kinds[i] === 0) hit.queuedReset++;
          else hit.acceptedReset++;
        }
        await stream.close();
        client.destroy();
      }
    }
  });
  assert.ok(hit.queuedReset > 0 && hit.acceptedReset > 0 && hit.clean > 0, JSON.stringify(hit));
  await assertNothingLeft();
});
