// openProcess and the Process handle (API.md §3 "trellis/process") with real children.
import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { CancelScope, isCancelled, run, withCancelScope, withTaskGroup } from "../../src/index.js";
import { waitAllTasksBlocked } from "../../src/testing/index.js";
import { openProcess, type Process } from "../../src/process/index.js";
import { thrown } from "../support/thrown.js";
import { alive, assertNothingLeft, nodeArgv, resourcesNow } from "./support.js";

test("pipes are trellis streams: write stdin, read stdout, close stdin for EOF, wait for the exit code", async () => {
  const before = resourcesNow();
  await run(async () => {
    const proc = await openProcess(["sort"], { stdin: "pipe", stdout: "pipe" });
    try {
      assert.equal(proc.stderr, undefined);
      assert.equal(typeof proc.pid, "number");
      assert.equal(proc.returnCode, undefined);
      assert.equal(proc.signal, undefined);
      await proc.stdin!.send("b\nc\na\n");
      await proc.stdin!.close();
      let out = "";
      for await (const chunk of proc.stdout!) out += Buffer.from(chunk).toString();
      assert.equal(out, "a\nb\nc\n");
      assert.equal(await proc.wait(), 0);
      assert.equal(proc.returnCode, 0);
      assert.equal(proc.signal, null);
      assert.match(inspect(proc), /Process \{ pid: \d+, argv: \[ 'sort' \], returnCode: 0 \}/);
    } finally {
      await proc.close();
    }
  });
  await assertNothingLeft(before);
});

test("close() terminates a running child, waits for it, and is idempotent; returnCode is minus the signal", async () => {
  const before = resourcesNow();
  await run(async () => {
    const proc = await openProcess(["sleep", "30"]);
    assert.equal(alive(proc.pid), true);
    await Promise.all([proc.close(), proc.close()]);
    await proc.close();
    assert.equal(proc.signal, "SIGTERM");
    assert.equal(proc.returnCode, -15);
    assert.equal(alive(proc.pid), false);
    assert.equal(proc.kill(), false); // gone: nothing sent, nothing thrown
  });
  await assertNothingLeft(before);
});

test("close() succeeds inside a cancelled scope and never raises Cancelled (safe in `finally` and for `await using`)", async () => {
  await run(async () => {
    let proc: Process | undefined;
    await withCancelScope(async (scope) => {
      proc = await openProcess(["sleep", "30"], { killSignal: "SIGINT" });
      scope.cancel();
      await proc[Symbol.asyncDispose]();
    });
    assert.equal(proc!.signal, "SIGINT");
  });
});

test("kill(signal) sends that signal; wait() returns minus its number", async () => {
  await run(async () => {
    const proc = await openProcess(["sleep", "30"]);
    try {
      assert.equal(proc.kill("SIGUSR1"), true);
      assert.equal(await proc.wait(), -10);
      assert.equal(proc.signal, "SIGUSR1");
    } finally {
      await proc.close();
    }
  });
});

test("bad input: kill() with a name that is not a signal throws TypeError naming it, and the child is not signalled", async () => {
  await run(async () => {
    const proc = await openProcess(["sleep", "30"]);
    try {
      for (const bad of ["SIGFOO", "sigterm", 5, ""]) {
        const err = await thrown(() => proc.kill(bad as never));
        assert.ok(err instanceof TypeError, String(err));
        assert.match((err as Error).message, /process\.kill\(\): `signal` must be a signal name/);
      }
      assert.equal(proc.returnCode, undefined);
      assert.equal(proc.kill(undefined), true); // undefined (and null) mean the default, SIGTERM
      assert.equal(await proc.wait(), -15);
    } finally {
      await proc.close();
    }
  });
});

test("a cancelled wait() leaves the child running; several tasks may wait at once", async () => {
  await run(async () => {
    const proc = await openProcess(nodeArgv("setTimeout(() => process.exit(7), 100)"));
    try {
      const scope = new CancelScope();
      const codes: number[] = [];
      await withTaskGroup(async (tg) => {
        tg.spawn(() => scope.run(() => proc.wait()));
        tg.spawn(async () => codes.push(await proc.wait()));
        tg.spawn(async () => codes.push(await proc.wait()));
        await waitAllTasksBlocked();
        scope.cancel();
      });
      assert.equal(scope.cancelledCaught, true);
      assert.deepEqual(codes, [7, 7]);
    } finally {
      await proc.close();
    }
  });
});

test("openProcess in a cancelled context raises Cancelled and starts nothing", async () => {
  await withCancelScope(async (scope) => {
    scope.cancel();
    const err = await thrown(() => openProcess(["sh", "-c", "exit 99"]));
    assert.ok(isCancelled(err));
  });
});

test("a process left open is killed when run() ends", async () => {
  let leaked: Process | undefined;
  await run(async () => {
    leaked = await openProcess(["sleep", "30"]);
  });
  // run() force-closes it with SIGKILL: it is dead by now or within a few milliseconds.
  for (let i = 0; i < 200 && alive(leaked!.pid); i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(alive(leaked!.pid), false);
});

test("bad options are rejected with errors naming them", async () => {
  const cases: [unknown, RegExp][] = [
    [{ stdin: "piped" }, /`options.stdin` must be "pipe" or "inherit" or "ignore", got "piped"/],
    [{ stdout: 1 }, /`options.stdout` must be/],
    [{ killAfterMs: Number.NaN }, /`options.killAfterMs`/],
    [{ shell: "yes" }, /`options.shell` must be a boolean/],
    [{ env: "PATH=/bin" }, /`options.env` must be an object/],
  ];
  for (const [options, message] of cases) {
    const err = await thrown(() => openProcess(["true"], options as never));
    assert.ok(err instanceof TypeError || err instanceof RangeError, String(err));
    assert.match((err as Error).message, /^openProcess\(\): /);
    assert.match((err as Error).message, message);
  }
  const missing = await thrown(() => openProcess(["no-such-program-trellis"]));
  assert.match((missing as Error).message, /^openProcess\(\): program "no-such-program-trellis" not found/);
});

test("env replaces the environment; cwd sets the working directory", async () => {
  await run(async () => {
    const proc = await openProcess(["sh", "-c", 'printf "%s %s" "$TRELLIS_X" "$(pwd)"'], { stdout: "pipe", env: { TRELLIS_X: "yes", PATH: process.env.PATH }, cwd: "/tmp" });
    try {
      let out = "";
      for await (const chunk of proc.stdout!) out += Buffer.from(chunk).toString();
      assert.equal(out, "yes /tmp");
      assert.equal(await proc.wait(), 0);
    } finally {
      await proc.close();
    }
  });
});
