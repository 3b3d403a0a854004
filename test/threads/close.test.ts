// What a call sees when its pool closes under it, and the races between close(), a call sent
// ahead that the worker has just started, and cancellation. Each race is forced, not waited for:
// the main thread blocks (Atomics.wait) until the worker has started the call sent ahead, so the
// result of the call before it is unread when close() or the cancellation comes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WorkerPool, type RunOptions } from "trellis/threads";
import { BrokenResourceError, CancelScope, ClosedResourceError, isCancelled, run, sleep, withTaskGroup } from "trellis";
import { eventually, fixture, threadHandles } from "./support.js";

interface Race {
  a: unknown;
  b: unknown;
}

/**
 * On a one-worker pool, sends A (`add(1, 2)`) and B (`flagThen(flag, …bArgs)`, sent ahead), blocks
 * the main thread until the worker has started B (A has ended, its result unread), then runs
 * `then` (with the scopes A and B run in) before the main thread reads anything.
 */
async function raceAhead(
  pool: WorkerPool,
  aOptions: RunOptions,
  bArgs: unknown[],
  bOptions: RunOptions,
  then: (scopes: { a: CancelScope; b: CancelScope }) => Promise<void> | void,
): Promise<Race> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const race: Race = { a: "unset", b: "unset" };
  const scopes = { a: new CancelScope(), b: new CancelScope() };
  await pool.run("add", [0, 0]); // the worker is up: it starts A as soon as it gets it
  await withTaskGroup(async (tg) => {
    tg.spawn(() =>
      scopes.a.run(async () => {
        try {
          race.a = await pool.run("add", [1, 2], aOptions);
        } catch (err) {
          race.a = err;
          if (isCancelled(err)) throw err;
        }
      }),
    );
    tg.spawn(() =>
      scopes.b.run(async () => {
        try {
          race.b = await pool.run("flagThen", [flag, ...bArgs], bOptions);
        } catch (err) {
          race.b = err;
          if (isCancelled(err)) throw err;
        }
      }),
    );
    // Both calls sent (B ahead of A), with no turn of the event loop that could read A's result.
    for (let i = 0; i < 1000 && pool.statistics().busy + pool.statistics().waiting < 2; i++) await Promise.resolve();
    assert.equal(pool.statistics().busy + pool.statistics().waiting, 2);
    assert.notEqual(Atomics.wait(flag, 0, 0, 10_000), "timed-out", "the worker started B");
    await then(scopes);
  });
  return race;
}

test("close() as the worker starts a call sent ahead: the call before it keeps its value, the running one is stopped by its own mode (cooperative)", async () => {
  // Was: close() saw A (cancel: "terminate") as the running call and terminated the worker,
  // killing B with BrokenResourceError.
  const pool = new WorkerPool(fixture(), { size: 1, graceMs: 5_000 });
  let race!: Race;
  await run(async () => {
    race = await raceAhead(pool, { cancel: "terminate" }, ["nap", 10_000], {}, () => pool.close());
  });
  assert.equal(race.a, 3);
  assert.ok(race.b instanceof ClosedResourceError, `B: ${String(race.b)}`);
  assert.equal(pool.statistics().replaced, 0, "B ended cooperatively: no worker terminated");
  assert.ok(await eventually(() => threadHandles().length === 0));
});

test("close() as the worker starts a call sent ahead with cancel: \"terminate\": the worker is terminated for it, the call before it keeps its value", async () => {
  // Was: close() asked A (cooperative, already ended) to stop, and B ran on to its end.
  const pool = new WorkerPool(fixture(), { size: 1, graceMs: 5_000 });
  let race!: Race;
  await run(async () => {
    race = await raceAhead(pool, {}, ["nap", 10_000], { cancel: "terminate" }, () => pool.close());
  });
  assert.equal(race.a, 3, "A's result, posted before the worker was terminated, is read");
  assert.ok(race.b instanceof ClosedResourceError, `B: ${String(race.b)}`);
  assert.equal(pool.statistics().replaced, 1);
});

test("close() as the worker starts a call sent ahead that ignores cancellation: its worker is terminated after the grace period", async () => {
  // Was: the grace period ran out for A, which had ended; B (a loop that never polls) kept
  // running, and close() waited for it to end by itself.
  const pool = new WorkerPool(fixture(), { size: 1, graceMs: 30 });
  let race!: Race;
  await run(async () => {
    race = await raceAhead(pool, {}, ["spinDeaf", 10_000], {}, () => pool.close());
  });
  assert.equal(race.a, 3);
  assert.ok(race.b instanceof ClosedResourceError, `B: ${String(race.b)}`);
  assert.equal(pool.statistics().replaced, 1);
});

test("cancelling a call that has just ended does not hide the cancellation of the call the worker started after it", async () => {
  // Was: A's cancellation replaced B's in the shared flag, so B's synchronous loop never saw its
  // own and its worker was terminated after the grace period.
  const pool = new WorkerPool(fixture(), { size: 1 });
  let race!: Race;
  await run(async () => {
    race = await raceAhead(pool, {}, ["spin", 60_000], { graceMs: 10_000 }, ({ a, b }) => {
      b.cancel();
      a.cancel();
    });
    await pool.close();
  });
  assert.ok(race.a === 3 || isCancelled(race.a), `A: ${String(race.a)}`);
  assert.ok(isCancelled(race.b), `B: ${String(race.b)}`);
  assert.equal(pool.statistics().replaced, 0, "B saw its cancellation: no worker terminated");
});

