// trellis/debug on child processes (API.md §3 "trellis/debug"): the task tree dumped on a real
// SIGUSR2, the blocked-loop detector naming the task that blocked the loop, and the leak reports
// (fixtures run with --expose-gc and force collections). Real processes, signals and timers.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

function repoRoot(): string {
  const fromBuild = fileURLToPath(new URL("../../../", import.meta.url));
  if (existsSync(join(fromBuild, "test", "fixtures", "debug", "dump-tree.mjs"))) return fromBuild;
  return process.cwd();
}

const ROOT = repoRoot();

interface Running {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves once `stream` holds `text`; rejects if the process exits first. */
  waitFor(text: string, stream?: "stdout" | "stderr"): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(name: string, args: string[] = [], nodeArgs: string[] = []): Running {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, "test", "fixtures", "debug", name), ...args], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const text = { stdout: "", stderr: "" };
  const waiters: { text: string; stream: "stdout" | "stderr"; resolve: () => void }[] = [];
  const onData = (stream: "stdout" | "stderr") => (chunk: string) => {
    text[stream] += chunk;
    for (const w of waiters.splice(0)) {
      if (text[w.stream].includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  };
  child.stdout!.setEncoding("utf8").on("data", onData("stdout"));
  child.stderr!.setEncoding("utf8").on("data", onData("stderr"));
  const guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal });
    });
  });
  return {
    child,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    exited,
    waitFor(wanted, stream = "stdout") {
      if (text[stream].includes(wanted)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiters.push({ text: wanted, stream, resolve });
        void exited.then(() => {
          if (!text[stream].includes(wanted)) reject(new Error(`${name} exited before printing "${wanted}"; stdout:\n${text.stdout}\nstderr:\n${text.stderr}`));
        });
      });
    },
  };
}

