// Seed 002, "asyncio.Queue is difficult to use": a producer feeds five consumers through a
// queue, and a consumer crashes. An unbounded queue (what `put` without waiting amounts to in
// JavaScript) exerts no backpressure: the producer runs away. A bounded one pushes back, but
// once every consumer is gone the producer waits in `put` forever. A trellis rendezvous channel
// (capacity 0) paces the producer by its consumers, lets one consumer leave without disturbing
// the others (each closes its own clone of the receive handle), and tells the producer with
// BrokenResourceError when the last one has gone.
import { setImmediate as nextTurn, setTimeout as delay } from "node:timers/promises";
import { BrokenResourceError, moveOnAfter, openChannel, run, sleep, withTaskGroup } from "../../dist/index.js";

export const title = "The queue with a crashed consumer: backpressure and a producer that learns";
export const seed = "002";
export const order = 20;

/** The asyncio.Queue of the article, written the usual JavaScript way. */
class PlainQueue {
  items = [];
  getters = [];
  putters = [];
  constructor(maxsize = Infinity) {
    this.maxsize = maxsize;
  }
  async put(item) {
    while (this.getters.length === 0 && this.items.length >= this.maxsize) await new Promise((resolve) => this.putters.push(resolve));
    const getter = this.getters.shift();
    if (getter) getter(item);
    else this.items.push(item);
  }
  async get() {
    if (this.items.length > 0) {
      const item = this.items.shift();
      this.putters.shift()?.();
      return item;
    }
    return new Promise((resolve) => this.getters.push(resolve));
  }
}

export async function plain() {
  // 1. Unbounded: consumer 2 crashes on its third item; nothing slows the producer down.
  const queue = new PlainQueue();
  let stop = false;
  let eaten = 0;
  let crash = "";
  for (let c = 0; c < 5; c++) {
    void (async () => {
      let n = 0;
      while (!stop) {
        const item = await queue.get();
        if (c === 2 && ++n === 3) return void (crash = `consumer 2 crashed on item ${item}`);
        await delay(1); // eating takes a while
        eaten++;
      }
    })();
  }
  let produced = 0;
  const end = performance.now() + 100;
  while (performance.now() < end) {
    await queue.put(produced++);
    if (produced % 100 === 0) await nextTurn(); // "networking"
  }
  stop = true;
  console.log(`  unbounded queue: ${crash}, and nobody noticed; in 100 ms the producer made ${produced} items, the consumers ate ${eaten}, ${queue.items.length} are piling up`);

  // 2. Bounded (maxsize 1): now every consumer crashes on its first item.
  const bounded = new PlainQueue(1);
  for (let c = 0; c < 5; c++) void bounded.get().then(() => {}); // take one item each, then "crash"
  let sent = 0;
  let stuck = true;
  void (async () => {
    for (let i = 0; i < 100; i++, sent++) await bounded.put(i);
    stuck = false;
  })();
  await delay(100);
  console.log(`  bounded queue: all five consumers are gone; after ${sent} items the producer has been stuck in put() for 100 ms, and nothing will ever wake it`);
  return stuck ? "no backpressure without a bound; with one, a producer that waits forever once the consumers are gone" : "unexpected: the producer finished";
}

export async function trellis() {
  const lines = [];
  await run(
    async () => {
      // 1. Rendezvous: consumer 2 crashes on its third item, the other four carry on.
      const [send, receive] = openChannel(); // capacity 0
      let produced = 0;
      let eaten = 0;
      let maxBuffered = 0;
      await withTaskGroup(async (tg) => {
        for (let c = 0; c < 5; c++) {
          const items = receive.clone(); // each consumer owns a clone...
          tg.spawn(async () => {
            try {
              let n = 0;
              for await (const item of items) {
                if (c === 2 && ++n === 3) return lines.push(`consumer 2 crashed on item ${item}; its handle closed, the other four kept going`);
                await sleep(1); // eating takes a while
                eaten++;
              }
            } finally {
              items.close(); // ...and closes it however it ends
            }
          });
        }
        receive.close();
        tg.spawn(async () => {
          try {
            await moveOnAfter(100, async () => {
              for (;;) {
                await send.send(produced); // returns once a consumer has taken it
                produced++;
                maxBuffered = Math.max(maxBuffered, send.statistics().currentBufferUsed);
              }
            });
          } finally {
            send.close(); // the consumers' loops end
          }
        });
      });
      lines.push(`in 100 ms the producer made ${produced} items, paced by the consumers (${eaten} eaten, at most ${maxBuffered} waiting in the channel)`);

      // 2. Every consumer crashes on its first item.
      const [send2, receive2] = openChannel();
      const t0 = performance.now();
      await withTaskGroup(async (tg) => {
        for (let c = 0; c < 5; c++) {
          const items = receive2.clone();
          tg.spawn(async () => {
            try {
              await items.receive(); // take one item, then "crash"
            } finally {
              items.close();
            }
          });
        }
        receive2.close();
        tg.spawn(async () => {
          let i = 0;
          try {
            for (; ; i++) await send2.send(i);
          } catch (err) {
            if (!(err instanceof BrokenResourceError)) throw err;
            lines.push(`all five consumers gone: send of item ${i} raised ${err.name} after ${(performance.now() - t0).toFixed(1)} ms`);
          } finally {
            send2.close();
          }
        });
      });
    },
    { handleSignals: false },
  );
  for (const line of lines) console.log(`  ${line}`);
  return "the producer never ran ahead, one consumer's crash disturbed no one, and the last one's exit stopped the producer at once";
}
