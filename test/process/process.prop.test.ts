// Random programs of children started, cancelled, killed and exiting at random moments, all at
// once in one run: each outcome matches what happened to its child, Cancelled is raised only
// once the child has exited, no child outlives its call, and nothing (child, pipe, timer,
// listener) is left when run() returns. Seeded (mulberry32); a failure names the seed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isCancelled, moveOnAfter, run, sleep, withTaskGroup } from "../../src/index.js";
import { openProcess, ProcessError, runProcess, type Process } from "../../src/process/index.js";
import { alive, assertNothingLeft, resourcesNow } from "./support.js";
import { mulberry32 } from "../support/prng.js";

const SEED = 0x9e0c_0014;
const PROGRAMS = 4;
const CHILDREN = 10;

type Scenario = (rand: () => number, where: string) => Promise<void>;

/** Records the Process as soon as it starts, through the `status` option. */
function recorder(): { status: { started(p: Process): void }; proc(): Process } {
  let proc: Process | undefined;
  return { status: { started: (p) => (proc = p) }, proc: () => proc! };
}

const scenarios: Record<string, Scenario> = {
  async exits(rand, where) {
    const code = [0, 1, 3][Math.floor(rand() * 3)]!;
    const r = recorder();
    try {
      const result = await runProcess(["sh", "-c", `sleep 0.0${Math.floor(rand() * 5)}; echo out; exit ${code}`], { status: r.status, encoding: "utf8" });
      assert.equal(code, 0, where);
      assert.equal(result.stdout, "out\n", where);
    } catch (err) {
      assert.ok(err instanceof ProcessError, `${where}: ${String(err)}`);
      assert.equal(err.code, code, where);
      assert.equal(err.stdout, "out\n", where);
    }
    assert.equal(alive(r.proc().pid), false, where);
  },

  async cancelled(rand, where) {
    const r = recorder();
    const stubborn = rand() < 0.4;
    const argv = stubborn ? ["sh", "-c", "trap '' TERM; exec sleep 5"] : ["sleep", "5"];
    let returnCodeAtCancel: number | undefined | null = null;
    const result = await moveOnAfter(rand() * 60, async () => {
      try {
        return await runProcess(argv, { status: r.status, killAfterMs: Math.floor(rand() * 40) });
      } catch (err) {
        if (isCancelled(err)) returnCodeAtCancel = r.proc()?.returnCode;
        throw err;
      }
    });
    assert.equal(result, undefined, where);
    if (r.proc() !== undefined) {
      // Started: Cancelled came only once the child had exited, by SIGTERM or (stubborn) SIGKILL.
      assert.ok(returnCodeAtCancel === -15 || returnCodeAtCancel === -9, `${where}: returnCode at cancel ${returnCodeAtCancel}`);
      assert.equal(alive(r.proc().pid), false, where);
    }
  },

  async killed(rand, where) {
    const signal = (["SIGTERM", "SIGKILL", "SIGINT", "SIGHUP", "SIGUSR2"] as const)[Math.floor(rand() * 5)]!;
    const delay = rand() * 30;
    let caught: unknown;
    await withTaskGroup(async (tg) => {
      const proc = await tg.start<Process>((status) =>
        runProcess(["sleep", "5"], { status }).catch((err: unknown) => {
          caught = err;
        }),
      );
      await sleep(delay);
      assert.equal(proc.kill(signal), true, where);
    });
    assert.ok(caught instanceof ProcessError, `${where}: ${String(caught)}`);
    assert.equal(caught.signal, signal, where);
  },

  async echoed(rand, where) {
    const size = Math.floor(rand() * 3_000_000);
    const input = new Uint8Array(size).fill(97 + Math.floor(rand() * 26));
    const r = recorder();
    const result = await moveOnAfter(rand() < 0.5 ? rand() * 40 : Infinity, () => runProcess(["cat"], { input, status: r.status }));
    if (result !== undefined) assert.equal(result.stdout.byteLength, size, where);
    if (r.proc() !== undefined) assert.equal(alive(r.proc().pid), false, where);
  },

  async opened(rand, where) {
    const proc = await openProcess(["sh", "-c", `sleep 0.0${Math.floor(rand() * 6)}; exit 4`], { stdout: "pipe" });
    try {
      const roll = rand();
      if (roll < 0.3) assert.equal(await proc.wait(), 4, where);
      else if (roll < 0.6) proc.kill(rand() < 0.5 ? "SIGKILL" : "SIGTERM");
      else await sleep(rand() * 30);
    } finally {
      await proc.close();
    }
    assert.notEqual(proc.returnCode, undefined, where);
    assert.equal(alive(proc.pid), false, where);
  },
};

test("random spawns, cancellations, kills and exits: outcomes right, no child outlives its call, nothing leaked", async () => {
  const before = resourcesNow();
  const names = Object.keys(scenarios);
  const seen = new Set<string>();
  for (let program = 0; program < PROGRAMS; program++) {
    const seed = SEED + program;
    const rand = mulberry32(seed);
    await run(() =>
      withTaskGroup(async (tg) => {
        for (let i = 0; i < CHILDREN; i++) {
          const name = names[Math.floor(rand() * names.length)]!;
          seen.add(name);
          const childRand = mulberry32(Math.floor(rand() * 2 ** 32));
          const startAfter = rand() * 30;
          tg.spawn(async () => {
            await sleep(startAfter);
            await scenarios[name]!(childRand, `seed ${seed} child ${i} (${name})`);
          });
        }
      }),
    );
    await assertNothingLeft(before);
  }
  assert.deepEqual([...seen].sort(), [...names].sort(), "every scenario ran at least once");
});
