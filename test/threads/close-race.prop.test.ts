// Randomized (seeded): a small pool (1–3 workers) takes random calls — quick returns, throws of
// any value, synchronous loops that poll cancellation or ignore it, crashes, callMain and
// callMainSync — while calls are cancelled one by one (cooperative, terminate, abandon, grace
// running out), whole task groups are cancelled by a failing sibling, and the pool is closed in
// the middle (close(), close() in a cancelled scope, a cancelled close(), two closes at once, the
// end of withWorkerPool). Only outcomes are checked, never timing:
// - every call settles exactly once, with its own outcome (its value, the worker's error), or
//   Cancelled only if its scope was cancelled, ClosedResourceError only if the pool was closing,
//   BrokenResourceError only for a call that crashed its worker;
// - a call runs at most once, and exactly once if it returned or threw;
// - close() completes (a watchdog turns a hang into a failure with the state of every call);
// - the statistics add up, and no worker thread or MessagePort is left when run() returns.
import { test } from "node:test";
import { inspect } from "node:util";
import assert from "node:assert/strict";
import { WorkerPool, withWorkerPool, type CancelMode } from "trellis/threads";
import {
  BrokenResourceError,
  CancelScope,
  ClosedResourceError,
  Event,
  isCancelled,
  run,
  sleep,
  withTaskGroup,
  type TaskGroup,
} from "trellis";
import { fixture, threadHandles } from "./support.js";
import { mulberry32 } from "../support/prng.js";

const KINDS = ["quick", "throw", "block", "deaf", "exit", "main", "mainSync"] as const;
type Kind = (typeof KINDS)[number];
/** Short calls most often: they are sent ahead, deeply, to busy workers. */
const WEIGHTED: readonly Kind[] = ["quick", "quick", "quick", "quick", "throw", "throw", "block", "deaf", "exit", "main", "mainSync"];
const THROWN = ["undefined", "number", "string", "null", "error"] as const;
const CLOSES = ["mid", "mid-cancelled", "cancelled-later", "twice", "with", "end", "none"] as const;
type CloseHow = (typeof CLOSES)[number];

interface Call {
  readonly i: number;
  readonly kind: Kind;
  readonly arg: string | number | boolean;
  readonly mode: CancelMode;
  readonly graceMs: number;
  readonly scope: CancelScope;
  readonly batch: Batch;
  /** Its scope or its task group was cancelled (before it settled). */
  cancelled: boolean;
  settled: number;
  outcome?: string;
  got?: unknown;
}

interface Batch {
  group: TaskGroup | undefined;
  cancelled: boolean;
  readonly calls: Call[];
}

/** What the call's function does when nothing interrupts it. */
function natural(call: Call): { outcome: string; value?: unknown } {
  switch (call.kind) {
    case "quick":
      return { outcome: "value", value: call.arg };
    case "throw":
      return { outcome: "error" };
    case "block":
    case "deaf":
      return { outcome: "value", value: `blocked ${call.i}` };
    case "exit":
      return { outcome: "broken" };
    default:
      return call.arg === 3 ? { outcome: "error" } : { outcome: "value", value: call.i * 2 };
  }
}

function thrownMatches(call: Call, err: unknown): boolean {
  if (call.kind === "main" || call.kind === "mainSync") return err === 42;
  switch (call.arg) {
    case "undefined":
      return err === undefined;
    case "number":
      return err === 42;
    case "string":
      return err === "a string";
    case "null":
      return err === null;
    default:
      return err instanceof RangeError && err.message === `error ${call.i}`;
  }
}

