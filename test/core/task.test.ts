// Task handles: API.md §1 "Task groups" → Task<R> (id, name, state, result(), cancel()).
// Tests that wait run in virtual time (trellisTest with autojump); waitAllTasksBlocked()
// replaces "sleep a little so that the others are parked".
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CancelScope,
  checkpoint,
  currentTask,
  isCancelled,
  sleep,
  sleepForever,
  wait,
  withCancelScope,
  withTaskGroup,
  type Task,
} from "../../src/index.js";
import { trellisTest, waitAllTasksBlocked } from "../../src/testing/index.js";
import { thrown } from "../support/thrown.js";

describe("Task", () => {
  test("a task has a unique numeric id and a name", async () => {
    await withTaskGroup((tg) => {
      const a = tg.spawn(() => 1, { name: "a" });
      const b = tg.spawn(() => 2);
      assert.equal(typeof a.id, "number");
      assert.notEqual(a.id, b.id);
      assert.equal(a.name, "a");
      assert.equal(typeof b.name, "string");
    });
  });

  test("state is running until the task ends, then done", trellisTest(async () => {
    let task: Task<number> | undefined;
    await withTaskGroup(async (tg) => {
      task = tg.spawn(async () => {
        assert.equal(task?.state, "running");
        await sleep(1);
        return 5;
      });
      assert.equal(task.state, "running"); // before it even started
      await sleep(0);
      assert.equal(task.state, "running");
    });
    assert.equal(task?.state, "done");
  }, { autojump: true }));

  test("state is failed after the task threw", async () => {
    let task: Task<never> | undefined;
    await assert.rejects(
      withTaskGroup((tg) => {
        task = tg.spawn(() => {
          throw new Error("x");
        });
      }),
    );
    assert.equal(task?.state, "failed");
  });

  test("state is cancelled after the task ended with Cancelled", trellisTest(async () => {
    let task: Task<void> | undefined;
    await withTaskGroup(async (tg) => {
      task = tg.spawn(() => sleepForever());
      await waitAllTasksBlocked();
      tg.cancel();
    });
    assert.equal(task?.state, "cancelled");
  }, { autojump: true }));

  test("result() returns the task's value", trellisTest(async () => {
    await withTaskGroup(async (tg) => {
      const t = tg.spawn(async () => {
        await sleep(1);
        return { answer: 42 };
      });
      assert.deepEqual(await t.result(), { answer: 42 });
      assert.deepEqual(await t.result(), { answer: 42 }); // again, once done
    });
  }, { autojump: true }));

  test("result() throws the task's error as the same object", trellisTest(async () => {
    const boom = new Error("boom");
    await assert.rejects(
      withTaskGroup(async (tg) => {
        const t = tg.spawn(async () => {
          await sleep(1);
          throw boom;
        });
        const err = await thrown(() => t.result());
        assert.equal(err, boom);
      }),
      (err) => err === boom,
    );
  }, { autojump: true }));

  test("result() throws Cancelled if the task was cancelled", trellisTest(async () => {
    await withTaskGroup(async (tg) => {
      const t = tg.spawn(() => sleepForever());
      await waitAllTasksBlocked();
      t.cancel();
      const err = await thrown(() => t.result());
      assert.ok(isCancelled(err));
    });
  }, { autojump: true }));

  test("result() is a checkpoint: it raises Cancelled in a cancelled context even for a finished task", async () => {
    await withTaskGroup(async (tg) => {
      const t = tg.spawn(() => "done");
      await t.result();
      await withCancelScope(async (scope) => {
        scope.cancel();
        const err = await thrown(() => t.result());
        assert.ok(isCancelled(err));
      });
      let yielded = false;
      queueMicrotask(() => {
        yielded = true;
      });
      await t.result();
      assert.equal(yielded, true);
    });
  });

  test("a cancelled result() wait leaves the task running", trellisTest(async () => {
    const record: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await withTaskGroup(async (tg) => {
      const t = tg.spawn(async () => {
        await wait(gate); // through wait(), so that the task counts as blocked
        await checkpoint();
        record.push("task finished");
        return 1;
      });
      const scope = new CancelScope();
      tg.spawn(async () => {
        await waitAllTasksBlocked();
        scope.cancel();
      });
      await scope.run(() => t.result());
      assert.equal(scope.cancelledCaught, true);
      assert.equal(t.state, "running");
      release();
      assert.equal(await t.result(), 1);
    });
    assert.deepEqual(record, ["task finished"]);
  }, { autojump: true }));

  test("cancel() cancels that task alone", trellisTest(async () => {
    const record: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const result = await withTaskGroup(async (tg) => {
      const victim = tg.spawn(async () => {
        try {
          await sleepForever();
        } catch (err) {
          record.push(isCancelled(err) ? "victim cancelled" : "other");
          throw err;
        }
      });
      tg.spawn(async () => {
        await wait(gate); // through wait(), so that the task counts as blocked
        await checkpoint();
        record.push("sibling finished");
      });
      await waitAllTasksBlocked();
      victim.cancel("just you");
      await waitAllTasksBlocked();
      assert.deepEqual(record, ["victim cancelled"]);
      await checkpoint(); // the body is not cancelled either
      release();
      return "body finished";
    });
    assert.equal(result, "body finished");
    assert.deepEqual(record, ["victim cancelled", "sibling finished"]);
  }, { autojump: true }));

  test("cancel() is idempotent and never waits", async () => {
    await withTaskGroup(async (tg) => {
      const t = tg.spawn(() => sleepForever());
      let yielded = false;
      queueMicrotask(() => {
        yielded = true;
      });
      t.cancel();
      t.cancel();
      assert.equal(yielded, false);
    });
  });

  test("cancel() on a finished task does nothing", async () => {
    await withTaskGroup(async (tg) => {
      const t = tg.spawn(() => 3);
      assert.equal(await t.result(), 3);
      t.cancel();
      assert.equal(t.state, "done");
      assert.equal(await t.result(), 3);
    });
  });

  test("a task's failure reaches its group although nobody calls result()", trellisTest(async () => {
    const boom = new Error("unobserved failure");
    await assert.rejects(
      withTaskGroup((tg) => {
        tg.spawn(async () => {
          await sleep(1);
          throw boom;
        });
      }),
      (err) => err === boom,
    );
  }, { autojump: true }));

  test("a task's failure reaches its group also when result() was called and caught", async () => {
    const boom = new Error("seen and still reported");
    await assert.rejects(
      withTaskGroup(async (tg) => {
        const t = tg.spawn(() => {
          throw boom;
        });
        await thrown(() => t.result());
      }),
      (err) => err === boom,
    );
  });
});

describe("a task is not a public CancelScope (issue 10)", () => {
  test("currentTask() is no CancelScope, and plain JS cannot shield it from its group's cancellation", trellisTest(async () => {
    const reached: string[] = [];
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        const task = currentTask()! as unknown as Record<string, unknown>;
        assert.ok(!(task instanceof CancelScope));
        assert.equal(typeof task["run"], "undefined");
        // What plain JavaScript could try: an ES module is strict, so assigning a getter-only
        // property throws; either way the task is not shielded.
        assert.throws(() => {
          task["shield"] = true;
        }, TypeError);
        await sleepForever().catch((err: unknown) => {
          reached.push(isCancelled(err) ? "cancelled" : "other");
          throw err;
        });
      });
      await waitAllTasksBlocked();
      tg.cancel();
    });
    assert.deepEqual(reached, ["cancelled"]);
  }));
});
