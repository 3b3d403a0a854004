import { test } from "node:test";
import assert from "node:assert/strict";
import { run, withTaskGroup, sleep } from "../../src/index.js";

// Real clock on purpose: the smoke test runs trellis as a user would, on the real clock.
test("run() returns the result of main after its tasks finish", async () => {
  const order: string[] = [];
  const result = await run(async () => {
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await sleep(2);
        order.push("child");
      });
    });
    order.push("main");
    return 42;
  });
  assert.equal(result, 42);
  assert.deepEqual(order, ["child", "main"]);
});
