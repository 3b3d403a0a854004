// W2 — 200,000 ping-pong round trips between two tasks over two rendezvous
// (capacity 0) channels.
//
// Measures: wall time for n round trips (ping → pong) including task start and
// join. Cost of a blocking send/receive hand-off between tasks.
// Goal (Node 26): trellis ≤ 2.5× raw.
//
// raw:       a hand-written rendezvous channel (a sender waits until a receiver
//            took its value), two tasks, Promise.all.
// trellis:   openChannel(0) × 2 in a task group.
// effect:    Queue.bounded(0) × 2 — effect v4 accepts capacity 0 and treats it
//            as a rendezvous (offer suspends until a taker takes); two forked
//            fibers joined.
// effection: createChannel() × 2. Effection's Channel is a broadcast stream
//            (per-subscriber unbounded buffer, send never waits for a receiver),
//            so this is not a rendezvous; in strict ping-pong at most one value
//            is ever in flight, so the work done is comparable. Subscriptions
//            are made before either task starts so no message is dropped.

import { now, trellis, effect, effection } from "../lib.mjs";

export const meta = { n: 200_000, goal: { ms: 1.5 }, what: "ping-pong, rendezvous channels" };

/** Minimal rendezvous channel: send() resolves once a receiver took the value. */
class Rendezvous {
  receivers = []; // resolve functions of waiting receivers
  senders = []; // { value, resolve } of waiting senders
  send(value) {
    if (this.receivers.length > 0) {
      this.receivers.shift()(value);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.senders.push({ value, resolve }));
  }
  receive() {
    if (this.senders.length > 0) {
      const s = this.senders.shift();
      s.resolve();
      return Promise.resolve(s.value);
    }
    return new Promise((resolve) => this.receivers.push(resolve));
  }
}

export async function raw(n) {
  const t0 = now();
  const ping = new Rendezvous();
  const pong = new Rendezvous();
  await Promise.all([
    (async () => {
      for (let i = 0; i < n; i++) {
        await ping.send(i);
        await pong.receive();
      }
    })(),
    (async () => {
      for (let i = 0; i < n; i++) await pong.send(await ping.receive());
    })(),
  ]);
  return now() - t0;
}

export async function trellis_(n) {
  const { withTaskGroup, openChannel } = await trellis("withTaskGroup", "openChannel");
  const t0 = now();
  const [pingSend, pingReceive] = openChannel(0);
  const [pongSend, pongReceive] = openChannel(0);
  await withTaskGroup(async (tg) => {
    tg.spawn(async () => {
      for (let i = 0; i < n; i++) {
        await pingSend.send(i);
        await pongReceive.receive();
      }
    });
    tg.spawn(async () => {
      for (let i = 0; i < n; i++) await pongSend.send(await pingReceive.receive());
    });
  });
  return now() - t0;
}

export async function effect_(n) {
  const { Effect, Queue, Fiber } = await effect();
  const t0 = now();
  await Effect.runPromise(
    Effect.gen(function* () {
      const ping = yield* Queue.bounded(0);
      const pong = yield* Queue.bounded(0);
      const a = yield* Effect.forkChild(
        Effect.gen(function* () {
          for (let i = 0; i < n; i++) {
            yield* Queue.offer(ping, i);
            yield* Queue.take(pong);
          }
        }),
      );
      const b = yield* Effect.forkChild(
        Effect.gen(function* () {
          for (let i = 0; i < n; i++) yield* Queue.offer(pong, yield* Queue.take(ping));
        }),
      );
      yield* Fiber.join(a);
      yield* Fiber.join(b);
    }),
  );
  return now() - t0;
}

export async function effection_(n) {
  const { run, spawn, createChannel } = await effection();
  const t0 = now();
  await run(function* () {
    const ping = createChannel();
    const pong = createChannel();
    const pingSub = yield* ping;
    const pongSub = yield* pong;
    const a = yield* spawn(function* () {
      for (let i = 0; i < n; i++) {
        yield* ping.send(i);
        yield* pongSub.next();
      }
    });
    const b = yield* spawn(function* () {
      for (let i = 0; i < n; i++) {
        const { value } = yield* pingSub.next();
        yield* pong.send(value);
      }
    });
    yield* a;
    yield* b;
  });
  return now() - t0;
}

export const systems = { raw, trellis: trellis_, effect: effect_, effection: effection_ };
