// Workers come and go: idle workers exit and restart on demand, run() never leaves a worker
// behind, `await using` closes, and nothing (worker, MessagePort) is left after close.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { WorkerPool, withWorkerPool } from "trellis/threads";
import { Event, run } from "trellis";
import { eventually, fixture, threadHandles } from "./support.js";

test("idle workers exit after idleTimeoutMs and the pool starts them again on demand", async () => {
  await withWorkerPool(fixture(), { size: 2, idleTimeoutMs: 30 }, async (pool) => {
    await Promise.all([pool.run("nap", [5]), pool.run("nap", [5])]);
    assert.ok(pool.statistics().workers >= 1);
    assert.ok(await eventually(() => pool.statistics().workers === 0), "idle workers exited");
    assert.equal(pool.statistics().replaced, 0, "an idle exit is not a replacement");
    assert.equal(await pool.run("add", [1, 2]), 3);
    assert.equal(pool.statistics().workers, 1);
  });
});

test("idle workers do not keep the process alive, busy ones do", async () => {
  await withWorkerPool(fixture(), { size: 1 }, async (pool) => {
    const call = pool.run("nap", [30]);
    await delay(10);
    assert.ok(threadHandles().length > 0, "a busy worker is a live handle");
    await call;
    assert.deepEqual(threadHandles(), [], "an idle one is not");
  });
});

test("run() force-closes a pool left open: no worker outlives it", async () => {
  let pool: WorkerPool | undefined;
  await run(async () => {
    pool = new WorkerPool(fixture(), { size: 2 });
    await Promise.all([pool.run("add", [1, 2]), pool.run("add", [3, 4])]);
  });
  assert.ok(await eventually(() => pool!.statistics().workers === 0));
  assert.deepEqual(threadHandles(), []);
  await pool!.close(); // still idempotent afterwards
});

test("await using closes the pool at the end of the block", async () => {
  let escaped: WorkerPool | undefined;
  {
    await using pool = new WorkerPool(fixture(), { size: 1 });
    escaped = pool;
    assert.equal(await pool.run("add", [1, 1]), 2);
  }
  assert.equal(escaped.statistics().workers, 0);
  assert.deepEqual(threadHandles(), []);
});

test("withWorkerPool closes the pool also when fn throws", async () => {
  let escaped: WorkerPool | undefined;
  await assert.rejects(
    withWorkerPool(fixture(), { size: 1 }, async (pool) => {
      escaped = pool;
      await pool.run("add", [1, 1]);
      throw new Error("boom");
    }),
    /boom/,
  );
  assert.equal(escaped!.statistics().workers, 0);
});

test("close() gives a call that ignores cancellation graceMs, then terminates it", async () => {
  const started = new Event();
  const pool = new WorkerPool(fixture(), { size: 1, graceMs: 30, handlers: { started: () => started.set() } });
  const call = pool.run("startedThen", ["spinDeaf", 10_000]);
  call.catch(() => {});
  await started.wait();
  await pool.close();
  assert.equal(pool.statistics().workers, 0);
  await assert.rejects(call, /was closed while this call was running/);
  assert.deepEqual(threadHandles(), []);
});
