// run()'s process-level duties (API.md §1 "Running") and the process-lifetime rules of sleeps
// (§1 "Time"), checked on child processes running the programs in test/fixtures/*.mjs.
//
// The fixtures import the compiled package: "../../dist/index.js" (built by `npm test` before
// the tests), or the file named by the TRELLIS_DIST environment variable. They run with the
// repository root as their working directory.
//
// Everything here stays on real time on purpose: real processes, real signals, real timers.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: three levels above the compiled test (build/test/core), else the cwd. */
function repoRoot(): string {
  const fromBuild = fileURLToPath(new URL("../../../", import.meta.url));
  if (existsSync(join(fromBuild, "test", "fixtures", "signal-cleanup.mjs"))) return fromBuild;
  return process.cwd();
}

const ROOT = repoRoot();
const fixture = (name: string) => join(ROOT, "test", "fixtures", name);

interface Running {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves once stdout holds `text`; rejects if the process exits first. */
  waitFor(text: string): Promise<void>;
  /** Resolves with how the process ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function start(name: string, args: string[] = [], killAfterMs = 15_000): Running {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // the fixture is a plain program, not a test file
  const child = spawn(process.execPath, [fixture(name), ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    for (const w of waiters.splice(0)) {
      if (out.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  // A safety net: a fixture that hangs is killed, and the test then fails on its outcome.
  const guard = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, at: performance.now() });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(text) {
      if (out.includes(text)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiters.push({ text, resolve });
        void exited.then(() => {
          if (!out.includes(text)) reject(new Error(`fixture ${name} exited before printing "${text}"; stdout:\n${out}\nstderr:\n${err}`));
        });
      });
    },
  };
}

/** True if the process ended as `signal` would have ended it (killed by it, or its shell status). */
function endedBy(outcome: { code: number | null; signal: NodeJS.Signals | null }, signal: "SIGINT" | "SIGTERM"): boolean {
  const status = signal === "SIGINT" ? 130 : 143;
  return outcome.signal === signal || outcome.code === status;
}

describe("run() and OS signals", { concurrency: true }, () => {
  test("SIGINT cancels the task tree gracefully, runs finally blocks and shielded cleanup, then ends the process by SIGINT", async () => {
    const p = start("signal-cleanup.mjs", ["50"]);
    await p.waitFor("ready");
    p.child.kill("SIGINT");
    const outcome = await p.exited;
    const out = p.stdout();
    assert.ok(endedBy(outcome, "SIGINT"), `expected death by SIGINT (status 130), got ${JSON.stringify(outcome)}\n${p.stderr()}`);
    for (const line of ["worker finally", "main finally", "cleanup started", "cleanup done"]) {
      assert.ok(out.includes(line), `missing "${line}" in:\n${out}`);
    }
    assert.ok(!out.includes("run resolved") && !out.includes("run rejected"), `run() settled before the process ended:\n${out}`);
  });

  test("the Cancelled raised by SIGINT has source signal and the signal's name as reason", async () => {
    const p = start("signal-cleanup.mjs", ["0"]);
    await p.waitFor("ready");
    p.child.kill("SIGINT");
    await p.exited;
    assert.match(p.stdout(), /main caught Cancelled source=signal reason=SIGINT/);
  });

  test("SIGTERM does the same and ends the process by SIGTERM (status 143)", async () => {
    const p = start("signal-cleanup.mjs", ["20"]);
    await p.waitFor("ready");
    p.child.kill("SIGTERM");
    const outcome = await p.exited;
    const out = p.stdout();
    assert.ok(endedBy(outcome, "SIGTERM"), `expected death by SIGTERM (status 143), got ${JSON.stringify(outcome)}\n${p.stderr()}`);
    assert.match(out, /source=signal reason=SIGTERM/);
    assert.ok(out.includes("cleanup done"), out);
    assert.ok(!out.includes("run resolved") && !out.includes("run rejected"), out);
  });

  test("a second SIGINT during a slow shielded cleanup ends the process at once", async () => {
    const p = start("signal-cleanup.mjs", ["20000"]);
    await p.waitFor("ready");
    p.child.kill("SIGINT");
    await p.waitFor("cleanup started");
    const sent = performance.now();
    p.child.kill("SIGINT");
    const outcome = await p.exited;
    assert.ok(endedBy(outcome, "SIGINT"), `expected death by SIGINT, got ${JSON.stringify(outcome)}`);
    assert.ok(!p.stdout().includes("cleanup done"), "the 20 s cleanup ran to its end");
    assert.ok(outcome.at - sent < 5_000, `the process took ${Math.round(outcome.at - sent)} ms to end after the second SIGINT`);
  });

  test("a loop that swallows Cancelled does not starve the event loop: SIGINT is still handled, a second SIGINT exits 130 and reports the sibling's error", async () => {
    const p = start("core/swallow-cancelled.mjs");
    await p.waitFor("swallowed sibling"); // the sibling failed; the loop ignores its Cancelled
    p.child.kill("SIGINT");
    await p.waitFor("swallowed signal"); // the signal listener ran in spite of the loop
    p.child.kill("SIGINT");
    const outcome = await p.exited;
    assert.ok(endedBy(outcome, "SIGINT"), `expected death by SIGINT (status 130), got ${JSON.stringify(outcome)}\n${p.stderr()}`);
    assert.match(p.stderr(), /second SIGINT/);
    assert.match(p.stderr(), /x: the sibling's error/);
  });

  // Real time on purpose: a child process must stay alive for a while of real time.
  test("sleepForever inside run() keeps the process alive until SIGINT", async () => {
    const p = start("signal-cleanup.mjs", ["0"]);
    await p.waitFor("ready");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(p.child.exitCode, null, "the process ended although main was parked in sleepForever()");
    assert.equal(p.child.signalCode, null);
    p.child.kill("SIGINT");
    assert.ok(endedBy(await p.exited, "SIGINT"));
  });
});

describe("sleeps and the process lifetime", { concurrency: true }, () => {
  for (const mode of ["outside", "inside"]) {
    test(`a pending sleep keeps the process alive (${mode} run())`, async () => {
      const p = start("sleep-alive.mjs", [mode]);
      const outcome = await p.exited;
      assert.equal(outcome.code, 0, `exit ${JSON.stringify(outcome)}\n${p.stderr()}`);
      const match = /slept (\d+)/.exec(p.stdout());
      assert.ok(match, `the process ended before the sleep: stdout ${JSON.stringify(p.stdout())}`);
      assert.ok(Number(match[1]) >= 300, `slept only ${match[1]} ms`);
    });

    test(`a cancelled sleep lets the process exit at once (${mode} run())`, async () => {
      const started = performance.now();
      const p = start("cancelled-sleep.mjs", [mode]);
      const outcome = await p.exited;
      assert.equal(outcome.code, 0, `exit ${JSON.stringify(outcome)}\n${p.stderr()}`);
      assert.ok(p.stdout().includes("done"));
      // The cancelled sleep was 60 s: anything close to that means its timer was kept.
      assert.ok(outcome.at - started < 10_000, `the process lived ${Math.round(outcome.at - started)} ms`);
    });
  }
});

describe("task context", () => {
  // Tasks start with AsyncLocalStorage.enterWith inside a promise reaction (one context frame
  // per task instead of two). On Node 20 that is safe only if async hooks were on when the
  // reaction was queued; a fresh process whose first act is to spawn checks exactly that.
  test("a task's context stays inside it, even when run() is the process's first use of trellis", async () => {
    const p = start("first-spawn-context.mjs");
    const outcome = await p.exited;
    assert.equal(outcome.code, 0, `exit ${JSON.stringify(outcome)}\n${p.stderr()}`);
    assert.deepEqual(JSON.parse(p.stdout()), {
      sync: null,
      microtask: null,
      main: "main",
      a: "a",
      microtaskInMain: "main",
      b: "b",
      timeoutInMain: "main",
      immediateInMain: "main",
      mainAfterGroup: "main",
      afterRun: null,
      afterTimer: null,
    });
  });
});

describe("errors escaping run()", { concurrency: true }, () => {
  test("an error that escapes run() is printed on stderr with the chain of tasks it came from", async () => {
    const p = start("escaping-error.mjs", ["plain"]);
    const outcome = await p.exited;
    const err = p.stderr();
    assert.notEqual(outcome.code, 0);
    assert.match(err, /worker exploded/);
    assert.match(err, /in task "worker" \(#\d+\), spawned by task "supervisor" \(#\d+\)/);
    assert.match(err, /in task "supervisor" \(#\d+\), spawned by task "main" \(#\d+\)/);
    assert.match(err, /in task "main" \(#\d+\)/);
  });

  test("with debug, the error also shows where each task was spawned", async () => {
    const p = start("escaping-error.mjs", ["debug"]);
    await p.exited;
    const err = p.stderr();
    assert.match(err, /in task "worker"/);
    assert.match(err, /spawned at .*startWorkers/);
    assert.match(err, /escaping-error\.mjs/);
  });

  test("errors suppressed behind the first one are printed by run() too", async () => {
    const p = start("escaping-error.mjs", ["two"]);
    await p.exited;
    const err = p.stderr();
    assert.match(err, /worker exploded/);
    assert.match(err, /janitor exploded while cancelled/);
  });
});

describe("what run() leaves behind", () => {
  test("after run() returns, no Timeout or Immediate of trellis is left and no SIGINT/SIGTERM listener", async () => {
    const p = start("leftovers.mjs");
    const outcome = await p.exited;
    assert.equal(outcome.code, 0, p.stderr());
    const report = JSON.parse(p.stdout().trim()) as {
      before: { resources: string[]; listeners: { SIGINT: number; SIGTERM: number } };
      during: { SIGINT: number; SIGTERM: number };
      after: { resources: string[]; listeners: { SIGINT: number; SIGTERM: number } };
    };
    assert.deepEqual(report.during, { SIGINT: 1, SIGTERM: 1 }, "run() listens to SIGINT and SIGTERM while it runs");
    assert.deepEqual(report.after.listeners, report.before.listeners);
    assert.deepEqual(report.after.listeners, { SIGINT: 0, SIGTERM: 0 });
    assert.deepEqual(report.after.resources, report.before.resources);
  });
});
