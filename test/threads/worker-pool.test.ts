// WorkerPool basics: calls, queueing, transfer, errors rebuilt across threads, bad input.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { isMainThread } from "node:worker_threads";
import { WorkerPool, withWorkerPool, isWorker, type WorkerPoolStatistics } from "trellis/threads";
import { BrokenResourceError, ClosedResourceError, TimeoutError, run } from "trellis";
import { fixture, threadHandles } from "./support.js";
import { thrown } from "../support/thrown.js";

const pool = new WorkerPool(fixture(), { size: 2, name: "basics" });
after(() => pool.close());

test("run() calls the export with the arguments and returns its awaited result", async () => {
  assert.equal(await pool.run("add", [2, 3]), 5);
  assert.equal(await pool.run("double", [21]), 42);
  assert.deepEqual(await pool.run("echo", [{ a: [1, new Map([[1, 2]])] }]), { a: [1, new Map([[1, 2]])] });
  assert.equal(await pool.run("echo"), undefined, "args default to []");
  assert.equal(await pool.run("echo", null, null), undefined, "null means the default");
});

test("isWorker() is true in a pool's worker and false in the main thread", async () => {
  assert.equal(isWorker(), false);
  const where = (await pool.run("whereAmI")) as { isWorker: boolean; threadId: number };
  assert.equal(where.isWorker, true);
  assert.notEqual(where.threadId, 0);
  assert.ok(isMainThread);
});

test("at most `size` calls run at once; the others wait in FIFO order", async () => {
  await withWorkerPool(fixture(), { size: 1 }, async (one) => {
    const order: number[] = [];
    const calls = [0, 1, 2, 3].map((i) => one.run("nap", [5]).then(() => order.push(i)));
    await new Promise((resolve) => setImmediate(resolve));
    const s: WorkerPoolStatistics = one.statistics();
    assert.equal(s.busy, 1);
    assert.equal(s.waiting, 3);
    await Promise.all(calls);
    assert.deepEqual(order, [0, 1, 2, 3]);
    assert.deepEqual({ ...one.statistics(), idle: 0 }, { size: 1, workers: 1, busy: 0, idle: 0, waiting: 0, completed: 4, failed: 0, cancelled: 0, replaced: 0 });
  });
});

test("a worker that gets free takes the call sent ahead to a busy one", async () => {
  await withWorkerPool(fixture(), { size: 2 }, async (two) => {
    const done: string[] = [];
    const track = (name: string, p: Promise<unknown>) => p.then(() => done.push(name));
    const long = track("long", two.run("nap", [600])); // starts the first worker
    const short = track("short", two.run("nap", [20])); // starts the second
    const third = track("third", two.run("nap", [20])); // sent ahead to the first worker, behind "long"
    await Promise.all([long, short, third]);
    assert.deepEqual(done, ["short", "third", "long"], "the third call did not wait behind the long one");
    assert.equal(two.statistics().completed, 3);
  });
});

test("transfer moves an ArrayBuffer to the worker instead of copying it", async () => {
  const buffer = new ArrayBuffer(1024);
  assert.equal(await pool.run("byteLength", [buffer], { transfer: [buffer] }), 1024);
  assert.equal(buffer.byteLength, 0, "detached in the caller");
});

