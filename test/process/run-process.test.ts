// runProcess (API.md §3 "trellis/process") with real children.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isCancelled, moveOnAfter, run, withTaskGroup } from "../../src/index.js";
import { ProcessError, runProcess, type Process } from "../../src/process/index.js";
import { thrown } from "../support/thrown.js";
import { alive, assertNothingLeft, nodeArgv, resourcesNow } from "./support.js";

const text = (b: Uint8Array | string) => (typeof b === "string" ? b : Buffer.from(b).toString("utf8"));

test("returns the exit code and the captured stdout and stderr, as bytes or as text", async () => {
  const before = resourcesNow();
  await run(async () => {
    const r = await runProcess(nodeArgv("process.stdout.write('out'); process.stderr.write('err')"));
    assert.deepEqual(r.argv, nodeArgv("process.stdout.write('out'); process.stderr.write('err')"));
    assert.equal(r.code, 0);
    assert.equal(r.signal, null);
    assert.ok(r.stdout instanceof Uint8Array);
    assert.equal(text(r.stdout), "out");
    assert.equal(text(r.stderr), "err");
    const t = await runProcess(["echo", "héllo"], { encoding: "utf8" });
    assert.equal(t.stdout, "héllo\n");
    assert.equal(t.stderr, "");
  });
  await assertNothingLeft(before);
});

test("input is written to stdin and then closed; without input the child reads an empty stdin", async () => {
  await run(async () => {
    assert.equal((await runProcess(["cat"], { input: "a\nb\n", encoding: "utf8" })).stdout, "a\nb\n");
    assert.equal((await runProcess(["cat"], { input: new Uint8Array([104, 105]), encoding: "latin1" })).stdout, "hi");
    assert.equal((await runProcess(["cat"], { encoding: "utf8" })).stdout, "");
    assert.equal((await runProcess(["cat"], { input: "", encoding: "utf8" })).stdout, "");
  });
});

test("no shell: arguments reach the program as they are; shell: true runs one command line", async () => {
  await run(async () => {
    const literal = await runProcess(["echo", "$HOME; echo pwned `id`"], { encoding: "utf8" });
    assert.equal(literal.stdout, "$HOME; echo pwned `id`\n");
    const shelled = await runProcess(["echo one | tr a-z A-Z"], { shell: true, encoding: "utf8" });
    assert.equal(shelled.stdout, "ONE\n");
    const err = await thrown(() => runProcess(["echo", "two"], { shell: true }));
    assert.ok(err instanceof TypeError);
    assert.match((err as Error).message, /with `shell: true`, `argv` must be one string/);
  });
});

test("check: a non-zero exit is a ProcessError with the code, argv and captured output; check: false returns it", async () => {
  await run(async () => {
    const argv = nodeArgv("process.stdout.write('partial'); console.error('disk full'); process.exit(3)");
    const err = await thrown(() => runProcess(argv));
    assert.ok(err instanceof ProcessError, String(err));
    assert.equal(err.code, 3);
    assert.equal(err.signal, null);
    assert.deepEqual(err.argv, argv);
    assert.equal(text(err.stdout), "partial");
    assert.equal(text(err.stderr), "disk full\n");
    assert.equal(err.maxBufferExceeded, undefined);
    assert.match(err.message, /exited with code 3; its stderr was:\ndisk full/);
    assert.equal(err.name, "ProcessError");
    const r = await runProcess(argv, { check: false, encoding: "utf8" });
    assert.equal(r.code, 3);
    assert.equal(r.stderr, "disk full\n");
  });
});

test("a child ended by a signal is a ProcessError naming the signal", async () => {
  await run(async () => {
    const err = await thrown(() => runProcess(["sh", "-c", "kill -KILL $$"]));
    assert.ok(err instanceof ProcessError, String(err));
    assert.equal(err.code, null);
    assert.equal(err.signal, "SIGKILL");
    assert.match(err.message, /was ended by SIGKILL/);
  });
});

