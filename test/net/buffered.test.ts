import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelScope, run, withTaskGroup } from "../../src/index.js";
import { currentScope } from "../../src/core/index.js";
import { memoryStreamPair, waitAllTasksBlocked } from "../../src/testing/index.js";
import {
  BufferedStream,
  DelimiterNotFoundError,
  IncompleteReadError,
  StapledStream,
  connectTcp,
  listenTcp,
} from "../../src/net/index.js";
import { thrown } from "../support/thrown.js";
import { assertNothingLeft } from "./support.js";

const text = (b: Uint8Array) => Buffer.from(b).toString();

test("receiveExactly waits for all its bytes across chunks and keeps the rest", async () => {
  await run(async () => {
    const [a, b] = memoryStreamPair();
    const reader = new BufferedStream(b);
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await a.send("ab");
        await a.send("cdef");
        await a.sendEof();
      });
      assert.equal(text(await reader.receiveExactly(3)), "abc");
      assert.equal(text(await reader.receiveExactly(2)), "de");
      const err = await thrown(() => reader.receiveExactly(4));
      assert.ok(err instanceof IncompleteReadError);
      assert.equal(text(err.partial), "f");
    });
  });
});

test("receiveUntil returns the bytes before the delimiter, consumes it, and refuses past maxBytes", async () => {
  await run(async () => {
    const [a, b] = memoryStreamPair();
    const reader = new BufferedStream(b);
    await a.send("HELO x\r\nMAIL");
    await a.send(" y\r\n" + "z".repeat(50));
    assert.equal(text(await reader.receiveUntil("\r\n", 100)), "HELO x");
    assert.equal(text(await reader.receiveUntil(Buffer.from("\r\n"), 100)), "MAIL y");
    assert.ok((await thrown(() => reader.receiveUntil("\r\n", 10))) instanceof DelimiterNotFoundError);
    // The bytes stay buffered after DelimiterNotFoundError.
    assert.equal(reader.buffered.byteLength, 50);
    assert.equal(text(await reader.receiveSome(5)), "zzzzz");
    await a.sendEof();
    assert.ok((await thrown(() => reader.receiveUntil("\n", 1000))) instanceof IncompleteReadError);
    assert.ok((await thrown(() => reader.receiveUntil("", 10))) instanceof RangeError);
    assert.ok((await thrown(() => reader.receiveExactly(-1))) instanceof RangeError);
  });
});

test("lines() yields lines without \\n or \\r\\n, then a last partial line, and bounds line length", async () => {
  await run(async () => {
    const [a, b] = memoryStreamPair();
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await a.send("one\r\ntw");
        await a.send("o\n\nthré");
        await a.send("e");
        await a.sendEof();
      });
      const lines: string[] = [];
      for await (const line of new BufferedStream(b).lines()) lines.push(line);
      assert.deepEqual(lines, ["one", "two", "", "thrée"]);
    });
    const [c, d] = memoryStreamPair();
    await c.send("x".repeat(20) + "\n");
    const err = await thrown(async () => {
      for await (const _ of new BufferedStream(d).lines({ maxBytes: 10 })) void _;
    });
    assert.ok(err instanceof DelimiterNotFoundError);
  });
});

test("a cancelled receiveExactly loses no byte", async () => {
  await run(async () => {
    const [a, b] = memoryStreamPair();
    const reader = new BufferedStream(b);
    const scope = new CancelScope();
    await withTaskGroup(async (tg) => {
      tg.spawn(() => scope.run(() => reader.receiveExactly(10)));
      await a.send("12345");
      await waitAllTasksBlocked();
      scope.cancel();
    });
    await a.send("67890");
    assert.equal(text(await reader.receiveExactly(10)), "1234567890");
  });
});

test("BufferedStream passes send, sendEof and close through; StapledStream joins two one-way streams", async () => {
  await run(async () => {
    const [a, b] = memoryStreamPair();
    const [c, d] = memoryStreamPair();
    // Send on a, receive on d: a stapled stream of a's sending half and d's receiving half.
    const both = new StapledStream(a, d);
    await both.send("to b");
    assert.equal(text(await b.receive()), "to b");
    await c.send("to both");
    assert.equal(text(await both.receive()), "to both");
    await both.sendEof();
    assert.equal((await b.receive()).byteLength, 0);
    await both.close();
    assert.throws(() => new StapledStream({} as never, d), TypeError);
    const [e, f] = memoryStreamPair();
    const buffered = new BufferedStream(f);
    await buffered.send("back");
    assert.equal(text(await e.receive()), "back");
    await buffered.sendEof();
    assert.equal((await e.receive()).byteLength, 0);
    await buffered.close();
    await assert.rejects(f.receive(), (err: Error) => err.name === "ClosedResourceError");
  });
});

test("a socket registers as a resource labelled with its address and waits are labelled", async () => {
  const labels: string[] = [];
  await run(
    async () => {
      await using listener = await listenTcp(0);
      const port = listener.address.port!;
      const resources = () => [...currentScope()!.runtime.resources].map((r) => r.describe());
      assert.deepEqual(resources(), [`listener 127.0.0.1:${port}`]);
      await withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          await using server = await listener.accept();
          await server.receive();
        });
        await waitAllTasksBlocked();
        await using conn = await connectTcp("127.0.0.1", port);
        await waitAllTasksBlocked();
        assert.ok(resources().includes(`socket 127.0.0.1:${port}`), resources().join(", "));
        await conn.send("x");
      });
      assert.deepEqual(resources(), [`listener 127.0.0.1:${port}`]);
      assert.ok(labels.includes(`accept on 127.0.0.1:${port}`), labels.join(", "));
      assert.ok(labels.some((l) => /^socket receive 127\.0\.0\.1:\d+$/.test(l)), labels.join(", "));
    },
    { instruments: [{ taskBlocked: (_task, label) => void labels.push(label) }] },
  );
  await assertNothingLeft();
});
