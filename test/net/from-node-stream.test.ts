import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import {
  BrokenResourceError,
  BusyResourceError,
  CancelScope,
  ClosedResourceError,
  isCancelled,
  run,
  withTaskGroup,
} from "../../src/index.js";
import { waitAllTasksBlocked, assertCheckpoints } from "../../src/testing/index.js";
import { fromNodeStream, fromNodeStreams } from "../../src/net/index.js";
import { thrown } from "../support/thrown.js";
import { assertNothingLeft, nodeSocketPair, pattern } from "./support.js";

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

test("send and receive over a socket pair; EOF is an empty chunk, again on every later receive", async () => {
  await run(async () => {
    const [a, b] = await nodeSocketPair();
    await using left = fromNodeStream(a, { label: "left" });
    await using right = fromNodeStream(b, { label: "right" });
    await left.send("hello");
    assert.equal(text(await right.receive()), "hello");
    await left.sendEof();
    assert.equal((await right.receive()).byteLength, 0);
    assert.equal((await right.receive()).byteLength, 0);
    // The other direction still works after a half-close.
    await right.send(new Uint8Array([1, 2, 3]));
    assert.deepEqual([...(await left.receive())], [1, 2, 3]);
    await assert.rejects(left.send("more"), ClosedResourceError);
  });
  await assertNothingLeft();
});

test("receive(maxBytes) returns at most maxBytes and keeps the rest for the next receive", async () => {
  await run(async () => {
    const [a, b] = await nodeSocketPair();
    await using left = fromNodeStream(a);
    await using right = fromNodeStream(b);
    await left.send("abcdef");
    await left.sendEof();
    let got = "";
    for (;;) {
      const chunk = await right.receive(4);
      assert.ok(chunk.byteLength <= 4);
      if (chunk.byteLength === 0) break;
      got += text(chunk);
    }
    assert.equal(got, "abcdef");
  });
  await assertNothingLeft();
});

test("send waits while the peer does not read: no more than one chunk waits in user space", async () => {
  await run(async () => {
    const [a, b] = await nodeSocketPair();
    await using left = fromNodeStream(a);
    await using right = fromNodeStream(b);
    const chunk = new Uint8Array(64 * 1024);
    let sent = 0;
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        for (;;) {
          await left.send(chunk);
          sent += chunk.byteLength;
        }
      });
      await waitAllTasksBlocked();
      // The sender is parked in send(): the kernel buffers are full and Node holds one chunk at most.
      assert.ok(a.writableLength <= chunk.byteLength, `user-space buffer ${a.writableLength}`);
      assert.ok(sent < 256 * 1024 * 1024);
      // The receiving side took chunks ('data') only up to its high-water mark, then paused
      // Node, which stopped reading from the kernel: that is what blocked the sender.
      assert.equal(b.readableFlowing, false, "the receiving Node stream is paused");
      const before = sent;
      // Reading lets it go on.
      let got = 0;
      while (sent === before && got < 256 * 1024 * 1024) got += (await right.receive()).byteLength;
      assert.ok(sent > before);
      tg.cancel();
    });
  });
  await assertNothingLeft();
});

test("two concurrent receives (or sends) throw BusyResourceError", async () => {
  await run(async () => {
    const [a, b] = await nodeSocketPair();
    await using left = fromNodeStream(a);
    await using right = fromNodeStream(b);
    const err = await thrown(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(() => right.receive());
        await waitAllTasksBlocked();
        await right.receive();
      }),
    );
    assert.ok(err instanceof BusyResourceError, String(err));
    // Clog the sender, then a second send is refused.
    const chunk = new Uint8Array(1024 * 1024);
    const err2 = await thrown(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          for (;;) await left.send(chunk);
        });
        await waitAllTasksBlocked();
        await left.send("x");
      }),
    );
    assert.ok(err2 instanceof BusyResourceError, String(err2));
  });
  await assertNothingLeft();
});