test("output past maxBuffer kills the child and says so, even with check: false; what fits is kept", async () => {
  const before = resourcesNow();
  let pid = 0;
  await run(() =>
    withTaskGroup(async (tg) => {
      const endless = nodeArgv("const b = Buffer.alloc(65536, 120); (function w() { while (process.stdout.write(b)); process.stdout.once('drain', w); })()");
      const task = tg.spawn(() => thrown(() => runProcess(endless, { maxBuffer: 100_000, check: false, status: { started: (p: Process) => (pid = p.pid) } })));
      const err = await task.result();
      assert.ok(err instanceof ProcessError, String(err));
      assert.equal(err.maxBufferExceeded, "stdout");
      assert.equal(err.signal, "SIGTERM");
      assert.equal((err.stdout as Uint8Array).byteLength, 100_000);
      assert.match(err.message, /wrote more than maxBuffer \(100000 bytes\) to stdout, so it was killed/);
      assert.equal(alive(pid), false);
    }),
  );
  await assertNothingLeft(before);
});

test("a missing program, a missing cwd, a file that is not executable: clear errors naming them", async () => {
  const before = resourcesNow();
  await run(async () => {
    const missing = await thrown(() => runProcess(["no-such-program-trellis"]));
    assert.ok(missing instanceof Error);
    assert.match((missing as Error).message, /^runProcess\(\): program "no-such-program-trellis" not found on the PATH/);
    assert.equal((missing as NodeJS.ErrnoException).code, "ENOENT");
    const path = await thrown(() => runProcess(["/no/such/dir/tool"]));
    assert.match((path as Error).message, /program "\/no\/such\/dir\/tool" not found: no such file/);
    const cwd = await thrown(() => runProcess(["ls"], { cwd: "/no/such/dir" }));
    assert.match((cwd as Error).message, /the working directory "\/no\/such\/dir" \(option `cwd`\) does not exist/);
    const dir = mkdtempSync(join(tmpdir(), "trellis-proc-"));
    const script = join(dir, "not-executable.sh");
    writeFileSync(script, "#!/bin/sh\necho hi\n");
    chmodSync(script, 0o644);
    const denied = await thrown(() => runProcess([script]));
    assert.match((denied as Error).message, /could not be run: permission denied/);
  });
  // Node itself leaves the two pipe handles it made for a child that failed to start (unref'd,
  // unreachable; lib/internal/child_process.js never closes them): not ours to close. No
  // process handle, timer or listener of ours is left.
  await assertNothingLeft([...before, ...Array<string>(8).fill("PipeWrap")]);
});

test("cancellation sends SIGTERM, waits for the exit, then raises Cancelled: the child never outlives the call", async () => {
  const before = resourcesNow();
  await run(async () => {
    let proc: Process | undefined;
    await withTaskGroup(async (tg) => {
      proc = await tg.start<Process>((status) => runProcess(["sleep", "30"], { status }));
      assert.equal(alive(proc.pid), true);
      tg.cancel();
    });
    assert.equal(proc!.signal, "SIGTERM");
    assert.equal(proc!.returnCode, -15);
    assert.equal(alive(proc!.pid), false);
    // The same with a deadline.
    assert.equal(await moveOnAfter(50, () => runProcess(["sleep", "30"])), undefined);
  });
  await assertNothingLeft(before);
});

test("a child that ignores SIGTERM gets SIGKILL after killAfterMs; Cancelled comes after its exit", async () => {
  const before = resourcesNow();
  await run(async () => {
    let seenAtCancel: number | undefined | "not cancelled" = "not cancelled";
    let proc: Process | undefined;
    await withTaskGroup(async (tg) => {
      // The child says "ready" once its SIGTERM handler is in place.
      const code = "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)";
      proc = await tg.start<Process>(async (status) => {
        try {
          await runProcess(nodeArgv(code), { status, stdout: "pipe", killAfterMs: 200 });
        } catch (err) {
          if (isCancelled(err)) seenAtCancel = proc?.returnCode;
          throw err;
        }
      });
      assert.match(Buffer.from(await proc.stdout!.receive()).toString(), /ready/);
      tg.cancel();
    });
    assert.equal(proc!.signal, "SIGKILL");
    assert.equal(seenAtCancel, -9);
    assert.equal(alive(proc!.pid), false);
  });
  await assertNothingLeft(before);
});

test("a child that closes stdout early, or stops reading its input, is not an error", async () => {
  const before = resourcesNow();
  await run(async () => {
    const early = await runProcess(nodeArgv("require('fs').closeSync(1); setTimeout(() => process.exit(0), 50)"), { encoding: "utf8" });
    assert.equal(early.code, 0);
    assert.equal(early.stdout, "");
    const head = await runProcess(["head", "-c", "5"], { input: new Uint8Array(20 * 1024 * 1024).fill(65), encoding: "utf8" });
    assert.equal(head.stdout, "AAAAA");
    const deaf = await runProcess(nodeArgv("require('fs').closeSync(0)"), { input: "x".repeat(1 << 20) });
    assert.equal(deaf.code, 0);
  });
  await assertNothingLeft(before);
});

