// The park bookkeeping's shortcut (core/runtime.ts, `watched`): while nothing watches, parking
// and waking only count blocked tasks and skip the instruments, tracked waits and idle
// watchers. Its precondition is that the count is right whenever a watcher appears. Here random
// seeded programs of sleeping, checkpointing and lock-taking tasks run on a stopped MockClock;
// mid-run, with some tasks already parked and others runnable, a controller switches watchers
// on: `waitAllTasksBlocked()` (which must return only once every other task is parked) and
// autojump (which must never move time while a task is runnable, and must wake every sleeper,
// or the run would hang). Throughout, the runtime's count of blocked tasks must equal the tasks
// that have a parked wait.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { checkpoint, currentTime, Lock, run, sleep, withTaskGroup } from "../../src/index.js";
import { MockClock, waitAllTasksBlocked } from "../../src/testing/index.js";
import { currentScope, currentTaskImpl, type TaskImpl } from "../../src/core/index.js";

const SEED = 1011;

type Op = { kind: "sleep"; ms: number } | { kind: "checkpoint" } | { kind: "lock" };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("sleep" as const), ms: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ kind: fc.constant("checkpoint" as const) }),
  fc.record({ kind: fc.constant("lock" as const) }),
);

test("waitAllTasksBlocked() and autojump switched on mid-run see every blocked task", { timeout: 60_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(op, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 6 }),
      fc.nat(12),
      fc.boolean(),
      async (plans, switchAfter, waitFirst) => {
        const clock = new MockClock();
        const log: string[] = [];
        await run(
          async () => {
            const runtime = currentScope()!.runtime;
            const tasks: TaskImpl<unknown>[] = [currentTaskImpl()!];
            /** The runtime counts exactly the tasks with a parked wait. */
            const checkCount = (where: string) => {
              const blocked = tasks.filter((t) => t.parks > 0).length;
              assert.equal(runtime.blockedTasks, blocked, `blocked tasks counted ${where}`);
            };
            const lock = new Lock();
            await withTaskGroup(async (tg) => {
              plans.forEach((plan, i) => {
                const task = tg.spawn(async () => {
                  for (const step of plan) {
                    checkCount(`in task ${i}`);
                    if (step.kind === "sleep") {
                      const t0 = currentTime();
                      await sleep(step.ms);
                      assert.ok(currentTime() >= t0 + step.ms, "a sleep ends at its deadline");
                    } else if (step.kind === "checkpoint") {
                      // Autojump moves time only when every task is parked: never across a
                      // checkpoint, where this task stays runnable.
                      const t0 = currentTime();
                      await checkpoint();
                      assert.equal(currentTime(), t0, "time moved while a task was runnable");
                    } else {
                      await lock.acquire();
                      try {
                        await sleep(1);
                      } finally {
                        lock.release();
                      }
                    }
                  }
                  log.push(`task ${i} done`);
                });
                tasks.push(task as TaskImpl<unknown>);
              });
              const controller = tg.spawn(async () => {
                for (let k = 0; k < switchAfter; k++) await checkpoint();
                checkCount("before the switch");
                if (waitFirst) {
                  await waitAllTasksBlocked();
                  checkCount("after waitAllTasksBlocked");
                  for (const t of tasks) {
                    if (t === controller) continue;
                    assert.ok(t.state !== "running" || t.parks > 0, `task "${t.name}" #${t.id} is runnable, yet waitAllTasksBlocked() returned`);
                  }
                }
                clock.autojumpThreshold = 0; // autojump from now on: every sleeper must wake
              });
              tasks.push(controller as TaskImpl<unknown>);
            });
            checkCount("at the end");
          },
          { clock },
        );
        assert.equal(log.length, plans.length, "every task finished");
      },
    ),
    { seed: SEED, numRuns: 80 },
  );
});