test("close is idempotent, wakes a blocked receive with ClosedResourceError, and succeeds in a cancelled scope", async () => {
  await run(async () => {
    const [a, b] = await nodeSocketPair();
    const left = fromNodeStream(a);
    const right = fromNodeStream(b);
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await assert.rejects(right.receive(), ClosedResourceError);
      });
      await waitAllTasksBlocked();
      const scope = new CancelScope();
      scope.cancel();
      await scope.run(() => right.close());
      assert.equal(scope.cancelledCaught, false);
    });
    await right.close();
    await assert.rejects(right.receive(), ClosedResourceError);
    await assert.rejects(right.send(""), ClosedResourceError);
    await assert.rejects(right.sendEof(), ClosedResourceError);
    // The peer sees the end (or a reset); never a hang.
    const chunk = await left.receive().catch((e: unknown) => (e instanceof BrokenResourceError ? new Uint8Array(0) : Promise.reject(e)));
    assert.equal(chunk.byteLength, 0);
    await left.close();
    await left.close();
  });
  await assertNothingLeft();
});

test("a peer reset is BrokenResourceError for receive and for later sends", async () => {
  await run(async () => {
    const [a, b] = await nodeSocketPair();
    await using left = fromNodeStream(a);
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await assert.rejects(left.receive(), BrokenResourceError);
      });
      await waitAllTasksBlocked();
      b.resetAndDestroy();
    });
    await assert.rejects(left.send("x"), BrokenResourceError);
    await assert.rejects(left.receive(), BrokenResourceError);
  });
  await assertNothingLeft();
});

test("sending to a peer that vanished ends in BrokenResourceError, never a hang", async () => {
  await run(async () => {
    const [a, b] = await nodeSocketPair();
    await using left = fromNodeStream(a);
    b.destroy();
    const err = await thrown(async () => {
      for (;;) await left.send(new Uint8Array(64 * 1024));
    });
    assert.ok(err instanceof BrokenResourceError, String(err));
    assert.ok(err.cause !== undefined);
  });
  await assertNothingLeft();
});

test("a cancelled receive takes nothing; a cancelled send breaks later sends", async () => {
  await run(async () => {
    const [a, b] = await nodeSocketPair();
    await using left = fromNodeStream(a);
    await using right = fromNodeStream(b);
    const scope = new CancelScope();
    await withTaskGroup(async (tg) => {
      tg.spawn(() => scope.run(() => right.receive()));
      await waitAllTasksBlocked();
      scope.cancel();
    });
    assert.equal(scope.cancelledCaught, true);
    await left.send("kept");
    assert.equal(text(await right.receive()), "kept");
    // Clog, then cancel a blocked send.
    const big = new Uint8Array(1024 * 1024);
    const sendScope = new CancelScope();
    await withTaskGroup(async (tg) => {
      tg.spawn(() =>
        sendScope.run(async () => {
          for (;;) await left.send(big);
        }),
      );
      await waitAllTasksBlocked();
      sendScope.cancel();
    });
    await assert.rejects(left.send("x"), BrokenResourceError);
  });
  await assertNothingLeft();
});

test("send, receive and sendEof are checkpoints; bad arguments are TypeError/RangeError", async () => {
  await run(async () => {
    const [a, b] = await nodeSocketPair();
    await using left = fromNodeStream(a);
    await using right = fromNodeStream(b);
    await assertCheckpoints(() => left.send("x"));
    await assertCheckpoints(() => right.receive());
    await assertCheckpoints(() => left.sendEof());
    await assert.rejects(right.receive(0), RangeError);
    await assert.rejects(right.receive(1.5), TypeError);
    await assert.rejects(right.send(42 as unknown as string), TypeError);
    assert.throws(() => fromNodeStream({} as never), TypeError);
    assert.throws(() => fromNodeStreams(new PassThrough(), 5 as never), TypeError);
    assert.throws(() => fromNodeStream(new PassThrough({ objectMode: true })), TypeError);
    assert.throws(() => fromNodeStream(a, { closeGraceMs: -1 }), RangeError);
  });
  await assertNothingLeft();
});