test("the wait is labelled with the pid and the program", async () => {
  const labels: string[] = [];
  let pid = 0;
  await run(
    () => runProcess(["sleep", "0.05"], { status: { started: (p: Process) => (pid = p.pid) } }),
    { instruments: [{ taskBlocked: (_t, label) => labels.push(label) }] },
  );
  assert.ok(labels.includes(`process wait pid ${pid} (sleep)`), labels.join("\n"));
});

test("tg.start reports the Process once started; runProcess as a task ends with the group", async () => {
  const before = resourcesNow();
  await run(() =>
    withTaskGroup(async (tg) => {
      const proc = await tg.start<Process>((status) => runProcess(["cat"], { status, stdin: "pipe", stdout: "pipe" }));
      assert.equal(proc.returnCode, undefined);
      assert.deepEqual(proc.argv, ["cat"]);
      await proc.stdin!.send("echo me");
      assert.equal(Buffer.from(await proc.stdout!.receive()).toString(), "echo me");
      await proc.stdin!.close();
      assert.equal(await proc.wait(), 0);
    }),
  );
  await assertNothingLeft(before);
});

test("bad arguments are rejected with a TypeError or RangeError naming them, never thrown synchronously", async () => {
  const cases: [unknown, unknown, RegExp][] = [
    [[], undefined, /`argv` must be a non-empty array/],
    ["ls", undefined, /`argv` must be a non-empty array/],
    [["ls", 3], undefined, /`argv\[1\]` must be a string, got 3 \(number\)/],
    [[""], undefined, /`argv\[0\]` \(the program\) is empty/],
    [["ls"], 5, /`options` must be an object/],
    [["ls"], { killSignal: "SIGNOPE" }, /`options.killSignal` must be a signal name/],
    [["ls"], { killAfterMs: -1 }, /`options.killAfterMs` must be ≥ 0/],
    [["ls"], { maxBuffer: 1.5 }, /`options.maxBuffer` must be a whole number of bytes/],
    [["ls"], { encoding: "klingon" }, /`options.encoding` must be a text encoding/],
    [["ls"], { input: 42 }, /`options.input` must be a string or a Uint8Array/],
    [["ls"], { capture: "yes" }, /`options.capture` must be a boolean/],
    [["ls"], { stdout: "pipe" }, /`options.stdout: "pipe"` needs `status`/],
    [["ls"], { stdin: "pipe" }, /pass the data as `input` instead/],
    [["ls"], { input: "x", stdin: "inherit" }, /give `options.input` or `options.stdin`, not both/],
    [["ls"], { capture: true, stdout: "ignore" }, /stdout cannot be both captured and sent elsewhere/],
    [["ls"], { cwd: 7 }, /`options.cwd` must be a path/],
    [["ls"], { status: {} }, /`options.status` must be the status tg.start\(\) passes/],
  ];
  for (const [argv, options, message] of cases) {
    let promise: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      promise = runProcess(argv as string[], options as never);
    });
    const err = await thrown(() => promise);
    assert.ok(err instanceof TypeError || err instanceof RangeError, `${JSON.stringify(options)}: ${String(err)}`);
    assert.match((err as Error).message, message);
    assert.match((err as Error).message, /^runProcess\(\): /);
  }
  // null means "not given", for every option.
  const r = await runProcess(["true"], { input: null, capture: null, check: null, cwd: null, env: null, encoding: null, killSignal: null, killAfterMs: null, maxBuffer: null, shell: null, status: null, stdin: null, stdout: null, stderr: null });
  assert.equal(r.code, 0);
});

test("a cancelled context raises Cancelled before anything is started", async () => {
  await run(async () => {
    const err = await moveOnAfter(0, async () => {
      await new Promise((r) => setTimeout(r, 5));
      return thrown(() => runProcess(["sh", "-c", "echo started > /dev/stderr"]));
    });
    // moveOnAfter(0): the body's own checkpoint raised inside, then the scope absorbed it.
    assert.ok(err === undefined || isCancelled(err));
  });
});
