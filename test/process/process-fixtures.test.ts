// trellis/process in a real program (fixtures in test/fixtures/process): Ctrl-C to a run()
// whose task runs a child ends the child before the program ends, whatever the child does.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { endedBy, startFixture } from "../support/fixture-process.js";
import { alive } from "./support.js";

describe("children of a program that is stopped", { concurrency: true }, () => {
  for (const kind of ["plain", "stubborn"] as const) {
    test(`Ctrl-C to run(): runProcess stops the ${kind} child, raises Cancelled once it exited, and the program ends by SIGINT`, async () => {
      const p = startFixture("process/ctrl-c.mjs", [kind]);
      const line = await p.waitFor(/grandchild \d+/);
      const pid = Number(line.split(" ")[1]);
      assert.equal(alive(pid), true);
      p.child.kill("SIGINT");
      const outcome = await p.exited;
      assert.ok(endedBy(outcome, "SIGINT"), `expected death by SIGINT, got ${JSON.stringify(outcome)}\n${p.stdout()}\n${p.stderr()}`);
      assert.match(p.stdout(), /runProcess raised Cancelled/);
      assert.doesNotMatch(p.stdout(), /run (resolved|rejected)/);
      if (kind === "stubborn") assert.match(p.stdout(), /grandchild ignores SIGTERM/);
      // runProcess waited for the exit before raising: no orphan, no zombie, at once.
      assert.equal(alive(pid), false, `child ${pid} outlived the program`);
    });
  }

  test("a second Ctrl-C while a child ignores SIGTERM ends the program at once and kills the child (no orphan)", async () => {
    const p = startFixture("process/ctrl-c.mjs", ["stubborn", "patient"]);
    const line = await p.waitFor(/grandchild \d+/);
    const pid = Number(line.split(" ")[1]);
    p.child.kill("SIGINT");
    await p.waitFor(/grandchild ignores SIGTERM/);
    p.child.kill("SIGINT");
    const outcome = await p.exited;
    assert.ok(endedBy(outcome, "SIGINT"), `expected death by SIGINT, got ${JSON.stringify(outcome)}\n${p.stdout()}\n${p.stderr()}`);
    for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(alive(pid), false, `child ${pid} outlived the program`);
  });

  test("process.exit() with a child still open kills the child on the way out", async () => {
    const p = startFixture("process/exit-kills.mjs");
    const line = await p.waitFor(/child \d+/);
    const pid = Number(line.split(" ")[1]);
    const outcome = await p.exited;
    assert.equal(outcome.code, 0);
    for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(alive(pid), false, `child ${pid} outlived the program`);
  });
});