test("fromNodeStreams over two PassThroughs; close destroys both", async () => {
  await run(async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const stream = fromNodeStreams(input, output, { label: "pipes" });
    input.end("from input");
    assert.equal(text(await stream.receive()), "from input");
    assert.equal((await stream.receive()).byteLength, 0);
    await stream.send("to output");
    assert.equal(String(output.read()), "to output");
    await stream.close();
    assert.ok(input.destroyed && output.destroyed);
  });
});

test("a waiting receive is labelled with the stream and registers one listener per event", async () => {
  await run(async () => {
    const [a, b] = await nodeSocketPair();
    await using right = fromNodeStream(b, { label: "127.0.0.1:4000" });
    assert.equal(b.listenerCount("data"), 1);
    await withTaskGroup(async (tg) => {
      tg.spawn(() => right.receive());
      tg.spawn(() => right.receive().catch(() => undefined));
      await waitAllTasksBlocked();
      assert.equal(b.listenerCount("data"), 1);
      tg.cancel();
    });
    a.destroy();
  });
  await assertNothingLeft();
});

test("run() force-closes a stream left open", async () => {
  let socket: import("node:net").Socket | undefined;
  await run(async () => {
    const [a, b] = await nodeSocketPair();
    socket = a;
    fromNodeStream(a);
    fromNodeStream(b);
  });
  assert.equal(socket?.destroyed, true);
  await assertNothingLeft();
});

test("a long transfer arrives intact in both directions at once", async () => {
  await run(async () => {
    const [a, b] = await nodeSocketPair();
    await using left = fromNodeStream(a);
    await using right = fromNodeStream(b);
    const data = pattern(3 * 1024 * 1024 + 17);
    async function pump(from: typeof left, to: typeof left): Promise<void> {
      for (let i = 0; i < data.length; i += 100_000) await from.send(data.subarray(i, i + 100_000));
      await from.sendEof();
    }
    async function collect(s: typeof left): Promise<Buffer> {
      const parts: Uint8Array[] = [];
      for await (const chunk of s) parts.push(chunk);
      return Buffer.concat(parts);
    }
    let gotLeft: Buffer | undefined;
    let gotRight: Buffer | undefined;
    await withTaskGroup(async (tg) => {
      tg.spawn(() => pump(left, right));
      tg.spawn(() => pump(right, left));
      tg.spawn(async () => void (gotLeft = await collect(left)));
      tg.spawn(async () => void (gotRight = await collect(right)));
    });
    assert.ok(gotLeft?.equals(data));
    assert.ok(gotRight?.equals(data));
  });
  await assertNothingLeft();
});

test("isCancelled is what a cancelled receive throws", async () => {
  await run(async () => {
    const [a, b] = await nodeSocketPair();
    await using left = fromNodeStream(a);
    await using right = fromNodeStream(b);
    const scope = new CancelScope();
    scope.cancel();
    await scope.run(async () => {
      const err = await thrown(() => right.receive());
      assert.ok(isCancelled(err));
    });
    void left;
  });
  await assertNothingLeft();
});

test("a Node stream wrapped after its end gives EOF; one destroyed before is broken; never a hang", async () => {
  await run(async () => {
    const ended = new PassThrough();
    ended.end("last");
    ended.resume();
    await new Promise((resolve) => ended.once("end", resolve));
    const s = fromNodeStream(ended);
    assert.equal((await s.receive()).byteLength, 0);
    await assert.rejects(s.send("x"), ClosedResourceError);
    await s.close();
    const destroyed = new PassThrough();
    destroyed.destroy();
    const d = fromNodeStream(destroyed);
    await assert.rejects(d.receive(), BrokenResourceError);
    await assert.rejects(d.send("x"), BrokenResourceError);
    await d.close();
  });
});
