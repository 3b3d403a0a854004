// Random programs of several senders and receivers on one channel, with random cancellations,
// clones and closes (some while a call waits), checked against what must always hold:
// nothing lost, nothing delivered twice, no cancelled or failed send delivered, each sender's
// values received in order, the buffer never above capacity, the statistics consistent, and
// every program ends. Replay a failure with the seed printed below and fast-check's `path`.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BrokenResourceError,
  CancelScope,
  ClosedResourceError,
  EndOfChannel,
  WouldBlock,
  checkpoint,
  moveOnAfter,
  openChannel,
  run,
  withTaskGroup,
  type ReceiveChannel,
  type SendChannel,
  type TaskGroup,
} from "../../src/index.js";
import { assertNoTimersLeft } from "../support/tasks.js";

const SEED = 0x7c4a_2002;
const NUM_RUNS = 300;

/** Something done to one operation while it may be waiting: after `after` yields of a helper task. */
interface Interference {
  readonly what: "cancel" | "close";
  readonly after: number;
}

interface Op {
  readonly kind: "blocking" | "try" | "iterate";
  /** For "iterate": how many values before breaking out of the loop. */
  readonly count: number;
  /** Run the operation on a fresh clone of the task's handle, closed right after. */
  readonly viaClone: boolean;
  readonly interference: Interference | null;
  /** Checkpoints before the operation. */
  readonly yields: number;
}

interface Program {
  readonly capacity: number;
  readonly senders: readonly (readonly Op[])[];
  readonly receivers: readonly (readonly Op[])[];
  /** Receiver 0 keeps receiving until the end of the stream after its operations. */
  readonly drain: boolean;
}

const interference = fc.option(
  fc.record({ what: fc.constantFrom("cancel" as const, "close" as const), after: fc.nat({ max: 4 }) }),
  { freq: 2 },
);
const op = fc.record({
  kind: fc.constantFrom("blocking" as const, "blocking" as const, "try" as const, "iterate" as const),
  count: fc.integer({ min: 1, max: 3 }),
  viaClone: fc.boolean(),
  interference,
  yields: fc.nat({ max: 3 }),
});
const program: fc.Arbitrary<Program> = fc.record({
  capacity: fc.constantFrom(0, 0, 1, 2, 3, Infinity),
  senders: fc.array(fc.array(op, { maxLength: 8 }), { minLength: 1, maxLength: 4 }),
  receivers: fc.array(fc.array(op, { maxLength: 8 }), { minLength: 1, maxLength: 3 }),
  drain: fc.boolean(),
});

/** What one program did, for the checks. */
interface Log {
  /** Value → how its send ended: "ok" or an error name. */
  readonly sends: Map<string, string>;
  /** Per receiver, the values it got, in order. */
  readonly received: string[][];
  /** Values in the buffer when the last receive handle was closed: dropped, not lost. */
  dropped: number;
  /** Every handle closed so far. */
  readonly closed: WeakSet<object>;
}

test(`channel property: random senders, receivers, cancellations, clones and closes (seed ${SEED})`, async () => {
  console.log(`channel.prop: fast-check seed ${SEED}, ${NUM_RUNS} runs`);
  await fc.assert(
    fc.asyncProperty(program, async (p) => {
      const log = await runProgram(p);
      check(p, log);
    }),
    { seed: SEED, numRuns: NUM_RUNS },
  );
  await assertNoTimersLeft();
});

async function runProgram(p: Program): Promise<Log> {
  const log: Log = { sends: new Map(), received: p.receivers.map(() => []), dropped: 0, closed: new WeakSet() };
  const [send, receive] = openChannel<string>(p.capacity);
  const finished = await run(
    () =>
      // A watchdog on the real clock: it costs nothing when the test passes, and also ends a livelock.
      moveOnAfter(3_000, async () => {
        await withTaskGroup(async (tg) => {
          p.senders.forEach((ops, s) => {
            const handle = send.clone();
            tg.spawn(() => sender(tg, handle, s, ops, p.capacity, log), { name: `sender ${s}` });
          });
          p.receivers.forEach((ops, r) => {
            const handle = receive.clone();
            const drains = r === 0 && p.drain;
            tg.spawn(() => receiver(tg, handle, r, ops, drains, p.capacity, log), { name: `receiver ${r}` });
          });
          send.close();
          closeReceive(receive, log);
        });
        return true;
      }),
    { handleSignals: false },
  );
  assert.equal(finished, true, "the program hung: it was still running after 3 s");
  assert.deepEqual(send.statistics(), {
    currentBufferUsed: 0,
    maxBufferSize: p.capacity,
    openSendChannels: 0,
    openReceiveChannels: 0,
    tasksWaitingSend: 0,
    tasksWaitingReceive: 0,
  });
  return log;
}

async function sender(tg: TaskGroup, handle: SendChannel<string>, s: number, ops: readonly Op[], capacity: number, log: Log): Promise<void> {
  try {
    for (let j = 0; j < ops.length; j++) {
      const o = ops[j]!;
      for (let y = 0; y < o.yields; y++) await checkpoint();
      const value = `${s}:${j}`;
      let target: SendChannel<string>;
      try {
        target = o.viaClone ? handle.clone() : handle;
      } catch (err) {
        if (err instanceof ClosedResourceError) return; // a helper closed our handle
        throw err;
      }
      const scope = new CancelScope();
      interfere(tg, o.interference, scope, () => closeSend(target, log));
      let result = "ok";
      try {
        await scope.run(() => (o.kind === "try" ? target.trySend(value) : target.send(value)));
        if (scope.cancelledCaught) result = "Cancelled";
      } catch (err) {
        if (!(err instanceof WouldBlock || err instanceof ClosedResourceError || err instanceof BrokenResourceError)) throw err;
        result = err.name;
        if (err instanceof ClosedResourceError) assert.ok(log.closed.has(target), "ClosedResourceError from a handle nobody closed");
        if (err instanceof BrokenResourceError) assert.equal(handle.statistics().openReceiveChannels, 0, "broken while receivers are open");
      } finally {
        if (o.viaClone) closeSend(target, log);
      }
      log.sends.set(value, result);
      sample(handle.statistics(), capacity);
      if (result === "BrokenResourceError") return;
      if (result === "ClosedResourceError" && !o.viaClone) return;
    }
  } finally {
    closeSend(handle, log);
  }
}

