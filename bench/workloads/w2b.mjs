// W2b — stream 1,000,000 values from one producer to one consumer through a
// channel of capacity 1024.
//
// Measures: wall time until the consumer has seen the end of the stream.
// Throughput of a buffered channel when every send and every receive is
// awaited. Goal (Node 26): trellis ≤ 2.0× raw.
//
// raw:       a hand-written bounded ring buffer (capacity 1024) whose put() and
//            take() always return a promise that is awaited; close() ends it.
// trellis:   openChannel(1024); `await send(v)` n times then close(); the
//            consumer drains it with for-await (ends on EndOfChannel).
// effect:    Queue.bounded(1024), one offer / one take per value, two forked
//            fibers (the consumer takes exactly n).
// effection: skipped — effection has no bounded queue (createQueue and
//            createChannel are unbounded, so there would be no backpressure).

import { now, trellis, effect } from "../lib.mjs";

export const meta = { n: 1_000_000, goal: { ms: 1.8 }, what: "1 producer → 1 consumer, capacity 1024" };

const CAPACITY = 1024;
const DONE = Symbol("done");

/** Bounded FIFO ring buffer with waiting putters / takers. */
class RingQueue {
  constructor(capacity) {
    this.buf = new Array(capacity);
    this.cap = capacity;
    this.head = 0;
    this.size = 0;
    this.closed = false;
    this.takers = []; // resolve functions, only when the buffer is empty
    this.putters = []; // { value, resolve }, only when the buffer is full
  }
  put(value) {
    if (this.takers.length > 0) {
      this.takers.shift()(value);
      return Promise.resolve();
    }
    if (this.size < this.cap) {
      this.buf[(this.head + this.size++) % this.cap] = value;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.putters.push({ value, resolve }));
  }
  take() {
    if (this.size > 0) {
      const value = this.buf[this.head];
      this.buf[this.head] = undefined;
      this.head = (this.head + 1) % this.cap;
      this.size--;
      if (this.putters.length > 0) {
        const p = this.putters.shift();
        this.buf[(this.head + this.size++) % this.cap] = p.value;
        p.resolve();
      }
      return Promise.resolve(value);
    }
    if (this.closed) return Promise.resolve(DONE);
    return new Promise((resolve) => this.takers.push(resolve));
  }
  close() {
    this.closed = true;
    for (const resolve of this.takers.splice(0)) resolve(DONE);
  }
}

export async function raw(n) {
  const t0 = now();
  const q = new RingQueue(CAPACITY);
  let received = 0;
  await Promise.all([
    (async () => {
      for (let i = 0; i < n; i++) await q.put(i);
      q.close();
    })(),
    (async () => {
      while ((await q.take()) !== DONE) received++;
    })(),
  ]);
  if (received !== n) throw new Error(`raw received ${received} of ${n}`);
  return now() - t0;
}

export async function trellis_(n) {
  const { withTaskGroup, openChannel } = await trellis("withTaskGroup", "openChannel");
  const t0 = now();
  const [send, receive] = openChannel(CAPACITY);
  let received = 0;
  await withTaskGroup(async (tg) => {
    tg.spawn(async () => {
      for (let i = 0; i < n; i++) await send.send(i);
      send.close();
    });
    tg.spawn(async () => {
      for await (const _ of receive) received++;
    });
  });
  if (received !== n) throw new Error(`trellis received ${received} of ${n}`);
  return now() - t0;
}

export async function effect_(n) {
  const { Effect, Queue, Fiber } = await effect();
  const t0 = now();
  await Effect.runPromise(
    Effect.gen(function* () {
      const q = yield* Queue.bounded(CAPACITY);
      const producer = yield* Effect.forkChild(
        Effect.gen(function* () {
          for (let i = 0; i < n; i++) yield* Queue.offer(q, i);
        }),
      );
      const consumer = yield* Effect.forkChild(
        Effect.gen(function* () {
          for (let i = 0; i < n; i++) yield* Queue.take(q);
        }),
      );
      yield* Fiber.join(producer);
      yield* Fiber.join(consumer);
    }),
  );
  return now() - t0;
}

export const systems = { raw, trellis: trellis_, effect: effect_ };
