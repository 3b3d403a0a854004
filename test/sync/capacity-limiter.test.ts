import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { CancelScope, CapacityLimiter, run, RuntimeError, wait, withTaskGroup, WouldBlock } from "../../src/index.js";
import { currentTaskImpl } from "../../src/core/index.js";
import { lockLikeContract } from "../contracts/lock-like.js";
import { assertNoTimersLeft, settle } from "../support/tasks.js";

lockLikeContract("CapacityLimiter(1)", () => new CapacityLimiter(1));

test("total and totalTokens must be an integer ≥ 0 or Infinity", () => {
  assert.throws(() => new CapacityLimiter(-1), { name: "RangeError", message: "new CapacityLimiter(): `total` must be an integer ≥ 0 or Infinity, got -1 (number)" });
  assert.throws(() => new CapacityLimiter(1.5), { name: "RangeError", message: /`total`/ });
  assert.throws(() => new CapacityLimiter(NaN), { name: "RangeError", message: /`total`/ });
  assert.throws(() => new CapacityLimiter("4" as never), TypeError);
  const limiter = new CapacityLimiter(2);
  assert.throws(() => (limiter.totalTokens = -1), { name: "RangeError", message: /CapacityLimiter\.totalTokens: `totalTokens` must be/ });
  assert.throws(() => (limiter.totalTokens = "3" as never), TypeError);
  assert.equal(limiter.totalTokens, 2);
  const unbounded = new CapacityLimiter(Infinity);
  unbounded.tryAcquireOnBehalfOf("a");
  assert.equal(unbounded.availableTokens, Infinity);
});

test("issue 9: a total of 0 is accepted (constructor and setter) and admits nobody until it is raised", async () => {
  const limiter = new CapacityLimiter(0);
  assert.equal(limiter.totalTokens, 0);
  assert.equal(limiter.availableTokens, 0);
  assert.throws(() => limiter.tryAcquireOnBehalfOf("job"), {
    name: "WouldBlock",
    message: "CapacityLimiter.tryAcquireOnBehalfOf(): totalTokens is 0, so nobody is admitted until it is raised; use acquire() to wait for a token",
  });
  const record: string[] = [];
  await run(() =>
    withTaskGroup(async (tg) => {
      for (const name of ["a", "b"]) {
        tg.spawn(async () => {
          await limiter.acquire();
          record.push(`${name} admitted`);
        }, { name });
      }
      await settle();
      assert.deepEqual(record, []);
      assert.equal(limiter.statistics().tasksWaiting, 2);
      limiter.totalTokens = 1;
      await settle();
      assert.deepEqual(record, ["a admitted"]);
      limiter.totalTokens = 0; // pause again: the holder keeps its token, b still waits
      limiter.releaseOnBehalfOf(limiter.statistics().borrowers[0]);
      await settle();
      assert.deepEqual(record, ["a admitted"]);
      assert.equal(limiter.borrowedTokens, 0);
      limiter.totalTokens = 5;
      await settle();
      assert.deepEqual(record, ["a admitted", "b admitted"]);
      limiter.releaseOnBehalfOf(limiter.statistics().borrowers[0]);
    }),
  );
  assert.equal(limiter.borrowedTokens, 0);
});

