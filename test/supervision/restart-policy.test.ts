import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { RestartBudget, restartPolicy } from "../../src/supervision/restart-policy.js";

describe("restartPolicy()", () => {
  test("defaults: never, 5 restarts within 60 000 ms, no backoff, no cap", () => {
    assert.deepEqual(restartPolicy("sup.spawn()", undefined), {
      restart: "never",
      maxRestarts: 5,
      restartWindowMs: 60_000,
      backoffMs: 0,
      maxBackoffMs: Infinity,
    });
  });

  test("Infinity is allowed for maxRestarts, restartWindowMs and maxBackoffMs, not for backoffMs", () => {
    const p = restartPolicy("sup.spawn()", { maxRestarts: Infinity, restartWindowMs: Infinity, maxBackoffMs: Infinity });
    assert.equal(p.maxRestarts, Infinity);
    assert.throws(() => restartPolicy("sup.spawn()", { backoffMs: Infinity }), RangeError);
  });
});

describe("RestartBudget", () => {
  const budget = (options: Parameters<typeof restartPolicy>[1]) =>
    new RestartBudget(restartPolicy("sup.spawn()", { restart: "on-failure", ...options }));

  test("maxRestarts: n grants exactly n restarts inside the window, then refuses", () => {
    const b = budget({ maxRestarts: 3, restartWindowMs: 1_000 });
    assert.deepEqual([b.next(0), b.next(1), b.next(2)], [0, 0, 0]);
    assert.equal(b.next(3), undefined);
    assert.equal(b.total, 3);
  });

  test("a restart counts while now - then ≤ restartWindowMs, and stops counting 1 ms later", () => {
    const edge = budget({ maxRestarts: 1, restartWindowMs: 100 });
    assert.equal(edge.next(0), 0);
    assert.equal(edge.next(100), undefined, "exactly at the edge of the window: still counted");
    const past = budget({ maxRestarts: 1, restartWindowMs: 100 });
    assert.equal(past.next(0), 0);
    assert.equal(past.next(101), 0, "1 ms past the window: forgotten");
    assert.equal(past.recent, 1);
  });

  test("the backoff doubles per restart inside the window, up to maxBackoffMs, and shrinks as restarts leave it", () => {
    const b = budget({ maxRestarts: 10, restartWindowMs: 1_000, backoffMs: 100, maxBackoffMs: 500 });
    assert.deepEqual([b.next(0), b.next(0), b.next(0), b.next(0), b.next(0)], [100, 200, 400, 500, 500]);
    assert.equal(b.next(1_001), 100, "every earlier restart has left the window");
  });

  test("maxRestarts: 0 refuses the first restart; restartWindowMs: 0 forgets a restart 1 ms later", () => {
    assert.equal(budget({ maxRestarts: 0 }).next(0), undefined);
    const b = budget({ maxRestarts: 1, restartWindowMs: 0 });
    assert.equal(b.next(0), 0);
    assert.equal(b.next(0), undefined);
    assert.equal(b.next(1), 0);
  });

  test("an unlimited budget keeps few timestamps and never refuses", () => {
    const b = budget({ maxRestarts: Infinity, restartWindowMs: Infinity, backoffMs: 1, maxBackoffMs: 1_000 });
    let last: number | undefined;
    for (let i = 0; i < 10_000; i++) last = b.next(i);
    assert.equal(last, 1_000);
    assert.ok(b.recent <= 64);
    assert.equal(b.total, 10_000);
  });
});
