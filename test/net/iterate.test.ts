// `for await (const chunk of stream)` over a Node-backed stream takes its iterator results from
// the engine where the chunk is handed over (no `then` per chunk). The precondition of that
// shortcut: the iterator's next() is the same receive as receive() — same checks, checkpoint,
// park, wake and abort. Checked here with a seeded program mixing next() and receive(), either
// of them cancelled at random points: every byte arrives once and in order, the end comes
// exactly once (then next() keeps saying done), and nothing is left open.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkpoint, run, withTaskGroup } from "../../src/index.js";
import { waitAllTasksBlocked } from "../../src/testing/index.js";
import { fromNodeStream, type HalfCloseableStream, type SocketStream } from "../../src/net/index.js";
import { assertNothingLeft, maybeCancelled, nodeSocketPair, pattern, prng, socketStreamPair } from "./support.js";

const tcpPair = async (): Promise<[HalfCloseableStream, HalfCloseableStream]> => (await socketStreamPair()).slice(0, 2) as [SocketStream, SocketStream];


async function nodeStreamPair(): Promise<[HalfCloseableStream, HalfCloseableStream]> {
  const [a, b] = await nodeSocketPair();
  return [fromNodeStream(a), fromNodeStream(b)];
}


async function program(seed: number, makePair: () => Promise<[HalfCloseableStream, HalfCloseableStream]>, seen: Record<string, number>): Promise<void> {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const total = 20_000 + int(300_000);
  const data = pattern(total, seed);
  const [tx, rx] = await makePair();
  const received: Uint8Array[] = [];
  let ends = 0;
  await withTaskGroup(async (tg) => {
    tg.spawn(async () => {
      for (let at = 0; at < total; ) {
        const n = 1 + int(30_000);
        await tx.send(data.subarray(at, at + n));
        at += n;
        if (int(4) === 0) await checkpoint();
      }
      await tx.sendEof();
    });
    const iterator = rx[Symbol.asyncIterator]();
    for (;;) {
      const cancelAfter = int(4) === 0 ? int(3) : -1;
      if (int(2) === 0) {
        const r = await maybeCancelled(cancelAfter, () => iterator.next());
        if (r.cancelled) {
          seen.cancelledNext!++;
          continue;
        }
        seen.next!++;
        if (r.value!.done) {
          ends++;
          // Done stays done, without receiving again.
          assert.deepEqual(await iterator.next(), { value: undefined, done: true });
          break;
        }
        received.push(r.value!.value);
      } else {
        const r = await maybeCancelled(cancelAfter, () => rx.receive(1 + int(40_000)));
        if (r.cancelled) {
          seen.cancelledReceive!++;
          continue;
        }
        seen.receive!++;
        if (r.value!.byteLength === 0) {
          ends++;
          break;
        }
        received.push(r.value!);
      }
    }
  });
  assert.equal(ends, 1);
  const got = Buffer.concat(received);
  assert.equal(got.byteLength, total, `seed ${seed}: ${total - got.byteLength} bytes lost or extra`);
  assert.ok(got.equals(Buffer.from(data)), `seed ${seed}: bytes out of order or wrong`);
  await tx.close();
  await rx.close();
}

for (const [name, maker] of [
  ["TCP", tcpPair],
  ["fromNodeStream", nodeStreamPair],
] as const) {
  test(`for await and receive() mixed, cancelled at random points over ${name}: every byte once, in order, one end (seeded)`, async () => {
    const seen = { next: 0, receive: 0, cancelledNext: 0, cancelledReceive: 0 };
    for (let seed = 1; seed <= 16; seed++) await run(() => program(seed, maker, seen));
    assert.ok(seen.cancelledNext > 0 && seen.cancelledReceive > 0 && seen.next > 0 && seen.receive > 0, JSON.stringify(seen));
    await assertNothingLeft();
  });
}

test("a next() parked when the stream is closed rejects with ClosedResourceError; one parked when the peer ends gets done", async () => {
  await run(async () => {
    const [a, b] = await tcpPair();
    const iterator = b[Symbol.asyncIterator]();
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => assert.deepEqual(await iterator.next(), { value: undefined, done: true }));
      await waitAllTasksBlocked();
      await a.sendEof();
    });
    await a.close();
    await b.close();
    const [c, d] = await tcpPair();
    const it2 = d[Symbol.asyncIterator]();
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => await assert.rejects(it2.next(), (err: Error) => err.name === "ClosedResourceError"));
      await waitAllTasksBlocked();
      await d.close();
    });
    await c.close();
  });
  await assertNothingLeft();
});