test("issue 9: borrowing twice throws whatever the borrower is, also a task handle queued by other tasks", async () => {
  const limiter = new CapacityLimiter(1);
  await run(() =>
    withTaskGroup(async (tg) => {
      limiter.tryAcquireOnBehalfOf("holder");
      const idle = tg.spawn(async () => "never waits for the limiter itself", { name: "idle" });
      tg.spawn(() => limiter.acquireOnBehalfOf(idle), { name: "first proxy" });
      await settle();
      assert.equal(limiter.statistics().tasksWaiting, 1);
      // A second borrow for the same task, by another task: refused, not queued.
      await assert.rejects(limiter.acquireOnBehalfOf(idle), (err: unknown) => err instanceof RuntimeError && /task "idle" \(#\d+, which has ended \(done\)\) is already waiting for a token/.test(err.message));
      assert.equal(limiter.statistics().tasksWaiting, 1);
      limiter.releaseOnBehalfOf("holder");
      await settle();
      assert.deepEqual(limiter.statistics().borrowers, [idle]);
      assert.equal(limiter.borrowedTokens, 1);
      // Holding now: borrowing again for it throws too, and one release gives the token back.
      assert.throws(() => limiter.tryAcquireOnBehalfOf(idle), /already holds a token/);
      await assert.rejects(limiter.acquireOnBehalfOf(idle), /already holds a token/);
      limiter.releaseOnBehalfOf(idle);
      assert.throws(() => limiter.releaseOnBehalfOf(idle), /holds no token/);
      assert.equal(limiter.borrowedTokens, 0);
    }),
  );
});

test("issue 9: a task queued by another task cannot also queue for itself", async () => {
  const limiter = new CapacityLimiter(1);
  await run(() =>
    withTaskGroup(async (tg) => {
      limiter.tryAcquireOnBehalfOf("holder");
      let go!: () => void;
      const ready = new Promise<void>((resolve) => (go = resolve));
      const self = tg.spawn(async () => {
        await wait(ready);
        try {
          await limiter.acquire();
          return "acquired a second token";
        } catch (err) {
          return err;
        }
      }, { name: "self" });
      await settle();
      tg.spawn(() => limiter.acquireOnBehalfOf(self), { name: "proxy" });
      await settle();
      go();
      const err = await self.result();
      assert.ok(err instanceof RuntimeError && /task "self" \(#\d+\) is already waiting for a token/.test(err.message), String(err));
      limiter.releaseOnBehalfOf("holder");
      await settle();
      assert.deepEqual(limiter.statistics(), { borrowedTokens: 1, totalTokens: 1, borrowers: [self], tasksWaiting: 0 });
      limiter.releaseOnBehalfOf(self);
    }),
  );
});

test("issue 9: lowering totalTokens below borrowedTokens and raising it again never admits more than totalTokens at once", async () => {
  const limiter = new CapacityLimiter(3);
  await run(() =>
    withTaskGroup(async (tg) => {
      for (const b of ["a", "b", "c"]) limiter.tryAcquireOnBehalfOf(b);
      for (let i = 0; i < 3; i++) tg.spawn(() => limiter.acquireOnBehalfOf(`w${i}`));
      await settle();
      limiter.totalTokens = 1;
      limiter.totalTokens = 2; // still 3 borrowed: nobody may come in
      await settle();
      assert.equal(limiter.borrowedTokens, 3);
      assert.equal(limiter.statistics().tasksWaiting, 3);
      limiter.releaseOnBehalfOf("a"); // 2 borrowed, total 2: still nobody
      await settle();
      assert.equal(limiter.borrowedTokens, 2);
      limiter.releaseOnBehalfOf("b"); // 1 borrowed: one waiter in, 2 at once
      await settle();
      assert.deepEqual(limiter.statistics().borrowers, ["c", "w0"]);
      limiter.totalTokens = 3; // one more
      assert.deepEqual(limiter.statistics().borrowers, ["c", "w0", "w1"]);
      for (const b of ["c", "w0", "w1"]) limiter.releaseOnBehalfOf(b);
      assert.deepEqual(limiter.statistics().borrowers, ["w2"]);
      limiter.releaseOnBehalfOf("w2");
    }),
  );
});

test("a borrower may hold one token: borrowing twice and releasing what it does not hold throw", async () => {
  const limiter = new CapacityLimiter(3);
  await run(async () => {
    assert.throws(() => limiter.release(), (err: unknown) => err instanceof RuntimeError && /holds no token/.test(err.message));
    await limiter.acquire();
    assert.throws(() => limiter.tryAcquire(), (err: unknown) => err instanceof RuntimeError && /already holds a token/.test(err.message));
    await assert.rejects(limiter.acquire(), RuntimeError);
    assert.equal(limiter.borrowedTokens, 1);
    assert.throws(() => limiter.releaseOnBehalfOf("stranger"), RuntimeError);
    limiter.release();
    assert.equal(limiter.borrowedTokens, 0);
  });
});

test("tokens can be borrowed on behalf of other borrowers, and statistics list who holds them", async () => {
  const limiter = new CapacityLimiter(2);
  await run(async () => {
    const me = currentTaskImpl();
    await limiter.acquire();
    await limiter.acquireOnBehalfOf("someone");
    assert.throws(() => limiter.tryAcquireOnBehalfOf("third party"), WouldBlock);
    const stats = limiter.statistics();
    assert.deepEqual(stats, { borrowedTokens: 2, totalTokens: 2, borrowers: [me, "someone"], tasksWaiting: 0 });
    assert.notEqual(limiter.statistics(), stats);
    assert.equal(inspect(limiter), "CapacityLimiter { borrowedTokens: 2, totalTokens: 2, tasksWaiting: 0 }");
    limiter.releaseOnBehalfOf(me);
    assert.deepEqual(limiter.statistics().borrowers, ["someone"]);
    limiter.releaseOnBehalfOf("someone");
    assert.equal(limiter.availableTokens, 2);
  });
  assert.throws(() => limiter.tryAcquireOnBehalfOf(undefined), { name: "TypeError", message: /`borrower`/ });
  await assert.rejects(limiter.acquireOnBehalfOf(null), TypeError);
});

test("raising totalTokens wakes waiters in order; lowering it lets holders finish", async () => {
  const limiter = new CapacityLimiter(2);
  await run(() =>
    withTaskGroup(async (tg) => {
      for (let i = 0; i < 5; i++) {
        tg.spawn(() => limiter.acquireOnBehalfOf(i));
        await settle();
      }
      assert.deepEqual(limiter.statistics().borrowers, [0, 1]);
      assert.equal(limiter.statistics().tasksWaiting, 3);
      limiter.totalTokens += 2;
      assert.deepEqual(limiter.statistics().borrowers, [0, 1, 2, 3]);
      assert.equal(limiter.statistics().tasksWaiting, 1);
      limiter.totalTokens -= 3;
      assert.equal(limiter.borrowedTokens, 4);
      assert.equal(limiter.availableTokens, 0);
      for (const b of [0, 1, 2]) limiter.releaseOnBehalfOf(b);
      assert.deepEqual(limiter.statistics().borrowers, [3]);
      assert.equal(limiter.statistics().tasksWaiting, 1);
      limiter.releaseOnBehalfOf(3);
      assert.deepEqual(limiter.statistics().borrowers, [4]);
      assert.equal(limiter.statistics().tasksWaiting, 0);
      limiter.releaseOnBehalfOf(4);
    }),
  );
  await assertNoTimersLeft();
});

test("a borrower that is already waiting cannot queue a second time", async () => {
  const limiter = new CapacityLimiter(1);
  await run(() =>
    withTaskGroup(async (tg) => {
      limiter.tryAcquire();
      tg.spawn(() => limiter.acquireOnBehalfOf("job"));
      await settle();
      await assert.rejects(limiter.acquireOnBehalfOf("job"), /"job" is already waiting for a token/);
      limiter.release();
      await settle();
      limiter.releaseOnBehalfOf("job");
    }),
  );
});

test("a task whose acquire is still queued (left floating, even in a scope it has left) cannot queue again", async () => {
  const limiter = new CapacityLimiter(1);
  await run(() =>
    withTaskGroup(async (tg) => {
      limiter.tryAcquireOnBehalfOf("holder");
      tg.spawn(async () => {
        let floating: Promise<void> | undefined;
        await new CancelScope().run(() => {
          floating = limiter.acquire(); // not awaited: still queued after the scope exits
        });
        await assert.rejects(limiter.acquire(), /is already waiting for a token/);
        assert.equal(limiter.statistics().tasksWaiting, 1);
        limiter.releaseOnBehalfOf("holder");
        await floating;
        assert.deepEqual(limiter.statistics().borrowers, [currentTaskImpl()]);
        limiter.release();
      });
    }),
  );
});

test("a task's handle used as a borrower while that task waits in line is refused", async () => {
  const limiter = new CapacityLimiter(1);
  await run(() =>
    withTaskGroup(async (tg) => {
      limiter.tryAcquire();
      const waiter = tg.spawn(() => limiter.withToken(() => "done"));
      await settle();
      await assert.rejects(limiter.acquireOnBehalfOf(waiter), /is already waiting for a token/);
      limiter.release();
      assert.equal(await waiter.result(), "done");
    }),
  );
});

test("a cancelled acquire forgets its borrower, which can borrow again later", async () => {
  const limiter = new CapacityLimiter(1);
  await run(() =>
    withTaskGroup(async (tg) => {
      await limiter.acquire();
      const scope = new CancelScope();
      tg.spawn(() => scope.run(() => limiter.acquireOnBehalfOf("job")));
      await settle();
      scope.cancel();
      await settle();
      assert.equal(limiter.statistics().tasksWaiting, 0);
      limiter.release();
      limiter.tryAcquireOnBehalfOf("job");
      limiter.releaseOnBehalfOf("job");
      assert.equal(limiter.borrowedTokens, 0);
    }),
  );
});

test("withToken() puts the token back however fn ends", async () => {
  const limiter = new CapacityLimiter(1);
  await run(async () => {
    assert.equal(await limiter.withToken(() => limiter.borrowedTokens), 1);
    await assert.rejects(limiter.withToken(() => Promise.reject(new Error("boom"))), /boom/);
    assert.equal(limiter.borrowedTokens, 0);
    await assert.rejects(limiter.withToken("no" as never), TypeError);
  });
});

test("outside any task, code shares one anonymous borrower that may hold several tokens", async () => {
  const limiter = new CapacityLimiter(2);
  let inside = 0;
  let most = 0;
  await Promise.all(
    [1, 2, 3, 4].map(() =>
      limiter.withToken(async () => {
        most = Math.max(most, ++inside);
        await new Promise<void>((resolve) => setImmediate(resolve));
        inside--;
      }),
    ),
  );
  assert.equal(most, 2);
  assert.equal(limiter.borrowedTokens, 0);
  limiter.tryAcquire();
  limiter.tryAcquire();
  assert.deepEqual(limiter.statistics().borrowers.map((b) => (b as { name: string }).name), ["(outside any task)", "(outside any task)"]);
  limiter.release();
  limiter.release();
  assert.throws(() => limiter.release(), /code outside any task holds no token/);
});