async function receiver(
  tg: TaskGroup,
  handle: ReceiveChannel<string>,
  r: number,
  ops: readonly Op[],
  drains: boolean,
  capacity: number,
  log: Log,
): Promise<void> {
  const got = log.received[r]!;
  try {
    for (const o of ops) {
      for (let y = 0; y < o.yields; y++) await checkpoint();
      let target: ReceiveChannel<string>;
      try {
        target = o.viaClone ? handle.clone() : handle;
      } catch (err) {
        if (err instanceof ClosedResourceError) return;
        throw err;
      }
      const scope = new CancelScope();
      // The draining receiver's own handle must stay open; its clones may be closed.
      if (!(drains && !o.viaClone && o.interference?.what === "close")) {
        interfere(tg, o.interference, scope, () => closeReceive(target, log));
      }
      let ended = false;
      try {
        await scope.run(async () => {
          if (o.kind === "blocking") got.push(await target.receive());
          else if (o.kind === "try") got.push(target.tryReceive());
          else {
            let n = 0;
            let broke = false;
            for await (const value of target) {
              got.push(value);
              if (++n >= o.count) {
                broke = true;
                break;
              }
            }
            ended = !broke; // the loop ran to the end of the stream
          }
        });
      } catch (err) {
        if (err instanceof EndOfChannel) {
          ended = true;
          assert.equal(handle.statistics().openSendChannels, 0, "EndOfChannel while senders are open");
        } else if (err instanceof ClosedResourceError) {
          assert.ok(log.closed.has(target), "ClosedResourceError from a handle nobody closed");
          if (!o.viaClone) return;
        } else if (!(err instanceof WouldBlock)) throw err;
      } finally {
        if (o.viaClone) closeReceive(target, log);
      }
      sample(handle.statistics(), capacity);
      if (ended) return;
    }
    while (drains) {
      try {
        got.push(await handle.receive());
      } catch (err) {
        if (err instanceof EndOfChannel) return;
        throw err;
      }
      sample(handle.statistics(), capacity);
    }
  } finally {
    closeReceive(handle, log);
  }
}

/** Arms a helper that cancels the operation's scope or closes its handle after some yields. */
function interfere(tg: TaskGroup, what: Interference | null, scope: CancelScope, close: () => void): void {
  if (what === null) return;
  tg.spawn(async () => {
    for (let y = 0; y < what.after; y++) await checkpoint();
    if (what.what === "cancel") scope.cancel();
    else close();
  });
}

/** Closes a receive handle, noting what was buffered if it is the last one (those values are dropped). */
function closeReceive(handle: ReceiveChannel<string>, log: Log): void {
  if (log.closed.has(handle)) return;
  log.closed.add(handle);
  const stats = handle.statistics();
  if (stats.openReceiveChannels === 1) log.dropped = stats.currentBufferUsed;
  handle.close();
}

function closeSend(handle: SendChannel<string>, log: Log): void {
  log.closed.add(handle);
  handle.close();
}

/** The invariants that hold at every moment. */
function sample(stats: ReturnType<SendChannel<string>["statistics"]>, capacity: number): void {
  assert.ok(stats.currentBufferUsed <= capacity, `buffer above capacity: ${stats.currentBufferUsed} > ${capacity}`);
  if (stats.tasksWaitingSend > 0) assert.equal(stats.currentBufferUsed, capacity, "a sender waits while there is room");
  if (stats.tasksWaitingReceive > 0) {
    assert.equal(stats.currentBufferUsed, 0, "a receiver waits while values are buffered");
    assert.equal(stats.tasksWaitingSend, 0, "a receiver and a sender wait at once");
  }
}

function check(p: Program, log: Log): void {
  const all = log.received.flat();
  assert.equal(new Set(all).size, all.length, `a value was delivered twice: ${all.join(" ")}`);
  const sentOk = [...log.sends].filter(([, result]) => result === "ok").map(([value]) => value);
  for (const value of all) {
    assert.equal(log.sends.get(value), "ok", `${value} was received, but its send ended with ${log.sends.get(value)}`);
  }
  assert.equal(sentOk.length - all.length, log.dropped, `values lost: sent ${sentOk.length}, received ${all.length}, dropped at the last close ${log.dropped}`);
  if (p.drain) assert.equal(log.dropped, 0, "the draining receiver closed with values buffered");
  for (const got of log.received) {
    const last = new Map<string, number>();
    for (const value of got) {
      const [s, j] = value.split(":") as [string, string];
      assert.ok((last.get(s) ?? -1) < Number(j), `sender ${s}'s values out of order: ${got.join(" ")}`);
      last.set(s, Number(j));
    }
  }
  for (const [value, result] of log.sends) {
    assert.ok(["ok", "Cancelled", "WouldBlock", "ClosedResourceError", "BrokenResourceError"].includes(result), `${value}: ${result}`);
  }
}