// One at a time: the blocked-loop test samples a stall from a second thread, and seven
// processes at once on a small machine would starve both threads of CPU.
describe("trellis/debug in a real process", () => {
  test("SIGUSR2 prints the task tree on stderr, and the run goes on", { skip: process.platform === "win32" ? "no SIGUSR2 on Windows" : false }, async () => {
    const p = start("dump-tree.mjs");
    await p.waitFor("ready");
    p.child.kill("SIGUSR2");
    await p.waitFor("trellis task tree at", "stderr");
    await p.waitFor('"sleeper"', "stderr");
    p.child.kill("SIGINT");
    const outcome = await p.exited;
    assert.ok(outcome.code === 130 || outcome.signal === "SIGINT", `SIGUSR2 must not end the run: ${JSON.stringify(outcome)}\n${p.stderr()}`);
    const tree = p.stderr();
    assert.match(tree, /trellis task tree at [\d.]+ ms \(5 live tasks\):/);
    assert.match(tree, /#\d+ "main" blocked [\d.]+ ms on task group join \("workers"\)/);
    assert.match(tree, /├─ #(\d+) "db" blocked [\d.]+ ms on sleepForever/);
    const db = /#(\d+) "db"/.exec(tree)![1];
    assert.match(tree, new RegExp(`├─ #\\d+ "writer" blocked [\\d.]+ ms on Lock\\.acquire \\(held by task "db" #${db}\\)`));
    assert.match(tree, /├─ #\d+ "consumer" blocked [\d.]+ ms on receive on channel "jobs"/);
    assert.match(tree, /└─ #\d+ "sleeper" blocked [\d.]+ ms on sleep until [\d.]+/);
    assert.match(tree, /in "cleanup" deadline [\d.]+ \(in [\d.]+ ms\) shielded < scope deadline [\d.]+ \(in [\d.]+ ms\) < "workers"/);
    assert.match(tree, /├─ #\d+ "db" .*\n.*\n.*spawned at .*dump-tree\.mjs:\d+:\d+\)/, "spawn sites point at the fixture's lines");
  });

  test("the blocked-loop detector names the task that busy-looped, how long, and where", async () => {
    // The stall must be sampled while it lasts, from a second thread: on a machine so loaded
    // that neither thread gets a CPU for the whole 300 ms, the report says the monitor could not
    // sample it (never a wrong task). Then the fixture runs again with a longer stall, twice at
    // most; every report of every attempt is checked.
    const attempts: string[] = [];
    for (const spinMs of [300, 900, 2_700]) {
      const p = start("blocked-loop.mjs", [String(spinMs)]);
      const outcome = await p.exited;
      assert.equal(outcome.code, 0, p.stderr());
      assert.match(p.stdout(), /run returned/);
      const report = p.stderr();
      attempts.push(report);
      const named = report.match(/by task "[^"]*"/g) ?? [];
      assert.ok(named.every((n) => n === 'by task "hasher"'), `only the task that blocked is ever named:\n${report}`);
      if (named.length === 0) continue;
      assert.equal(named.length, 1, `one report for one stall:\n${report}`);
      const m = /the event loop was blocked for ~(\d+) ms \(over slowMs = 100\) by task "hasher" \(#\d+\)\./.exec(report);
      assert.ok(m, report);
      const ms = Number(m[1]);
      assert.ok(ms >= spinMs * 0.7 && ms < spinMs + 5_000, `a ${spinMs} ms stall measured as ${ms} ms`);
      assert.match(report, /at spinFor \(.*blocked-loop\.mjs:\d+:\d+\)\n\s+at hashPasswords \(.*blocked-loop\.mjs:\d+:\d+\)/);
      return;
    }
    assert.fail(`no attempt named the task:\n${attempts.join("\n---\n")}`);
  });

  test("a channel handle collected while open is reported with where it was opened, and its peer stops waiting", async () => {
    const p = start("leak-channel.mjs", [], ["--expose-gc"]);
    const outcome = await p.exited;
    assert.equal(outcome.code, 0, p.stderr());
    assert.match(p.stderr(), /trellis: a send handle of channel "jobs" was garbage-collected while still open; it has been closed now\./);
    assert.match(p.stderr(), /opened at openJobs \(.*leak-channel\.mjs:7:\d+\)/);
    assert.match(p.stdout(), /consumer ended\nrun returned/);
  });

  test("without debug, a collected channel handle is not reported", async () => {
    const p = start("leak-channel.mjs", ["off"], ["--expose-gc"]);
    const outcome = await p.exited;
    assert.equal(outcome.code, 0, p.stderr());
    assert.equal(p.stderr(), "");
    assert.doesNotMatch(p.stdout(), /consumer ended/);
  });

  test("a resource collected while open is reported with where it was opened, and force-closed", async () => {
    const p = start("leak-resource.mjs", [], ["--expose-gc"]);
    const outcome = await p.exited;
    assert.equal(outcome.code, 0, p.stderr());
    assert.match(p.stderr(), /trellis: a socket 127\.0\.0\.1:4000 was garbage-collected while still open/);
    assert.match(p.stderr(), /opened at openSocketLike \(.*leak-resource\.mjs:10:\d+\)/);
    assert.match(p.stdout(), /force-closed\n(.|\n)*run returned/);
  });

  test("a wait()ed promise that rejects after being abandoned is reported with where wait() was called", async () => {
    const p = start("leak-wait.mjs");
    const outcome = await p.exited;
    assert.equal(outcome.code, 0, p.stderr());
    const err = p.stderr();
    assert.match(err, /trellis: a promise passed to wait\(\) rejected after its waiter had been cancelled and had abandoned it:\nError: connection reset by peer/);
    assert.match(err, /wait\(\) was called:\n\s+at .*leak-wait\.mjs:12:\d+/);
    assert.match(p.stdout(), /timed out: true\nrun returned/);
  });

  test("without debug, the abandoned rejection stays silent (and handled)", async () => {
    const p = start("leak-wait.mjs", ["off"]);
    const outcome = await p.exited;
    assert.equal(outcome.code, 0, p.stderr());
    assert.equal(p.stderr(), "");
  });
});
