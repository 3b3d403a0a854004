// Randomized (seeded): calls, cancellations in all three modes and crashes interleaved over one
// pool. Every call settles exactly once (value, error or Cancelled), nothing is lost, the
// statistics add up, and no worker or handle is left once the pool is closed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { WorkerPool, type CancelMode } from "trellis/threads";
import { BrokenResourceError, isCancelled, moveOnAfter, run, withTaskGroup } from "trellis";
import { eventually, fixture, threadHandles } from "./support.js";
import { mulberry32 as prng } from "../support/prng.js";

type Expect = "value" | "cancelled-or-value" | "broken" | "error";
interface Op {
  kind: string;
  expect: Expect;
  settled: number;
  outcome?: string;
}

for (const seed of [1, 2, 3]) {
  test(`random calls, cancellations and crashes settle exactly once (seed ${seed})`, async () => {
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const ops: Op[] = [];
    const pool = new WorkerPool(fixture(), { size: 2, graceMs: 20, handlers: { add: (a: number, b: number) => a + b } });
    await run(async () => {
      await withTaskGroup(async (tg) => {
        for (let i = 0; i < 40; i++) {
          const roll = random();
          const op: Op = { kind: "", expect: "value", settled: 0 };
          ops.push(op);
          let body: () => Promise<unknown>;
          if (roll < 0.35) {
            op.kind = "add";
            body = () => pool.run("add", [i, 1]).then((v) => assert.equal(v, i + 1));
          } else if (roll < 0.45) {
            op.kind = "askMain";
            body = () => pool.run("askMain", ["add", i, 2]).then((v) => assert.equal(v, i + 2));
          } else if (roll < 0.8) {
            const mode: CancelMode = pick(["cooperative", "terminate", "abandon"] as const);
            const fn = pick(["spin", "spinDeaf", "nap", "askMainSyncAndReport"] as const);
            const ms = 1 + Math.floor(random() * 15);
            op.kind = `${fn}/${mode}/${ms}`;
            op.expect = "cancelled-or-value";
            const args = fn === "askMainSyncAndReport" ? ["add"] : [ms * 2];
            body = () => moveOnAfter(ms, () => pool.run(fn, args, { cancel: mode }));
          } else if (roll < 0.9) {
            op.kind = "crash";
            op.expect = "broken";
            body = () => pool.run("crash", [pick(["exit", "uncaught"])]);
          } else {
            op.kind = "fail";
            op.expect = "error";
            body = () => pool.run("fail", ["type"]);
          }
          tg.spawn(async () => {
            try {
              await body();
              op.outcome = "value";
            } catch (err) {
              op.outcome = isCancelled(err) ? "cancelled" : err instanceof BrokenResourceError ? "broken" : err instanceof TypeError ? "error" : `unexpected ${String(err)}`;
            }
            op.settled++;
          });
          if (random() < 0.3) await delay(Math.floor(random() * 5));
        }
      });
      await pool.close();
    });
    for (const [i, op] of ops.entries()) {
      const where = `seed ${seed}, op ${i} (${op.kind})`;
      assert.equal(op.settled, 1, `${where} settled ${op.settled} times`);
      if (op.expect === "cancelled-or-value") assert.ok(op.outcome === "value", `${where}: ${op.outcome}`);
      else assert.equal(op.outcome, op.expect, where);
    }
    const s = pool.statistics();
    assert.equal(s.workers, 0);
    assert.equal(s.busy + s.waiting + s.idle, 0);
    assert.equal(s.completed + s.failed + s.cancelled, ops.length, JSON.stringify(s));
    assert.ok(await eventually(() => threadHandles().length === 0), `left: ${threadHandles().join(", ")}`);
  });
}

test("bursts of short calls, sent ahead to workers, with cancellations and crashes: each settles once", async () => {
  const random = prng(42);
  const pool = new WorkerPool(fixture(), { size: 2, graceMs: 20 });
  const results: { expect: string; got?: string; settled: number }[] = [];
  await run(async () => {
    await Promise.all(Array.from({ length: 60 }, (_, i) => pool.run("add", [i, 0]))); // calls are short: deep sending ahead
    await withTaskGroup(async (tg) => {
      for (let i = 0; i < 300; i++) {
        const roll = random();
        const entry: { expect: string; got?: string; settled: number } = { expect: "value", settled: 0 };
        results.push(entry);
        let body: () => Promise<unknown>;
        if (roll < 0.75) body = () => pool.run("add", [i, 1]).then((v) => assert.equal(v, i + 1));
        else if (roll < 0.97) {
          entry.expect = "value-or-undefined";
          const mode = (["cooperative", "terminate", "abandon"] as const)[i % 3];
          body = () => moveOnAfter(random() * 3, () => pool.run("add", [i, 2], { cancel: mode }));
        } else {
          entry.expect = "broken";
          body = () => pool.run("crash", ["exit"]);
        }
        tg.spawn(async () => {
          try {
            await body();
            entry.got = "value";
          } catch (err) {
            entry.got = err instanceof BrokenResourceError ? "broken" : `unexpected ${String(err)}`;
          }
          entry.settled++;
        });
        if (random() < 0.05) await delay(1);
      }
    });
    await pool.close();
  });
  for (const [i, r] of results.entries()) {
    assert.equal(r.settled, 1, `call ${i}`);
    assert.equal(r.got, r.expect === "broken" ? "broken" : "value", `call ${i}: ${r.got}`);
  }
  const s = pool.statistics();
  assert.equal(s.completed + s.failed + s.cancelled, 360, JSON.stringify(s));
  assert.equal(s.workers + s.busy + s.waiting + s.idle, 0);
  assert.ok(await eventually(() => threadHandles().length === 0));
});
