import { test } from "node:test";
import assert from "node:assert/strict";
import { BrokenResourceError, CancelScope, run, withTaskGroup } from "../../src/index.js";
import {
  checkHalfCloseableStream,
  checkOneWayStream,
  lockstepStreamOneWayPair,
  lockstepStreamPair,
  memoryStreamOneWayPair,
  memoryStreamPair,
  waitAllTasksBlocked,
} from "../../src/testing/index.js";

test("memoryStreamPair passes checkHalfCloseableStream (clogged: capacity 0)", async () => {
  await run(() => checkHalfCloseableStream(async () => memoryStreamPair(), async () => memoryStreamPair({ capacity: 0 })));
});

test("lockstepStreamPair passes checkHalfCloseableStream", async () => {
  await run(() => checkHalfCloseableStream(async () => lockstepStreamPair(), async () => lockstepStreamPair()));
});

test("the one-way pairs pass checkOneWayStream", async () => {
  await run(async () => {
    await checkOneWayStream(async () => memoryStreamOneWayPair(), async () => lockstepStreamOneWayPair());
    await checkOneWayStream(async () => memoryStreamOneWayPair({ capacity: 3 }), async () => lockstepStreamOneWayPair());
  });
});

test("lockstep: a send returns only once receives have taken every byte", async () => {
  await run(async () => {
    const [tx, rx] = lockstepStreamOneWayPair();
    const record: string[] = [];
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await tx.send("abcd");
        record.push("sent");
      });
      await waitAllTasksBlocked();
      record.push(new TextDecoder().decode(await rx.receive(3)));
      await waitAllTasksBlocked();
      record.push("second receive");
      record.push(new TextDecoder().decode(await rx.receive(3)));
      await waitAllTasksBlocked();
    });
    assert.deepEqual(record.slice(0, 2), ["abc", "second receive"]);
    assert.deepEqual(record.slice(2).sort(), ["d", "sent"]);
  });
});

test("a send mutated after it returns does not change what the receiver gets", async () => {
  await run(async () => {
    const [tx, rx] = memoryStreamOneWayPair();
    const buf = new Uint8Array([1, 2, 3]);
    await tx.send(buf);
    buf.fill(9);
    assert.deepEqual([...(await rx.receive())], [1, 2, 3]);
  });
});

test("a send cancelled after part of it was taken leaves the stream broken; one cancelled before is harmless", async () => {
  await run(async () => {
    const [tx, rx] = lockstepStreamOneWayPair();
    const untouched = new CancelScope();
    await withTaskGroup(async (tg) => {
      tg.spawn(() => untouched.run(() => tx.send("zz")));
      await waitAllTasksBlocked();
      untouched.cancel();
    });
    const partial = new CancelScope();
    await withTaskGroup(async (tg) => {
      tg.spawn(() => partial.run(() => tx.send("abcd")));
      await waitAllTasksBlocked();
      assert.equal(new TextDecoder().decode(await rx.receive(2)), "ab");
      partial.cancel();
    });
    await assert.rejects(tx.send("x"), BrokenResourceError);
  });
});

test("bad options are RangeError/TypeError", () => {
  assert.throws(() => memoryStreamPair({ capacity: -1 }), RangeError);
  assert.throws(() => memoryStreamPair({ capacity: 1.5 }), RangeError);
  assert.throws(() => memoryStreamPair(7 as never), TypeError);
  memoryStreamPair({ capacity: null });
});