function blockMain(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

async function round(seed: number): Promise<void> {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const size = 1 + Math.floor(random() * 3);
  const closeHow: CloseHow = pick(CLOSES);
  const steps = 25 + Math.floor(random() * 20);
  const runs = new Int32Array(new SharedArrayBuffer(4 * 64));
  const calls: Call[] = [];
  const batches: Batch[] = [];
  let closing = false;
  let pool!: WorkerPool;
  let closes = 0;
  let warmup = 0;
  const release = new Event();
  const trace: string[] = [];
  const options = {
    size,
    graceMs: pick([0, 5, 20]),
    handlers: {
      twice: async (i: number, ms: number) => {
        await sleep(ms);
        if (ms === 3) throw 42; // the worker's callMain rethrows it, and so does its call
        return i * 2;
      },
    },
  };

  const settle = (call: Call, outcome: string, got: unknown) => {
    call.settled++;
    call.outcome = outcome;
    call.got = got;
    const expected = natural(call);
    const where = `seed ${seed} (size ${size}, close ${closeHow}), call ${call.i} (${call.kind} ${String(call.arg)}, ${call.mode}/${call.graceMs})`;
    if (outcome === "cancelled") assert.ok(call.cancelled, `${where}: Cancelled although its scope was not cancelled`);
    else if (outcome === "closed") assert.ok(closing, `${where}: ClosedResourceError although the pool was not closing`);
    else if (outcome === "broken") assert.equal(expected.outcome, "broken", `${where}: BrokenResourceError (${(got as Error).message})`);
    else if (outcome === "error") {
      assert.equal(expected.outcome, "error", `${where}: threw ${String(got)}`);
      assert.ok(thrownMatches(call, got), `${where}: threw ${String(got)}, not its own error`);
    } else {
      assert.equal(outcome, "value", `${where}: ${outcome} ${String(got)}`);
      assert.equal(expected.outcome, "value", `${where}: returned ${String(got)}`);
      assert.deepEqual(got, expected.value, where);
    }
  };

  const callBody = async (call: Call) => {
    let result: unknown;
    const args: unknown[] = [runs, call.i, call.arg];
    if (call.kind === "block" || call.kind === "deaf") args.push(call.kind === "block");
    if (call.kind === "main" || call.kind === "mainSync") args.push(call.kind === "mainSync");
    const fn = { quick: "quick", throw: "throwIt", block: "block", deaf: "block", exit: "exit", main: "main", mainSync: "main" }[call.kind];
    try {
      result = await pool.run(fn, args, { cancel: call.mode, graceMs: call.graceMs });
    } catch (err) {
      if (isCancelled(err)) {
        settle(call, "cancelled", err);
        throw err; // the scope (or the group) that was cancelled catches it
      }
      settle(call, err instanceof ClosedResourceError ? "closed" : err instanceof BrokenResourceError ? "broken" : "error", err);
      return;
    }
    settle(call, "value", result);
  };

  const openBatch = (outer: TaskGroup): Batch => {
    const batch: Batch = { group: undefined, cancelled: false, calls: [] };
    batches.push(batch);
    outer.spawn(async () => {
      try {
        await withTaskGroup(async (tg) => {
          batch.group = tg;
          await release.wait();
        });
      } catch (err) {
        if (!(err instanceof Error && err.message === "sibling failed")) throw err;
      }
    });
    return batch;
  };

  const close = async (how: "plain" | "cancelled") => {
    closing = true;
    closes++;
    trace.push(`close ${how}`);
    if (how === "cancelled") {
      const scope = new CancelScope();
      scope.cancel();
      await scope.run(() => pool.close());
    } else await pool.close();
    trace.push(`closed ${how}`);
  };

  const drive = async (outer: TaskGroup) => {
    // Every worker up first (a worker takes tens of ms to start), so that calls run when the pool closes.
    await Promise.all(Array.from({ length: size }, () => pool.run("quick", [runs, runs.length - 1, 0])));
    warmup = size;
    const closeAt = closeHow === "end" || closeHow === "with" || closeHow === "none" ? -1 : Math.floor(steps / 3 + (random() * steps * 2) / 3);
    let closeScope: CancelScope | undefined;
    for (let step = 0; step < steps; step++) {
      if (step === closeAt) {
        if (random() < 0.5) blockMain(random() * 3);
        if (closeHow === "mid") await close("plain");
        else if (closeHow === "mid-cancelled") await close("cancelled");
        else if (closeHow === "twice") {
          outer.spawn(() => close("plain"));
          outer.spawn(() => close("plain"));
        } else {
          closeScope = new CancelScope();
          const scope = closeScope;
          outer.spawn(() => scope.run(() => close("plain")));
        }
      }
      const roll = random();
      if (roll < 0.6 && calls.length < runs.length - 1) {
        let batch = batches.find((b) => !b.cancelled && b.group !== undefined);
        if (batch === undefined || random() < 0.15) batch = openBatch(outer);
        const kind = pick(WEIGHTED);
        const call: Call = {
          i: calls.length,
          kind,
          arg: kind === "throw" ? pick(THROWN) : kind === "block" || kind === "deaf" ? 1 + Math.floor(random() * 12) : kind === "exit" ? 3 : kind === "quick" ? `v${calls.length}` : Math.floor(random() * 4),
          mode: pick(["cooperative", "cooperative", "terminate", "abandon"] as const),
          graceMs: pick([0, 2, 10, 30, Infinity]),
          scope: new CancelScope(),
          batch,
          cancelled: false,
          settled: 0,
        };
        calls.push(call);
        batch.calls.push(call);
        trace.push(`call ${call.i}`);
        const spawnIn = batch.group ?? outer;
        spawnIn.spawn(() => call.scope.run(() => callBody(call)));
      } else if (roll < 0.72) {
        const open = calls.filter((c) => c.settled === 0 && !c.cancelled);
        if (open.length > 0) {
          const call = pick(open);
          call.cancelled = true;
          trace.push(`cancel ${call.i}`);
          call.scope.cancel();
        }
      } else if (roll < 0.77) {
        const batch = batches.find((b) => !b.cancelled && b.group !== undefined);
        if (batch !== undefined) {
          batch.cancelled = true;
          for (const c of batch.calls) c.cancelled = true;
          trace.push(`cancel group of ${batch.calls.map((c) => c.i).join(",")}`);
          batch.group!.spawn(() => {
            throw new Error("sibling failed");
          });
        }
      } else if (roll < 0.85) {
        await sleep(Math.floor(random() * 6));
      } else if (roll < 0.95) {
        // The main thread busy: workers end calls and start those sent ahead, their results unread.
        blockMain(random() * 3);
      } else {
        await Promise.resolve();
      }
      if (closeScope !== undefined && random() < 0.3) {
        trace.push("cancel the close");
        closeScope.cancel();
        closeScope = undefined;
      }
    }
    closeScope?.cancel();
  };

  const main = async () => {
    await withTaskGroup(async (outer) => {
      if (closeHow === "with") {
        await withWorkerPool(fixture("race"), options, async (p) => {
          pool = p;
          await drive(outer);
          closing = true; // withWorkerPool closes the pool as this function returns
        });
      } else {
        pool = new WorkerPool(fixture("race"), options);
        await drive(outer);
      }
      release.set();
    });
    if (closeHow === "none") return; // run() closes it (abandoned calls may still run)
    if (closes === 0 && closeHow !== "with") await close("plain");
    await pool.close(); // idempotent, also after a cancelled close
  };

  let watchdog: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    watchdog = setTimeout(() => {
      const open = calls.filter((c) => c.settled === 0).map((c) => `${c.i} ${c.kind} ${c.mode}`);
      const state = (pool as WorkerPool | undefined) === undefined ? "no pool" : inspect(pool);
      reject(new Error(`seed ${seed}: run() or close() hangs; unsettled calls: ${open.join("; ")}; ${state}; trace: ${trace.join(", ")}`));
    }, 20_000);
  });
  try {
    await Promise.race([run(main), hang]);
  } finally {
    clearTimeout(watchdog);
  }

  for (const call of calls) {
    const where = `seed ${seed}, call ${call.i} (${call.kind} ${call.mode}): ${call.outcome}`;
    assert.equal(call.settled, 1, `${where}: settled ${call.settled} times`);
    const ran = Atomics.load(runs, call.i);
    assert.ok(ran <= 1, `${where}: ran ${ran} times`);
    if (call.outcome === "value" || call.outcome === "error" || call.outcome === "broken") {
      assert.equal(ran, 1, `${where}: ended with its own outcome but ran ${ran} times`);
    }
  }
  const s = pool.statistics();
  if (process.env.TRELLIS_VERBOSE) {
    const tally: Record<string, number> = {};
    for (const c of calls) tally[c.outcome!] = (tally[c.outcome!] ?? 0) + 1;
    console.log(`seed ${seed} size ${size} close ${closeHow}: ${JSON.stringify(tally)} ${JSON.stringify(s)}`);
  }
  assert.equal(s.completed + s.failed + s.cancelled, calls.length + warmup, `seed ${seed}: ${JSON.stringify(s)}`);
  assert.equal(s.workers + s.busy + s.waiting + s.idle, 0, `seed ${seed}: ${JSON.stringify(s)}`);
  assert.deepEqual(threadHandles(), [], `seed ${seed}: left after run()`);
}

test("calls, cancellations, crashes and the pool's close interleaved at random: each call ends once with its own outcome (seeded)", async () => {
  const first = Number(process.env.TRELLIS_SEED ?? 1);
  const count = Number(process.env.TRELLIS_ROUNDS ?? 12);
  for (let seed = first; seed < first + count; seed++) await round(seed);
});
// More rounds: TRELLIS_SEED=1000 TRELLIS_ROUNDS=300 node --test build/test/threads/close-race.prop.test.js
// (session 4 ran ~2,300 rounds while fixing what they found: seeds 1–80, 100–299, 1000–1299,
// 3000–3249, 5000–5199, 7000–7199 on Node 20; 2000–2299, 4000–4249, 6000–6199, 8000–8199 on
// Node 26; seeds 7000–7199 and 8000–8199 on the final code.)
