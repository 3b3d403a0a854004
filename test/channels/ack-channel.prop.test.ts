// Random programs on one acknowledged channel: producers send (some sends cancelled), workers
// receive and then acknowledge, return without acknowledging, fail, or are cancelled (while
// holding values or while waiting), in random interleavings. Checked: every value whose send
// succeeded is acknowledged exactly once, nothing else is, `deliveries` grows by one per
// delivery, the channel ends with nothing buffered or in flight, and nothing is left armed.
// Replay a failure with the seed printed below and fast-check's `path`.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CancelScope,
  EndOfChannel,
  WouldBlock,
  checkpoint,
  moveOnAfter,
  openAckChannel,
  run,
  withTaskGroup,
  type AckReceiveChannel,
  type Envelope,
  type TaskGroup,
} from "../../src/index.js";
import { assertNoTimersLeft } from "../support/tasks.js";

const SEED = 0x16_ac4;
const NUM_RUNS = 250;

/** What a worker does with each value it receives. */
type Fate = "ack" | "ackLater" | "return" | "fail" | "cancel";

interface Life {
  /** Values received before the life ends; each gets the fate at its position (cyclic). */
  readonly fates: readonly Fate[];
  readonly useTry: boolean;
  readonly yields: number;
  /** Cancel the life's scope after this many helper yields (maybe while it waits in receive). */
  readonly cancelAfter: number | null;
}

interface Program {
  readonly capacity: number;
  readonly producers: readonly { readonly count: number; readonly cancelAt: number | null }[];
  /** Per worker, the lives it goes through; after the last it drains with acks. */
  readonly workers: readonly (readonly Life[])[];
}

const fate = fc.constantFrom<Fate>("ack", "ack", "ackLater", "return", "fail", "cancel");
const life = fc.record({
  fates: fc.array(fate, { minLength: 1, maxLength: 4 }),
  useTry: fc.boolean(),
  yields: fc.nat({ max: 3 }),
  cancelAfter: fc.option(fc.nat({ max: 6 }), { freq: 3 }),
});
const program: fc.Arbitrary<Program> = fc.record({
  capacity: fc.constantFrom(0, 1, 2, 5, Infinity),
  producers: fc.array(fc.record({ count: fc.nat({ max: 8 }), cancelAt: fc.option(fc.nat({ max: 8 }), { freq: 4 }) }), {
    minLength: 1,
    maxLength: 3,
  }),
  workers: fc.array(fc.array(life, { maxLength: 4 }), { minLength: 1, maxLength: 3 }),
});

interface Log {
  readonly sent: Set<string>;
  readonly acked: Map<string, number>;
  /** id → the deliveries seen, in order. */
  readonly deliveries: Map<string, number[]>;
  /** id → value, to check an id always names the same value. */
  readonly values: Map<string, string>;
}

test(`ack channel property: sends, receives, acks, failures and cancellations lose and duplicate nothing (seed ${SEED})`, async () => {
  console.log(`ack-channel.prop: fast-check seed ${SEED}, ${NUM_RUNS} runs`);
  await fc.assert(
    fc.asyncProperty(program, async (p) => {
      const log = await runProgram(p);
      check(log);
    }),
    { seed: SEED, numRuns: NUM_RUNS },
  );
  await assertNoTimersLeft();
});

class Crash extends Error {}