for (const fn of ["askMainSyncAndReport", "askMainAndReport"]) {
  test(`close() while the worker waits in ${fn === "askMainAndReport" ? "callMain" : "callMainSync"}: the handler is cancelled, the worker sees Cancelled, the caller gets ClosedResourceError`, async () => {
    const records: string[] = [];
    let handlerCancelled = false;
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    const pool = new WorkerPool(fixture(), {
      size: 1,
      graceMs: 10_000,
      handlers: {
        record: (message: string) => void records.push(message),
        waitLong: async () => {
          started();
          try {
            await sleep(10_000);
          } catch (err) {
            handlerCancelled = isCancelled(err);
            throw err;
          }
        },
      },
    });
    let outcome: unknown;
    await run(async () => {
      await withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          try {
            outcome = await pool.run(fn, ["waitLong"]);
          } catch (err) {
            outcome = err;
          }
        });
        await handlerStarted;
        await pool.close();
      });
    });
    assert.ok(outcome instanceof ClosedResourceError, String(outcome));
    assert.ok(handlerCancelled, "the handler was cancelled");
    assert.deepEqual(records, ["worker saw Cancelled"]);
    assert.equal(pool.statistics().replaced, 0, "the worker ended the call: nothing terminated");
  });
}

test("close() gives a running call without a grace period (graceMs: Infinity) the pool's, then terminates its worker", async () => {
  // Was: close() waited for such a call for as long as it ran.
  const pool = new WorkerPool(fixture(), { size: 2, graceMs: 30 });
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const flag2 = new Int32Array(new SharedArrayBuffer(4));
  let running: unknown;
  let cancelled: unknown;
  await run(async () => {
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        try {
          running = await pool.run("flagThen", [flag, "spinDeaf", 10_000], { graceMs: Infinity });
        } catch (err) {
          running = err;
        }
      });
      const scope = new CancelScope();
      tg.spawn(() =>
        scope.run(async () => {
          try {
            cancelled = await pool.run("flagThen", [flag2, "spinDeaf", 10_000], { graceMs: Infinity });
          } catch (err) {
            cancelled = err;
            throw err;
          }
        }),
      );
      while (Atomics.load(flag, 0) === 0 || Atomics.load(flag2, 0) === 0) await sleep(1); // both started
      scope.cancel(); // its caller waits for it without limit…
      await pool.close(); // …until the pool closes
    });
  });
  assert.ok(running instanceof ClosedResourceError, String(running));
  assert.ok(isCancelled(cancelled), String(cancelled));
  assert.equal(pool.statistics().replaced, 2);
});

test("run() ending with the pool open terminates its workers, and its statistics show none left", async () => {
  let pool!: WorkerPool;
  await run(async () => {
    pool = new WorkerPool(fixture(), { size: 2 });
    await Promise.all([pool.run("add", [1, 2]), pool.run("add", [3, 4])]);
    assert.equal(pool.statistics().idle, 2);
  });
  const s = pool.statistics();
  assert.deepEqual([s.workers, s.idle, s.busy], [0, 0, 0], JSON.stringify(s)); // was: idle 2
  assert.deepEqual(threadHandles(), []);
});

test("a worker that crashes by itself while close() stops its call fails that call with BrokenResourceError, not ClosedResourceError", async () => {
  const pool = new WorkerPool(fixture(), { size: 1, graceMs: 10_000 });
  const flag = new Int32Array(new SharedArrayBuffer(4));
  let outcome: unknown;
  await run(async () => {
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        try {
          outcome = await pool.run("flagThen", [flag, "exitOnCancel", 9]);
        } catch (err) {
          outcome = err;
        }
      });
      while (Atomics.load(flag, 0) === 0) await sleep(1);
      await pool.close();
    });
  });
  assert.ok(outcome instanceof BrokenResourceError, String(outcome));
  assert.equal((outcome as { exitCode?: number }).exitCode, 9);
});

for (const [how, mode] of [
  ["its caller's cancellation", "terminate"],
  ["its caller's cancellation", "cooperative"],
  ["its caller's cancellation", "abandon"],
  ["close()", "terminate"],
] as const) {
  test(`cancel: "${mode}" for a call that has ended, its result not read yet: ${how} leaves its worker alone and the caller gets the value`, async () => {
    // Was: the worker was terminated (and replaced) for a call it had ended (seen here as a new
    // thread for the next call; under close() the value came through all the same), and an
    // "abandon"ed one gave Cancelled although its value was there.
    const pool = new WorkerPool(fixture(), { size: 1 });
    const flag = new Int32Array(new SharedArrayBuffer(4));
    let before: unknown;
    let outcome: unknown = "unset";
    await run(async () => {
      before = ((await pool.run("whereAmI")) as { threadId: number }).threadId;
      const scope = new CancelScope();
      await withTaskGroup(async (tg) => {
        tg.spawn(() =>
          scope.run(async () => {
            outcome = await pool.run("returnThenFlag", [flag, "done"], { cancel: mode });
          }),
        );
        for (let i = 0; i < 1000 && pool.statistics().busy === 0; i++) await Promise.resolve();
        // Block the main thread until the worker has ended the call (its result waits, unread).
        assert.notEqual(Atomics.wait(flag, 0, 0, 10_000), "timed-out");
        if (how === "close()") await pool.close();
        else scope.cancel();
      });
      if (how !== "close()") {
        const after = ((await pool.run("whereAmI")) as { threadId: number }).threadId;
        assert.equal(after, before, "the same worker thread");
      }
      await pool.close();
    });
    assert.equal(outcome, "done");
    assert.equal(pool.statistics().replaced, 0);
    assert.equal(pool.statistics().completed, how === "close()" ? 2 : 3);
  });
}
