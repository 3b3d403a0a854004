// Seed 002, "asyncio.Queue is difficult to use": a producer and five consumers share a queue and
// a consumer crashes. With an unbounded queue the producer runs away (nothing pushes back); with
// a bounded one it waits forever once every consumer is gone (nothing tells it). A trellis
// rendezvous channel gives both answers: `send` returns only once a consumer took the value,
// and when every consumer has closed its clone of the receive handle the producer gets
// BrokenResourceError instead of hanging.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BrokenResourceError, moveOnAfter, openChannel, run, sleep, withTaskGroup, type ReceiveChannel } from "../../src/index.js";
import { assertNoTimersLeft } from "../support/tasks.js";

/** A few event-loop turns: plain promises are nothing trellis can see blocked, so we just let them run. */
async function eventLoopTurns(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** The asyncio.Queue of the article, as people write it in JavaScript: put never waits unless bounded. */
class PlainQueue<T> {
  readonly items: T[] = [];
  private readonly getters: ((value: T) => void)[] = [];
  private readonly putters: (() => void)[] = [];
  constructor(private readonly maxsize = Infinity) {}
  async put(value: T): Promise<void> {
    while (this.getters.length === 0 && this.items.length >= this.maxsize) await new Promise<void>((resolve) => this.putters.push(resolve));
    const getter = this.getters.shift();
    if (getter !== undefined) getter(value);
    else this.items.push(value);
  }
  async get(): Promise<T> {
    if (this.items.length > 0) {
      const value = this.items.shift()!;
      this.putters.shift()?.();
      return value;
    }
    return new Promise<T>((resolve) => this.getters.push(resolve));
  }
}

/** A consumer as the article writes it: log the failure and return (closing its handle on the way out). */
async function consumer(rx: ReceiveChannel<number>, crashOn: (n: number) => boolean, log: string[], name: string): Promise<void> {
  using channel = rx;
  let n = 0;
  for await (const item of channel) {
    try {
      if (crashOn(++n)) throw new Error(`could not eat item ${item}`);
      log.push(`${name} ate ${item}`);
      await sleep(0);
    } catch (err) {
      log.push(`${name} crashed: ${(err as Error).message}`);
      return;
    }
  }
}

test("the failure: with a plain unbounded queue the producer runs away once the consumers have crashed", async () => {
  const queue = new PlainQueue<number>();
  const consumers = Array.from({ length: 5 }, async () => {
    await queue.get();
    throw new Error("eat failed"); // each consumer dies on its first item
  });
  const crashed = Promise.allSettled(consumers);
  for (let i = 0; i < 1000; i++) await queue.put(i);
  await crashed;
  assert.equal(queue.items.length, 995, "nobody is listening, yet every put succeeded and the queue keeps growing");
});

test("the failure: with a plain bounded queue the producer waits forever once every consumer is gone", async () => {
  const queue = new PlainQueue<number>(1);
  const consumers = Array.from({ length: 5 }, async () => {
    await queue.get();
    throw new Error("eat failed");
  });
  void Promise.allSettled(consumers);
  let blocked = true;
  void (async () => {
    for (let i = 0; i < 10; i++) await queue.put(i);
    blocked = false;
  })();
  await eventLoopTurns();
  assert.equal(blocked, true, "the producer is stuck in put() and nothing will ever tell it why");
});

test("one consumer crashing leaves the other four serving, and the producer never runs ahead of them", async () => {
  const [send, receive] = openChannel<number>(0);
  const log: string[] = [];
  let produced = 0;
  await run(() =>
    withTaskGroup(async (tg) => {
      for (let c = 0; c < 5; c++) {
        const rx = receive.clone();
        tg.spawn(() => consumer(rx, (n) => c === 2 && n === 3, log, `consumer ${c}`), { name: `consumer ${c}` });
      }
      receive.close();
      tg.spawn(async () => {
        using tx = send;
        for (let i = 0; i < 100; i++) {
          await tx.send(i);
          produced++;
          // Backpressure: a send returned only because a consumer took the value; nothing piles up.
          assert.equal(tx.statistics().currentBufferUsed, 0);
        }
      });
    }),
  );
  assert.equal(produced, 100);
  const crashes = log.filter((line) => line.includes("crashed"));
  assert.deepEqual(crashes.length, 1);
  assert.match(crashes[0]!, /^consumer 2 crashed: could not eat item \d+$/);
  assert.equal(log.filter((line) => line.includes(" ate ")).length, 99, "every other item was eaten by the four survivors");
  assert.equal(send.statistics().openReceiveChannels, 0, "each consumer closed its clone on the way out");
  await assertNoTimersLeft();
});

test("when every consumer is gone the producer gets BrokenResourceError instead of hanging", async () => {
  const [send, receive] = openChannel<number>(0);
  const log: string[] = [];
  let stoppedAt = -1;
  let error: unknown;
  const finished = await run(() =>
    // A watchdog on the real clock: it costs nothing when the test passes, and also ends a livelock.
    moveOnAfter(2_000, () =>
      withTaskGroup(async (tg) => {
        for (let c = 0; c < 5; c++) {
          const rx = receive.clone();
          tg.spawn(() => consumer(rx, (n) => n === 2, log, `consumer ${c}`)); // each dies on its second item
        }
        receive.close();
        tg.spawn(async () => {
          using tx = send;
          for (let i = 0; ; i++) {
            try {
              await tx.send(i);
            } catch (err) {
              stoppedAt = i;
              error = err;
              return;
            }
          }
        });
        return "finished";
      }),
    ),
  );
  assert.equal(finished, "finished", "the producer hung");
  assert.ok(error instanceof BrokenResourceError, `expected BrokenResourceError, got ${String(error)}`);
  assert.equal(stoppedAt, 10, "five consumers took two items each; the eleventh send found nobody");
  assert.equal(log.filter((line) => line.includes("crashed")).length, 5);
  await assertNoTimersLeft();
});

test("a consumer error that is not caught stops the producer and surfaces from the group", async () => {
  const [send, receive] = openChannel<number>(0);
  let producerEnded = "";
  await assert.rejects(
    run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          using rx = receive;
          for await (const item of rx) if (item === 3) throw new Error(`could not eat item ${item}`);
        });
        tg.spawn(async () => {
          using tx = send;
          try {
            for (let i = 0; ; i++) await tx.send(i);
          } catch (err) {
            // The consumer's `using` closed the last receive handle as its error unwound, so the
            // waiting send is broken; a cancellation from the failing group would do as well.
            producerEnded = err instanceof Error ? err.name : String(err);
            if (!(err instanceof BrokenResourceError)) throw err;
          }
        });
      }),
    ),
    { message: "could not eat item 3" },
  );
  assert.ok(["BrokenResourceError", "Cancelled"].includes(producerEnded), producerEnded);
});
