// Instruments (API.md §3 "trellis/debug", issue 9 item 11): the full hook set, in order, and a
// throwing instrument, in any hook, is removed and reported once while the run goes on.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Lock, run, sleep, withTaskGroup, type Instrument, type TaskInfo, type TaskOutcome } from "../../src/index.js";
import { MockClock } from "../../src/testing/index.js";

/** Runs `fn` with process.stderr.write captured; returns what was written. */
async function captureStderr(fn: () => Promise<unknown>): Promise<string> {
  const original = process.stderr.write;
  let text = "";
  process.stderr.write = ((chunk: string | Uint8Array) => {
    text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    process.stderr.write = original;
  }
  return text;
}

const virtual = () => new MockClock({ autojumpThreshold: 0 });

describe("instruments", () => {
  test("hear every hook, in order: spawned, started, blocked, resumed, exited with the outcome, runFinished", async () => {
    const record: string[] = [];
    const name = (t: TaskInfo) => t.name;
    const instrument: Instrument = {
      taskSpawned: (t) => record.push(`spawned ${name(t)}`),
      taskStarted: (t) => record.push(`started ${name(t)}`),
      taskBlocked: (t, what) => record.push(`blocked ${name(t)} on ${what}`),
      taskResumed: (t) => record.push(`resumed ${name(t)}`),
      taskExited: (t, outcome: TaskOutcome) =>
        record.push(`exited ${name(t)} ${outcome.state} ${outcome.state === "done" ? String(outcome.value) : (outcome.error as Error).message}`),
      runFinished: () => record.push("runFinished"),
    };
    await assert.rejects(
      run(
        () =>
          withTaskGroup(async (tg) => {
            tg.spawn(async () => {
              await sleep(5);
              return 42;
            }, { name: "napper" });
            tg.spawn(async () => {
              await sleep(10);
              throw new Error("boom");
            }, { name: "failer" });
          }),
        { instruments: [instrument], clock: virtual(), handleSignals: false },
      ),
      /boom/,
    );
    // Each task's own hooks come in this order (how tasks interleave is the scheduler's business).
    const of = (task: string) => record.filter((line) => line.split(" ")[1] === task);
    assert.deepEqual(of("main"), ["spawned main", "started main", "blocked main on task group join", "resumed main", "exited main failed boom"]);
    assert.deepEqual(of("napper"), ["spawned napper", "started napper", "blocked napper on sleep until 5.0", "resumed napper", "exited napper done 42"]);
    assert.deepEqual(of("failer"), ["spawned failer", "started failer", "blocked failer on sleep until 10.0", "resumed failer", "exited failer failed boom"]);
    assert.equal(record.at(-1), "runFinished");
    assert.equal(record.length, 16);
  });

  for (const hook of ["taskSpawned", "taskStarted", "taskBlocked", "taskResumed", "taskExited", "runFinished"] as const) {
    test(`an instrument that throws in ${hook} is removed and reported once; the run goes on`, async () => {
      const calls: string[] = [];
      class Faulty implements Instrument {
        [key: string]: unknown;
      }
      const faulty = new Faulty() as Instrument & Record<string, unknown>;
      faulty[hook] = () => {
        calls.push(hook);
        throw new Error(`broken ${hook}`);
      };
      const healthy: string[] = [];
      const good: Instrument = { taskExited: (t) => healthy.push(t.name), runFinished: () => healthy.push("end") };
      let result: unknown;
      const stderr = await captureStderr(async () => {
        result = await run(
          () =>
            withTaskGroup(async (tg) => {
              const lock = new Lock();
              for (let i = 0; i < 3; i++) tg.spawn(() => lock.withLock(() => sleep(1)), { name: `w${i}` });
              return "finished";
            }),
          { instruments: [faulty, good], clock: virtual(), handleSignals: false },
        );
      });
      assert.equal(result, "finished");
      assert.equal(calls.length, 1, "called once, then removed");
      assert.deepEqual(healthy, ["w0", "w1", "w2", "main", "end"], "the other instrument keeps hearing everything");
      const reports = stderr.split("trellis: instrument").length - 1;
      assert.equal(reports, 1, stderr);
      assert.match(stderr, new RegExp(`instrument "Faulty" threw in ${hook}\\(\\); it has been removed`));
      assert.match(stderr, new RegExp(`Error: broken ${hook}`));
    });
  }

  test("a hook that throws a non-Error (undefined) is reported too", async () => {
    const stderr = await captureStderr(() =>
      run(() => sleep(1), {
        instruments: [{ taskBlocked: () => { throw undefined; } }],
        clock: virtual(),
        handleSignals: false,
      }),
    );
    assert.match(stderr, /instrument \(an object\) threw in taskBlocked\(\).*\n.*\na non-Error value: undefined/);
  });

  test("instruments that are not objects are refused with a TypeError naming the entry (issue 9 item 12)", async () => {
    await assert.rejects(run(() => 7, { instruments: [{}, null] as unknown as Instrument[], handleSignals: false }), /`options\.instruments\[1\]` must be an object/);
  });
});
