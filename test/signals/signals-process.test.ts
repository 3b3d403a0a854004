// trellis/signals in a real process (fixtures in test/fixtures/signals): a receiver replaces
// run()'s SIGINT/SIGTERM handling and the default action, and both come back when it closes.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { endedBy, startFixture } from "../support/fixture-process.js";

describe("signal receivers in a real process", { concurrency: true }, () => {
  test("inside run(), SIGINT and SIGTERM go to the receiver; after it closes, SIGINT cancels the run (status 130)", async () => {
    const p = startFixture("signals/takeover.mjs");
    await p.waitFor("receiving");
    p.child.kill("SIGINT");
    await p.waitFor("got SIGINT");
    p.child.kill("SIGTERM");
    await p.waitFor("got SIGTERM");
    await p.waitFor("closed, SIGINT listeners 1"); // only run()'s own listener is left
    p.child.kill("SIGINT");
    const outcome = await p.exited;
    assert.ok(endedBy(outcome, "SIGINT"), `expected death by SIGINT, got ${JSON.stringify(outcome)}\n${p.stderr()}`);
    assert.match(p.stdout(), /run cancelled by signal SIGINT/);
    assert.doesNotMatch(p.stdout(), /run (resolved|rejected)/);
  });

  test("without run(), the default action of SIGHUP is replaced while the receiver runs and restored after", async () => {
    const p = startFixture("signals/restore-default.mjs");
    await p.waitFor("receiving");
    p.child.kill("SIGHUP");
    await p.waitFor("closed, SIGHUP listeners 0");
    p.child.kill("SIGHUP");
    const outcome = await p.exited;
    assert.equal(outcome.signal, "SIGHUP", `${JSON.stringify(outcome)}\n${p.stdout()}\n${p.stderr()}`);
    assert.match(p.stdout(), /got SIGHUP/);
    assert.doesNotMatch(p.stdout(), /still alive/);
  });
});
