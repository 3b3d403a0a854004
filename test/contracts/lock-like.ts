// The lock-like contract, written once and run over every primitive that hands out one permit
// at a time: Lock, Semaphore(1), CapacityLimiter(1) and a Condition's lock. Each test file of
// test/sync calls lockLikeContract() with its own factory.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CancelScope, checkpoint, isCancelled, run, withTaskGroup, WouldBlock } from "../../src/index.js";
import { assertNoTimersLeft, settle } from "../support/tasks.js";

/** What the contract needs: acquire/release/tryAcquire, and a way to say "idle, nobody waiting". */
export interface LockLike {
  acquire(): Promise<void>;
  release(): void;
  tryAcquire(): void;
  statistics(): object;
}

export function lockLikeContract(name: string, make: () => LockLike): void {
  describe(`lock-like contract: ${name}`, () => {
    test("only one task at a time is inside the critical section", async () => {
      const lock = make();
      let inside = 0;
      let entries = 0;
      await run(() =>
        withTaskGroup(async (tg) => {
          for (let w = 0; w < 5; w++) {
            tg.spawn(async () => {
              for (let i = 0; i < 10; i++) {
                await lock.acquire();
                try {
                  entries++;
                  inside++;
                  assert.equal(inside, 1, "two tasks inside at once");
                  await checkpoint();
                  await checkpoint();
                  inside--;
                } finally {
                  lock.release();
                }
              }
            });
          }
        }),
      );
      assert.equal(entries, 50);
      await assertNoTimersLeft();
    });

    test("waiters get the permit in the order they asked, round after round (FIFO)", async () => {
      const lock = make();
      const record: number[] = [];
      await run(() =>
        withTaskGroup(async (tg) => {
          for (const id of [1, 2, 3]) {
            tg.spawn(async () => {
              for (let i = 0; i < 5; i++) {
                await lock.acquire();
                record.push(id);
                lock.release();
              }
            });
          }
        }),
      );
      const first = record.slice(0, 3);
      assert.deepEqual([...first].sort(), [1, 2, 3]);
      for (let round = 1; round < 5; round++) assert.deepEqual(record.slice(3 * round, 3 * round + 3), first);
      await assertNoTimersLeft();
    });

    test("tryAcquire throws WouldBlock while acquire would wait, and a released permit goes to the waiter", async () => {
      const lock = make();
      const record: string[] = [];
      await run(() =>
        withTaskGroup(async (tg) => {
          lock.tryAcquire();
          tg.spawn(async () => {
            record.push("started");
            await lock.acquire();
            record.push("acquired");
            lock.release();
          });
          tg.spawn(() => {
            try {
              lock.tryAcquire();
              record.push("prober took it");
            } catch (err) {
              record.push(err instanceof WouldBlock ? "prober: WouldBlock" : `prober: ${String(err)}`);
            }
          });
          await settle();
          assert.deepEqual(record, ["started", "prober: WouldBlock"]);
          lock.release();
          // The permit went straight to the waiter: it cannot be taken in between.
          assert.throws(() => lock.tryAcquire(), WouldBlock);
          await settle();
          assert.deepEqual(record, ["started", "prober: WouldBlock", "acquired"]);
          lock.tryAcquire();
          lock.release();
        }),
      );
    });

    test("a cancelled waiter neither takes nor loses the permit", async () => {
      const lock = make();
      const idle = lock.statistics();
      const record: string[] = [];
      await run(() =>
        withTaskGroup(async (tg) => {
          await lock.acquire();
          const scopeA = new CancelScope();
          tg.spawn(async () => {
            try {
              await scopeA.run(() => lock.acquire());
              record.push(scopeA.cancelledCaught ? "A cancelled" : "A acquired");
            } catch (err) {
              record.push(isCancelled(err) ? "A cancelled (escaped)" : `A failed: ${String(err)}`);
            }
          });
          tg.spawn(async () => {
            await lock.acquire();
            record.push("B acquired");
            lock.release();
          });
          await settle();
          scopeA.cancel();
          await settle();
          assert.deepEqual(record, ["A cancelled"]);
          lock.release();
          await settle();
          assert.deepEqual(record, ["A cancelled", "B acquired"]);
        }),
      );
      assert.deepEqual(lock.statistics(), idle, "the primitive is back to its initial state");
    });

    test("a wait granted before a same-tick cancellation returns normally and keeps the permit", async () => {
      const lock = make();
      const record: string[] = [];
      await run(() =>
        withTaskGroup(async (tg) => {
          await lock.acquire();
          const scope = new CancelScope();
          tg.spawn(async () => {
            await scope.run(async () => {
              await lock.acquire();
              record.push("acquired");
              lock.release();
            });
            record.push(scope.cancelledCaught ? "cancel absorbed" : "scope ended");
          });
          await settle();
          lock.release();
          scope.cancel();
          await settle();
          assert.deepEqual(record, ["acquired", "scope ended"]);
          lock.tryAcquire();
          lock.release();
        }),
      );
    });

    test("acquire in a cancelled scope raises Cancelled even though the permit is free", async () => {
      const lock = make();
      const idle = lock.statistics();
      await run(async () => {
        const scope = new CancelScope();
        scope.cancel();
        await scope.run(async () => {
          await assert.rejects(lock.acquire(), isCancelled);
        });
      });
      assert.deepEqual(lock.statistics(), idle);
    });

    test("an acquire that took a free permit keeps it when cancelled during its schedule point", async () => {
      const lock = make();
      await run(async () => {
        const scope = new CancelScope();
        let held = false;
        await scope.run(async () => {
          const pending = lock.acquire();
          scope.cancel();
          await pending; // returns normally: the permit was taken before the cancellation
          held = true;
          lock.release();
        });
        assert.equal(held, true);
      });
    });
  });
}
