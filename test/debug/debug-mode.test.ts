// run(main, { debug }) (API.md §1 "Running", §3 "trellis/debug"): the option is checked, and
// nothing debug mode starts (the SIGUSR2 listener, the detector's thread and timers) outlives run().
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { run, sleep, withTaskGroup } from "../../src/index.js";

function handles(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r !== "TTYWrap" && r !== "PipeWrap" && r !== "FSReqCallback");
}

describe("debug mode", () => {
  test("rejects a debug option that is neither a boolean nor an object, naming it", async () => {
    await assert.rejects(run(() => 1, { debug: "yes" as never }), /`options\.debug` must be a boolean or an object of debug options, got "yes"/);
    await assert.rejects(run(() => 1, { debug: 42 as never }), TypeError);
    await assert.rejects(run(() => 1, { debug: { slowMs: -5 } }), /`options\.debug\.slowMs` must be a number of milliseconds > 0.*got -5/);
    await assert.rejects(run(() => 1, { debug: { slowMs: "100" as never } }), TypeError); // not a number: TypeError; a bad number: RangeError
  });

  test("null and undefined mean the default, for debug and for slowMs", async () => {
    assert.equal(await run(() => 1, { debug: null as never, handleSignals: false }), 1);
    assert.equal(await run(() => 2, { debug: { slowMs: null as never }, handleSignals: false }), 2);
  });

  test("leaves no SIGUSR2 listener, worker or timer behind when run() returns", async () => {
    const before = handles();
    const listeners = process.listenerCount("SIGUSR2");
    let during = 0;
    const value = await run(
      () =>
        withTaskGroup(async (tg) => {
          during = process.listenerCount("SIGUSR2");
          tg.spawn(() => sleep(5));
          return "ok";
        }),
      { debug: true, handleSignals: false },
    );
    assert.equal(value, "ok");
    if (process.platform !== "win32") assert.equal(during, listeners + 1, "a SIGUSR2 listener while the run lasts");
    assert.equal(process.listenerCount("SIGUSR2"), listeners);
    assert.deepEqual(handles(), before);
  });

  test("two debug runs at once each add and remove their own listener", async () => {
    const listeners = process.listenerCount("SIGUSR2");
    const [a, b] = await Promise.all([
      run(async () => { await sleep(5); return process.listenerCount("SIGUSR2"); }, { debug: true, handleSignals: false }),
      run(async () => { await sleep(5); return process.listenerCount("SIGUSR2"); }, { debug: { slowMs: 50 }, handleSignals: false }),
    ]);
    if (process.platform !== "win32") {
      assert.ok(a >= listeners + 1 && a <= listeners + 2, String(a));
      assert.ok(b >= listeners + 1 && b <= listeners + 2, String(b));
    }
    assert.equal(process.listenerCount("SIGUSR2"), listeners);
  });
});