async function runProgram(p: Program): Promise<Log> {
  const log: Log = { sent: new Set(), acked: new Map(), deliveries: new Map(), values: new Map() };
  const [send, receive] = openAckChannel<string>(p.capacity);
  const finished = await run(
    () =>
      moveOnAfter(3_000, async () => {
        await withTaskGroup(async (tg) => {
          p.producers.forEach((prod, i) => {
            const tx = send.clone();
            tg.spawn(async () => {
              using _ = tx;
              const scope = new CancelScope();
              await scope.run(async () => {
                for (let j = 0; j < prod.count; j++) {
                  if (prod.cancelAt === j) scope.cancel();
                  const value = `${i}:${j}`;
                  await tx.send(value); // raises Cancelled once the scope is cancelled
                  log.sent.add(value);
                }
              });
            });
          });
          p.workers.forEach((lives, w) => {
            const rx = receive.clone();
            tg.spawn(() => worker(tg, rx, lives, log), { name: `worker ${w}` });
          });
          send.close();
          receive.close();
        });
        return true;
      }),
    { handleSignals: false },
  );
  assert.equal(finished, true, "the program hung: still running after 3 s");
  const stats = receive.statistics();
  assert.equal(stats.inFlight, 0, "values left in flight");
  assert.equal(stats.currentBufferUsed, 0, "values left in the buffer");
  assert.equal(stats.openReceiveChannels, 0);
  return log;
}

async function worker(tg: TaskGroup, rx: AckReceiveChannel<string>, lives: readonly Life[], log: Log): Promise<void> {
  using _ = rx;
  for (const l of lives) {
    const scope = new CancelScope();
    if (l.cancelAfter !== null) {
      const after = l.cancelAfter;
      tg.spawn(async () => {
        for (let y = 0; y < after; y++) await checkpoint();
        scope.cancel();
      });
    }
    let ended = false;
    try {
      // A life is a task of its own: when it ends, what it holds unacknowledged goes back.
      await scope.run(() =>
        withTaskGroup(async (g) => {
          g.spawn(async () => {
            ended = await oneLife(rx, l, log);
          });
        }),
      );
    } catch (err) {
      if (!(err instanceof Crash)) throw err;
    }
    if (ended) return;
  }
  // Drain: acknowledge everything until the end.
  for await (const e of rx) {
    note(e, log);
    await ack(e, log);
  }
}

/** One life of a worker; true if it saw the end of the channel. */
async function oneLife(rx: AckReceiveChannel<string>, l: Life, log: Log): Promise<boolean> {
  const later: Envelope<string>[] = [];
  let unacked = 0; // held by this life, to go back when it ends
  for (let i = 0; i < l.fates.length; i++) {
    for (let y = 0; y < l.yields; y++) await checkpoint();
    let e: Envelope<string>;
    try {
      e = l.useTry ? rx.tryReceive() : await rx.receive();
    } catch (err) {
      if (err instanceof WouldBlock) continue;
      if (err instanceof EndOfChannel) {
        for (const held of later) await ack(held, log);
        // The end, as far as this task is concerned; values it holds come back once it ends.
        return unacked === 0;
      }
      throw err;
    }
    note(e, log);
    const f = l.fates[i]!;
    if (f === "ack") await ack(e, log);
    else if (f === "ackLater") later.push(e);
    else if (f === "fail") throw new Crash("worker failed");
    else if (f === "cancel") {
      unacked++;
      await checkpoint();
    } else if (f === "return") return false;
  }
  for (const held of later) await ack(held, log);
  return false;
}

function note(e: Envelope<string>, log: Log): void {
  const seen = log.deliveries.get(e.id) ?? [];
  seen.push(e.deliveries);
  log.deliveries.set(e.id, seen);
  const before = log.values.get(e.id);
  if (before !== undefined) assert.equal(e.value, before, `id ${e.id} named two values`);
  log.values.set(e.id, e.value);
}

async function ack(e: Envelope<string>, log: Log): Promise<void> {
  await e.ack();
  log.acked.set(e.value, (log.acked.get(e.value) ?? 0) + 1);
}

function check(log: Log): void {
  for (const value of log.sent) assert.equal(log.acked.get(value), 1, `${value} acknowledged ${log.acked.get(value) ?? 0} times`);
  for (const value of log.acked.keys()) assert.ok(log.sent.has(value), `${value} acknowledged but never sent`);
  for (const [id, seen] of log.deliveries) {
    assert.deepEqual(seen, seen.map((_, i) => i + 1), `value ${id}: deliveries ${seen.join(",")}, expected 1, 2, 3…`);
  }
}
