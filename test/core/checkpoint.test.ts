// Checkpoints (API.md §1 "Time" → checkpoint(); the conventions: every async function of
// trellis is a checkpoint), after Trio's test_cancel_points and test_yield_briefly_checks_for_timeout.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  checkpoint,
  checkpointIfCancelled,
  currentTime,
  isCancelled,
  sleep,
  withCancelScope,
  withTaskGroup,
} from "../../src/index.js";

describe("checkpoint", () => {
  test("checkpoint yields to other tasks even when nothing is cancelled", async () => {
    const record: string[] = [];
    await withTaskGroup((tg) => {
      for (const name of ["a", "b"]) {
        tg.spawn(async () => {
          for (let i = 0; i < 3; i++) {
            record.push(`${name}${i}`);
            await checkpoint();
          }
        });
      }
    });
    // each loop's first checkpoint let the other loop take its first step
    assert.equal(record.length, 6);
    assert.ok(record.indexOf("b0") < record.indexOf("a1"), record.join(" "));
    assert.ok(record.indexOf("a0") < record.indexOf("b1"), record.join(" "));
  });

  test("checkpoint lets queued microtasks run before it returns", async () => {
    let ran = false;
    queueMicrotask(() => {
      ran = true;
    });
    await checkpoint();
    assert.equal(ran, true);
  });

  test("checkpoint raises Cancelled in a cancelled scope, and not before the cancel", async () => {
    await withCancelScope(async (scope) => {
      await checkpoint();
      scope.cancel();
      await assert.rejects(checkpoint(), (err) => isCancelled(err));
    });
  });

  test("checkpoint raises Cancelled when the scope is cancelled while it yields", async () => {
    await withCancelScope(async (scope) => {
      queueMicrotask(() => scope.cancel());
      await assert.rejects(checkpoint(), (err) => isCancelled(err));
    });
  });

  test("checkpointIfCancelled never yields and throws only in a cancelled context", async () => {
    let ran = false;
    queueMicrotask(() => {
      ran = true;
    });
    assert.equal(checkpointIfCancelled(), undefined);
    assert.equal(ran, false);
    await withCancelScope(async (scope) => {
      scope.cancel();
      assert.throws(() => checkpointIfCancelled(), (err) => isCancelled(err));
    });
  });

  // Real clock on purpose: fairness between a busy task and a real timer is the point.
  test("a task looping on checkpoint() does not starve a sibling's sleep(10)", async () => {
    // A fairness property, not a benchmark: without macrotask yields the sleep would never
    // end (microtasks run before timers); with them it ends within a few milliseconds. The
    // bound is generous, and the best of three tries counts (as Trio's test_timekeeping does),
    // so that a loaded machine does not fail it; a starving scheduler fails all three.
    const tries: number[] = [];
    for (let attempt = 0; attempt < 3 && !(tries.length > 0 && Math.min(...tries) < 100); attempt++) {
      let slept = Infinity;
      let loops = 0;
      await withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          const started = performance.now();
          // Gives up after 2 s so that a starving scheduler fails the test instead of hanging it.
          while (performance.now() - started < 2_000) {
            loops++;
            await checkpoint();
          }
        });
        const start = performance.now();
        await sleep(10);
        slept = performance.now() - start;
        tg.cancel();
      });
      assert.ok(loops > 0);
      tries.push(slept);
    }
    const best = Math.min(...tries);
    assert.ok(best < 100, `sleep(10) took ${tries.map((t) => t.toFixed(1)).join(", ")} ms while a sibling looped on checkpoint()`);
  });

  // Real clock on purpose: fairness between busy tasks and a real timer callback is the point.
  test("many tasks looping on checkpoint() still let a timer callback in", async () => {
    const tries: number[] = [];
    for (let attempt = 0; attempt < 3 && !(tries.length > 0 && Math.min(...tries) < 100); attempt++) {
      await withTaskGroup(async (tg) => {
        for (let i = 0; i < 10; i++) {
          tg.spawn(async () => {
            const started = performance.now();
            while (performance.now() - started < 2_000) await checkpoint();
          });
        }
        const start = performance.now();
        await new Promise<void>((resolve) => setTimeout(resolve, 5));
        tries.push(performance.now() - start);
        tg.cancel();
      });
    }
    assert.ok(Math.min(...tries) < 100, `a 5 ms setTimeout took ${tries.map((t) => t.toFixed(1)).join(", ")} ms`);
  });

  // Real clock on purpose: a busy task is never blocked, so autojump would never move a MockClock.
  test("a checkpoint loop inside a deadline scope is ended by the deadline", async () => {
    let iterations = 0;
    const result = await withCancelScope(
      async (scope) => {
        for (;;) {
          iterations++;
          await checkpoint();
          if (iterations > 50_000_000) return scope; // never: the deadline ends the loop first
        }
      },
      { deadline: currentTime() + 5 },
    );
    assert.equal(result, undefined);
    assert.ok(iterations > 0);
  });
});
