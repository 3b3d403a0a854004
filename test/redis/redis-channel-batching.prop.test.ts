// Random programs against the fast paths of a Redis channel's receiving side (a real
// redis-server): many worker tasks on clones of one receive handle, with `prefetch` above 1,
// so that reads are handed straight to waiting receives (the waker makes the envelope, or the
// `for await` step), short reads are followed by a wait for the XACK of the values handed out
// before the next read, and full reads (a backlog) by the next read at once. Workers receive
// with `receive()` or `for await`, and per value acknowledge, fail, return without
// acknowledging, are cancelled holding it, close their handle holding it, or have a waiting
// receive cancelled; the producer sends in bursts and trickles. Checked: every value is
// acknowledged exactly once, nothing is left pending, no connection is left open.
// Replay a failure with the seed printed below and fast-check's `path`.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CancelScope, checkpoint, moveOnAfter, run, sleep, withTaskGroup } from "../../src/index.js";
import { openRedisChannel, type RedisReceiveChannel } from "../../src/redis/index.js";
import type { Envelope } from "../../src/index.js";
import { skipRedis, useRedis } from "./redis-server.js";

const SEED = 0x16_ba7c;
const NUM_RUNS = 10;
const skip = skipRedis;

type Fate = "ack" | "fail" | "return" | "cancelHolding" | "closeHolding" | "cancelWaiting";
interface Worker {
  readonly iterate: boolean; // `for await` rather than `receive()`
  readonly fates: readonly Fate[];
}
interface Program {
  readonly values: number;
  /** Per value: checkpoints before its send (0: in the same burst as the one before). */
  readonly gaps: readonly number[];
  readonly consumers: readonly { readonly prefetch: number; readonly workers: readonly Worker[] }[];
}

