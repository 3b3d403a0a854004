// Random programs of real signals and receivers opened and closed in any order (nested and
// overlapping), checked against a model: each signal goes to the most recently opened receiver
// that listens to it, is queued in arrival order with repeats merged, a closed receiver's
// queued signals are raised again for whoever listens next, nothing is lost or duplicated, and
// every listener is removed at the end. Seeded (mulberry32); a failure prints the seed and step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Event, moveOnAfter, run, withTaskGroup, type TaskGroup } from "../../src/index.js";
import { waitAllTasksBlocked } from "../../src/testing/index.js";
import { openSignalReceiver, type SignalName, type SignalReceiver } from "../../src/signals/index.js";
import { listenerCounts, raise } from "./support.js";
import { mulberry32 } from "../support/prng.js";

const SEED = 0x5194_0014;
const PROGRAMS = 25;
const STEPS = 30;
const POOL: readonly SignalName[] = ["SIGHUP", "SIGALRM", "SIGWINCH", "SIGURG"];

interface Open {
  readonly id: number;
  readonly signals: readonly SignalName[];
  /** The model's queue for this receiver. */
  readonly pending: SignalName[];
  readonly receiver: SignalReceiver;
  readonly close: Event;
  readonly closed: Promise<void>;
}

async function openIn(tg: TaskGroup, id: number, signals: readonly SignalName[]): Promise<Open> {
  const close = new Event();
  let markClosed!: () => void;
  const closed = new Promise<void>((r) => (markClosed = r));
  const receiver = await new Promise<SignalReceiver>((resolve) => {
    tg.spawn(async () => {
      try {
        await openSignalReceiver(signals, async (rx) => {
          resolve(rx);
          await close.wait();
        });
      } finally {
        markClosed();
      }
    });
  });
  return { id, signals, pending: [], receiver, close, closed };
}

/** The model: the receiver a signal goes to. */
function owner(open: readonly Open[], signal: SignalName): Open {
  for (let i = open.length - 1; i >= 0; i--) if (open[i]!.signals.includes(signal)) return open[i]!;
  throw new Error("the base receiver listens to every signal of the pool");
}

function queue(r: Open, signal: SignalName): void {
  if (!r.pending.includes(signal)) r.pending.push(signal);
}

const stats: Record<string, number> = {};
async function program(seed: number): Promise<void> {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const trace: string[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      let nextId = 0;
      const open: Open[] = [await openIn(tg, nextId++, POOL)]; // the base: nothing reaches a default action
      const check = (step: number) => {
        for (const r of open) {
          assert.deepEqual(r.receiver.statistics().pending, r.pending, `seed ${seed} step ${step}, receiver ${r.id}\n${trace.join("\n")}`);
        }
      };
      for (let step = 0; step < STEPS; step++) {
        const roll = rand();
        if (roll < 0.15 && open.length < 5) {
          const signals = POOL.filter(() => rand() < 0.5);
          if (signals.length === 0) signals.push(pick(POOL));
          const r = await openIn(tg, nextId++, signals);
          open.push(r);
          trace.push(`open #${r.id} [${signals.join(",")}]`);
        } else if (roll < 0.3 && open.length > 1) {
          const i = 1 + Math.floor(rand() * (open.length - 1));
          const [r] = open.splice(i, 1);
          const redelivered = r!.pending.splice(0);
          trace.push(`close #${r!.id} (re-raises ${redelivered.join(",") || "nothing"})`);
          // Wait until each re-raised signal has arrived (listeners added after the dispatcher's).
          const arrivals = redelivered.map((s) => new Promise<void>((resolve) => process.once(s, () => resolve())));
          r!.close.set();
          await r!.closed;
          await moveOnAfter(10_000, () => Promise.all(arrivals).then(() => {}));
          for (const s of redelivered) queue(owner(open, s), s);
        } else if (roll < 0.7) {
          const signal = pick(POOL);
          trace.push(`raise ${signal} -> #${owner(open, signal).id}`);
          await raise(signal);
          queue(owner(open, signal), signal);
        } else if (roll < 0.85) {
          const r = pick(open);
          if (r.pending.length > 0) {
            trace.push(`receive on #${r.id}`);
            assert.equal(await r.receiver.receive(), r.pending.shift(), `seed ${seed} step ${step}\n${trace.join("\n")}`);
          } else {
            // A receive with nothing queued, cancelled by a deadline: takes nothing.
            trace.push(`cancelled receive on #${r.id}`);
            const got = await moveOnAfter(0, () => r.receiver.receive());
            assert.equal(got, undefined);
          }
        } else {
          // A task waits first, then the signal arrives and goes straight to it.
          const r = pick(open);
          const mine = r.signals.filter((s) => owner(open, s) === r);
          if (r.pending.length > 0 || mine.length === 0) continue;
          const signal = pick(mine);
          trace.push(`wait on #${r.id}, raise ${signal}`);
          let got: SignalName | undefined;
          await withTaskGroup(async (inner) => {
            inner.spawn(async () => {
              got = await r.receiver.receive();
            });
            await waitAllTasksBlocked();
            await raise(signal);
          });
          assert.equal(got, signal);
        }
        check(step);
      }
      // Drain and close everything, innermost first.
      while (open.length > 1) {
        const r = open.pop()!;
        const arrivals = r.pending.map((s) => new Promise<void>((resolve) => process.once(s, () => resolve())));
        for (const s of r.pending.splice(0)) queue(owner(open, s), s);
        r.close.set();
        await r.closed;
        await moveOnAfter(10_000, () => Promise.all(arrivals).then(() => {}));
      }
      for (const t of trace) { const k = t.split(" ")[0]!; stats[k] = (stats[k] ?? 0) + 1; }
      check(STEPS);
      const base = open[0]!;
      while (base.pending.length > 0) assert.equal(await base.receiver.receive(), base.pending.shift());
      base.close.set();
    }),
  );
}

test("random signals, nested and overlapping receivers: order kept, nothing lost, listeners restored", async () => {
  const before = listenerCounts();
  for (let i = 0; i < PROGRAMS; i++) await program(SEED + i);
  for (const kind of ["open", "close", "raise", "receive", "cancelled", "wait"]) assert.ok((stats[kind] ?? 0) > 5, `the programs never did "${kind}": ${JSON.stringify(stats)}`);
  assert.deepEqual(listenerCounts(), before);
});