test("an error keeps its class, message, the worker's stack, cause and own properties", async () => {
  const err = (await thrown(() => pool.run("fail", ["type"]))) as TypeError;
  assert.ok(err instanceof TypeError);
  assert.equal(err.message, "bad type");
  assert.match(err.stack!, /at fail \(.*basic\.mjs/);
  assert.ok(err.cause instanceof RangeError);
  assert.equal((err.cause as Error).message, "inner");

  const custom = (await thrown(() => pool.run("fail", ["custom"]))) as RangeError & { code: string; details: unknown };
  assert.ok(custom instanceof RangeError, "a user class comes back as its nearest built-in class");
  assert.equal(custom.name, "MyError");
  assert.equal(custom.code, "E_MINE");
  assert.deepEqual(custom.details, { retry: true });

  const many = (await thrown(() => pool.run("fail", ["aggregate"]))) as AggregateError;
  assert.ok(many instanceof AggregateError);
  assert.equal((many.errors[0] as Error).message, "a");
  assert.equal(many.errors[1], 42);
});

test("a thrown non-error (undefined, 42, a string) comes back as itself", async () => {
  assert.equal(await thrown(() => pool.run("fail", ["undefined"])), undefined);
  assert.equal(await thrown(() => pool.run("fail", ["number"])), 42);
  assert.equal(await thrown(() => pool.run("fail", ["string"])), "just a string");
});

test("trellis errors thrown in the worker come back as trellis classes", async () => {
  const err = await thrown(() => pool.run("trellisError", ["timeout"]));
  assert.ok(err instanceof TimeoutError);
  const broken = await thrown(() => pool.run("trellisError", ["closed"]));
  assert.ok(broken instanceof ClosedResourceError);
});

test("a value that cannot be cloned (thrown, returned or passed) gives a TypeError naming it; the pool goes on", async () => {
  const thrownFn = (await thrown(() => pool.run("fail", ["function"]))) as TypeError;
  assert.ok(thrownFn instanceof TypeError);
  assert.match(thrownFn.message, /the error thrown by fail\(\) cannot be sent between threads/);
  const returned = (await thrown(() => pool.run("returnFunction"))) as TypeError;
  assert.match(returned.message, /the result of returnFunction\(\) cannot be sent/);
  const arg = (await thrown(() => pool.run("echo", [() => 1]))) as TypeError;
  assert.ok(arg instanceof TypeError);
  assert.match(arg.message, /pool\.run\("echo"\): `args` cannot be sent to a worker thread/);
  assert.equal(await pool.run("add", [1, 1]), 2);
});

test("an export that does not exist gives a TypeError listing the exports; the pool goes on", async () => {
  const err = (await thrown(() => pool.run("nope"))) as TypeError;
  assert.ok(err instanceof TypeError);
  assert.match(err.message, /has no exported function named "nope"; its exported functions are .*"add"/);
  assert.equal(await pool.run("add", [1, 2]), 3);
});

test("bad arguments to run() reject with an error naming the argument", async () => {
  const bad = pool as unknown as { run(...args: unknown[]): Promise<unknown> };
  assert.match(((await thrown(() => bad.run(42))) as TypeError).message, /`exportName` must be a string, got 42 \(number\)/);
  assert.match(((await thrown(() => bad.run("add", "x"))) as TypeError).message, /`args` must be an array/);
  assert.match(((await thrown(() => bad.run("add", [], { cancel: "never" }))) as TypeError).message, /`options.cancel` must be "cooperative" or "terminate" or "abandon", got "never"/);
  assert.match(((await thrown(() => bad.run("add", [], { graceMs: -1 }))) as RangeError).message, /`options.graceMs` must be ≥ 0/);
  assert.match(((await thrown(() => bad.run("add", [], { transfer: 1 }))) as TypeError).message, /`options.transfer` must be an array/);
  const p = bad.run(42);
  assert.ok(p instanceof Promise, "rejects, never throws synchronously");
  await p.catch(() => {});
});

test("bad pool options throw an error naming the option", () => {
  for (const size of [0, -1, 1.5, NaN, "2"]) {
    assert.throws(() => new WorkerPool(fixture(), { size: size as number }), { name: "RangeError", message: /`options.size` must be an integer ≥ 1/ });
  }
  assert.throws(() => new WorkerPool(fixture(), { handlers: { x: 1 as never } }), /`options.handlers.x` must be a function/);
  assert.throws(() => new WorkerPool(fixture(), { idleTimeoutMs: -5 }), /`options.idleTimeoutMs`/);
  assert.throws(() => new WorkerPool(fixture(), { name: 5 as never }), /`options.name` must be a string/);
  assert.throws(() => new WorkerPool(42 as never), /`moduleUrl` must be a URL or a file path/);
  assert.throws(() => new WorkerPool(new URL("./no-such-worker.mjs", fixture())), /no-such-worker\.mjs does not exist/);
  const defaults = new WorkerPool(fixture(), { size: null, graceMs: null, idleTimeoutMs: undefined });
  assert.ok(defaults.statistics().size >= 1);
  return defaults.close();
});

test("a module that fails to load fails the call with an error naming it; the next call tries again", async () => {
  await withWorkerPool(fixture("broken"), { size: 1 }, async (broken) => {
    for (let i = 0; i < 2; i++) {
      const err = (await thrown(() => broken.run("anything"))) as Error;
      assert.match(err.message, /the module .*broken\.mjs could not be loaded in a worker thread/);
      assert.ok(err.cause instanceof SyntaxError);
    }
  });
});

test("a file path works as moduleUrl", async () => {
  await withWorkerPool(fixture().pathname, { size: 1 }, async (p) => assert.equal(await p.run("add", [1, 2]), 3));
});

test("a crashing worker fails only its own call with BrokenResourceError and is replaced", async () => {
  await withWorkerPool(fixture(), { size: 2 }, async (p) => {
    const survivor = p.run("nap", [100]);
    const exit = (await thrown(() => p.run("crash", ["exit"]))) as BrokenResourceError & { exitCode: number };
    assert.ok(exit instanceof BrokenResourceError);
    assert.equal(exit.exitCode, 7);
    assert.match(exit.message, /pool\.run\("crash"\): the worker thread running this call exited with code 7/);
    const uncaught = (await thrown(() => p.run("crash", ["uncaught"]))) as BrokenResourceError;
    assert.ok(uncaught instanceof BrokenResourceError);
    assert.match(uncaught.message, /threw an uncaught error \(Error: uncaught in worker\)/);
    assert.equal((uncaught.cause as Error).message, "uncaught in worker");
    assert.equal(await survivor, "slept");
    assert.equal(await p.run("add", [1, 2]), 3);
    assert.equal(p.statistics().replaced, 2);
  });
});

test("a worker that exceeds its resourceLimits fails its call with BrokenResourceError", async () => {
  await withWorkerPool(fixture(), { size: 1, resourceLimits: { maxOldGenerationSizeMb: 16 } }, async (p) => {
    const err = (await thrown(() => p.run("crash", ["memory"]))) as BrokenResourceError;
    assert.ok(err instanceof BrokenResourceError);
    assert.match(err.message, /ran out of memory/);
    assert.equal(await p.run("add", [2, 2]), 4);
  });
});

test("a worker that dies while starting (process.exit() in the module's top level) fails the call with BrokenResourceError instead of restarting for ever", async () => {
  // (resourceLimits too small to start a thread is the same path on Node 20; Node 26 aborts
  // the whole process in V8's isolate setup instead, so it is not tested here.)
  await withWorkerPool(fixture("exits-on-load"), { size: 2 }, async (p) => {
    const errs = await Promise.all([thrown(() => p.run("anything")), thrown(() => p.run("anything"))]);
    for (const err of errs) {
      assert.ok(err instanceof BrokenResourceError, String(err));
      assert.match((err as Error).message, /code 3/);
    }
  });
});

test("pool.bind() gives one method per export", async () => {
  const bound = pool.bind<{ add(a: number, b: number): number }>();
  assert.equal(await bound.add(4, 5), 9);
});

test("close() waits for every worker, rejects queued and new calls, and is idempotent", async () => {
  const p = new WorkerPool(fixture(), { size: 1 });
  const running = p.run("nap", [10_000]);
  const queued = p.run("add", [1, 2]);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const closing = [p.close(), p.close()];
  assert.ok((await thrown(() => queued)) instanceof ClosedResourceError);
  assert.match(((await thrown(() => running)) as Error).message, /was closed while this call was running/);
  await Promise.all(closing);
  assert.equal(p.statistics().workers, 0);
  const late = (await thrown(() => p.run("add", [1, 1]))) as ClosedResourceError;
  assert.ok(late instanceof ClosedResourceError);
  assert.match(late.message, /is closed/);
  await p.close();
  assert.deepEqual(threadHandles(), []);
});

test("close() succeeds inside a cancelled scope", async () => {
  await run(async () => {
    const p = new WorkerPool(fixture(), { size: 1 });
    await p.run("add", [1, 2]);
    const { withCancelScope } = await import("trellis");
    await withCancelScope(async (scope) => {
      scope.cancel();
      await p.close();
    });
    assert.equal(p.statistics().workers, 0);
  });
});