const fate = fc.constantFrom<Fate>("ack", "ack", "ack", "ack", "ack", "fail", "return", "cancelHolding", "closeHolding", "cancelWaiting");
const program: fc.Arbitrary<Program> = fc.record({
  values: fc.integer({ min: 1, max: 80 }),
  gaps: fc.array(fc.constantFrom(0, 0, 0, 1, 3, 20), { minLength: 80, maxLength: 80 }),
  consumers: fc.array(
    fc.record({
      prefetch: fc.constantFrom(2, 4, 10, 50),
      workers: fc.array(fc.record({ iterate: fc.boolean(), fates: fc.array(fate, { maxLength: 10 }) }), { minLength: 1, maxLength: 8 }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

let runs = 0;

const redis = useRedis();

test(`redis channel property: many workers per handle, reads handed to waiting receives, lose and duplicate nothing (seed ${SEED})`, { skip }, async () => {
  console.log(`redis-channel-batching.prop: fast-check seed ${SEED}, ${NUM_RUNS} runs`);
  const tcp = () => process.getActiveResourcesInfo().filter((r) => r === "TCPWrap" || r === "TCPSocketWrap").length;
  const before = tcp();
  await fc.assert(fc.asyncProperty(program, (p) => runProgram(p)), { seed: SEED, numRuns: NUM_RUNS });
  await sleep(20);
  assert.equal(tcp(), before, "a channel's blocking connection was left open");
});

class Crash extends Error {}

async function runProgram(p: Program): Promise<void> {
  const key = `batching:${++runs}`;
  const acked = new Map<number, number>();
  const total = p.values;
  const done = () => acked.size >= total;
  const count = (n: number) => acked.set(n, (acked.get(n) ?? 0) + 1);
  const opts = (name: string, prefetch: number) => ({ group: "g", consumer: name, blockMs: 50, claimIdleMs: 60_000, prefetch });
  const finished = await run(
    () =>
      moveOnAfter(15_000, async () => {
        await withTaskGroup(async (tg) => {
          const [send, rx0] = openRedisChannel<number>(redis.client, key, opts("producer", 1));
          rx0.close();
          tg.spawn(async () => {
            using tx = send;
            for (let n = 0; n < total; n++) {
              for (let y = 0; y < p.gaps[n]!; y++) await checkpoint();
              await tx.send(n);
            }
          });
          p.consumers.forEach((c, i) => {
            const [tx, rx] = openRedisChannel<number>(redis.client, key, opts(`c${i}`, c.prefetch));
            tx.close();
            tg.spawn(async () => {
              try {
                await withTaskGroup(async (workers) => {
                  for (const w of c.workers) {
                    const mine = rx.clone();
                    workers.spawn(() => worker(mine, w, count, done));
                  }
                });
              } finally {
                rx.close(); // what this consumer still holds goes back to the group
              }
            });
          });
          // A last consumer that only acknowledges, so that every program can finish.
          tg.spawn(async () => {
            const [tx, rx] = openRedisChannel<number>(redis.client, key, opts("finisher", 2));
            tx.close();
            using _ = rx;
            while (!done()) {
              const job = await moveOnAfter(100, () => rx.receive());
              if (job === undefined) continue;
              await job.ack();
              count(job.value);
            }
            tg.cancel(); // every value is done: stop the workers still waiting
          });
        });
        return true;
      }),
    { handleSignals: false },
  );
  assert.equal(finished, true, "the program hung: still running after 15 s");
  for (let n = 0; n < total; n++) assert.equal(acked.get(n), 1, `${n} acknowledged ${acked.get(n) ?? 0} times`);
  const pending = (await redis.client.sendCommand(["XPENDING", key, "g"])) as unknown[];
  assert.equal(pending[0], 0, "entries left pending");
  await redis.client.sendCommand(["DEL", key]);
}

/** One worker: each fate in a task of its own (its end hands back what it holds). */
async function worker(rx: RedisReceiveChannel<number>, w: Worker, count: (n: number) => void, done: () => boolean): Promise<void> {
  try {
    if (w.iterate) {
      // One task iterates: "fail", "return", "cancelHolding" and "closeHolding" end it.
      let i = 0;
      await oneTask(async (scope) => {
        for await (const job of rx) {
          const f = w.fates[i++] ?? "ack";
          if (!(await apply(job, f, rx, scope, count))) return;
          if (done()) return;
        }
      });
      return;
    }
    for (const f of w.fates) {
      if (done()) return;
      await oneTask(async (scope) => {
        if (f === "cancelWaiting") {
          // A receive cancelled while it waits (or just after it got a value: then the task ends holding it).
          await moveOnAfter(2, () => rx.receive());
          return;
        }
        const job = await moveOnAfter(200, () => rx.receive());
        if (job !== undefined) await apply(job, f, rx, scope, count);
      });
      if (f === "closeHolding") return; // this worker's handle is closed
    }
  } finally {
    rx.close();
  }
}

/** Applies a fate to a value; false if the task must end (it then hands back what it holds). */
async function apply(job: Envelope<number>, f: Fate, rx: RedisReceiveChannel<number>, scope: CancelScope, count: (n: number) => void): Promise<boolean> {
  switch (f) {
    case "ack":
    case "cancelWaiting":
      // Shielded: an ack cancelled while its XACK travels may or may not have happened.
      await moveOnAfter(5_000, () => job.ack(), { shield: true });
      count(job.value);
      return true;
    case "fail":
      throw new Crash();
    case "return":
      return false;
    case "cancelHolding":
      scope.cancel();
      await checkpoint();
      return false;
    case "closeHolding":
      rx.close(); // hands it back to the other handles (or to the group, if it was the last)
      return false;
  }
}

async function oneTask(body: (scope: CancelScope) => Promise<void>): Promise<void> {
  const scope = new CancelScope();
  try {
    await scope.run(() =>
      withTaskGroup(async (g) => {
        g.spawn(() => body(scope));
      }),
    );
  } catch (err) {
    if (!(err instanceof Crash)) throw err;
  }
}
