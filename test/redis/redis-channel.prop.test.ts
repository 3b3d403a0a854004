// Random programs on one Redis channel (a real redis-server): a producer sends while several
// consumers (each its own channel and consumer name, as separate processes would be) receive
// and acknowledge, fail, return without acknowledging, are cancelled while waiting or holding,
// or close their channel mid-way (handing what they hold back to the group). Checked: every
// value is acknowledged exactly once, nothing is left pending, no connection is left open.
// Replay a failure with the seed printed below and fast-check's `path`.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CancelScope, checkpoint, moveOnAfter, run, sleep, withTaskGroup, type TaskGroup } from "../../src/index.js";
import { openRedisChannel, type RedisReceiveChannel } from "../../src/redis/index.js";
import { skipRedis, useRedis } from "./redis-server.js";

const SEED = 0x16_4ed1;
const NUM_RUNS = 12;
const skip = skipRedis;

type Fate = "ack" | "fail" | "return" | "cancelWhileWaiting" | "cancelHolding" | "close";
interface Consumer {
  readonly prefetch: number;
  readonly fates: readonly Fate[];
}
interface Program {
  readonly values: number;
  readonly sendYields: readonly number[];
  readonly consumers: readonly Consumer[];
}

const program: fc.Arbitrary<Program> = fc.record({
  values: fc.integer({ min: 1, max: 30 }),
  sendYields: fc.array(fc.nat({ max: 3 }), { minLength: 30, maxLength: 30 }),
  consumers: fc.array(
    fc.record({
      prefetch: fc.constantFrom(1, 1, 3, 10),
      fates: fc.array(fc.constantFrom<Fate>("ack", "ack", "ack", "fail", "return", "cancelWhileWaiting", "cancelHolding", "close"), {
        maxLength: 12,
      }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

let run_ = 0;

const redis = useRedis();

test(`redis channel property: random consumers, failures, cancellations and closes lose and duplicate nothing (seed ${SEED})`, { skip }, async () => {
  console.log(`redis-channel.prop: fast-check seed ${SEED}, ${NUM_RUNS} runs`);
  const tcp = () => process.getActiveResourcesInfo().filter((r) => r === "TCPWrap" || r === "TCPSocketWrap").length;
  const before = tcp();
  await fc.assert(fc.asyncProperty(program, (p) => runProgram(p)), { seed: SEED, numRuns: NUM_RUNS });
  await sleep(20);
  assert.equal(tcp(), before, "a channel's blocking connection was left open");
});

class Crash extends Error {}

async function runProgram(p: Program): Promise<void> {
  const key = `prop:${++run_}`;
  const acked = new Map<number, number>();
  const total = p.values;
  const done = () => [...acked.values()].reduce((a, b) => a + b, 0) >= total;
  const opts = (name: string, prefetch: number) => ({ group: "g", consumer: name, blockMs: 50, claimIdleMs: 60_000, prefetch });
  const finished = await run(
    () =>
      moveOnAfter(10_000, async () => {
        await withTaskGroup(async (tg) => {
          const [send, rx0] = openRedisChannel<number>(redis.client, key, opts("producer", 1));
          rx0.close();
          tg.spawn(async () => {
            using tx = send;
            for (let n = 0; n < total; n++) {
              for (let y = 0; y < p.sendYields[n]!; y++) await checkpoint();
              await tx.send(n);
            }
          });
          p.consumers.forEach((c, i) => {
            tg.spawn(() => consumer(tg, `c${i}`, c, opts, acked, done));
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
              acked.set(job.value, (acked.get(job.value) ?? 0) + 1);
            }
          });
        });
        return true;
      }),
    { handleSignals: false },
  );
  assert.equal(finished, true, "the program hung: still running after 10 s");
  for (let n = 0; n < total; n++) assert.equal(acked.get(n), 1, `${n} acknowledged ${acked.get(n) ?? 0} times`);
  const pending = (await redis.client.sendCommand(["XPENDING", key, "g"])) as unknown[];
  assert.equal(pending[0], 0, "entries left pending");
  await redis.client.sendCommand(["DEL", key]);
}

async function consumer(
  tg: TaskGroup,
  name: string,
  c: Consumer,
  opts: (name: string, prefetch: number) => Parameters<typeof openRedisChannel>[2],
  acked: Map<number, number>,
  done: () => boolean,
): Promise<void> {
  const [tx, rx] = openRedisChannel<number>(redis.client, `prop:${run_}`, opts(name, c.prefetch) as never);
  tx.close();
  try {
    for (const fate of c.fates) {
      if (done()) return;
      if (fate === "close") return; // the finally closes the channel: what it holds goes back
      await oneStep(tg, rx, fate, acked);
    }
  } finally {
    rx.close();
  }
}

/** One receive in a task of its own (so that its end hands back what it holds). */
async function oneStep(tg: TaskGroup, rx: RedisReceiveChannel<number>, fate: Fate, acked: Map<number, number>): Promise<void> {
  const scope = new CancelScope();
  if (fate === "cancelWhileWaiting") {
    tg.spawn(async () => {
      await sleep(5);
      scope.cancel();
    });
  }
  try {
    await scope.run(() =>
      withTaskGroup(async (g) => {
        g.spawn(async () => {
          const job = await moveOnAfter(200, () => rx.receive());
          if (job === undefined) return;
          if (fate === "ack" || fate === "cancelWhileWaiting") {
            // Shielded: an ack cancelled while its XACK travels may or may not have happened.
            await moveOnAfter(5_000, () => job.ack(), { shield: true });
            acked.set(job.value, (acked.get(job.value) ?? 0) + 1);
          } else if (fate === "fail") throw new Crash();
          else if (fate === "cancelHolding") {
            scope.cancel();
            await checkpoint();
          }
          // "return": ends without ack
        });
      }),
    );
  } catch (err) {
    if (!(err instanceof Crash)) throw err;
  }
}
