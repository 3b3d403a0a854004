import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  BrokenResourceError,
  CancelScope,
  ClosedResourceError,
  EndOfChannel,
  Event,
  RuntimeError,
  WouldBlock,
  isCancelled,
  openAckChannel,
  run,
  sleepForever,
  withSupervisor,
  withTaskGroup,
  type Envelope,
} from "../../src/index.js";
import { assertNoTimersLeft, outcome, settle } from "../support/tasks.js";
import { thrown } from "../support/thrown.js";

/** Runs `fn` as a task of its own group and swallows its failure: a task that "crashes". */
async function inTaskThatFails(fn: () => Promise<void>): Promise<unknown> {
  try {
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await fn();
        throw new Error("worker crashed");
      }, { name: "crashing worker" });
    });
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("openAckChannel", () => {
  test("capacity is checked as openChannel's, naming openAckChannel", () => {
    assert.throws(() => openAckChannel(-1), {
      name: "RangeError",
      message: "openAckChannel(): `capacity` must be an integer ≥ 0 or Infinity, got -1 (number)",
    });
    assert.throws(() => openAckChannel("2" as never), { message: /got "2" \(string\)/ });
    assert.equal(openAckChannel()[1].statistics().maxBufferSize, 0);
    assert.equal(openAckChannel(Infinity)[1].statistics().maxBufferSize, Infinity);
  });

  test("an envelope carries the value, a stable id and the delivery count; ack takes it out of flight", async () => {
    const [send, receive] = openAckChannel<string>(4);
    await run(async () => {
      await send.send("a");
      await send.send("b");
      const a = await receive.receive();
      assert.deepEqual([a.value, a.id, a.deliveries], ["a", "1", 1]);
      assert.equal(receive.statistics().inFlight, 1);
      assert.equal(receive.statistics().currentBufferUsed, 1);
      await a.ack();
      await a.ack(); // a second ack does nothing
      assert.equal(receive.statistics().inFlight, 0);
      const b = receive.tryReceive();
      assert.deepEqual([b.value, b.id], ["b", "2"]);
      await b.ack();
    });
    await assertNoTimersLeft();
  });

  test("a value received by a task that fails before ack goes back to the front of the queue", async () => {
    const [send, receive] = openAckChannel<string>(10);
    await run(async () => {
      for (const v of ["a", "b", "c"]) await send.send(v);
      const err = await inTaskThatFails(async () => {
        await receive.receive(); // a
        await receive.receive(); // b
      });
      assert.equal((err as Error).message, "worker crashed");
      assert.equal(receive.statistics().inFlight, 0);
      const got: string[] = [];
      send.close();
      for await (const e of receive) {
        got.push(`${e.value}${e.id}x${e.deliveries}`);
        await e.ack();
      }
      assert.deepEqual(got, ["a1x2", "b2x2", "c3x1"], "returned values come first, in their order");
    });
  });

  test("a task that returns or is cancelled without ack returns its values too", async () => {
    const [send, receive] = openAckChannel<number>(10);
    await run(async () => {
      await send.send(1);
      await send.send(2);
      await withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          await receive.receive();
        }); // returns without ack
      });
      assert.equal(receive.statistics().inFlight, 0);
      await withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          const e = await receive.receive();
          assert.equal(e.value, 1);
          assert.equal(e.deliveries, 2);
          await sleepForever(); // cancelled below
        });
        await settle();
        tg.cancel();
      }).catch(() => {});
      const e = await receive.receive();
      assert.deepEqual([e.value, e.deliveries], [1, 3]);
      await e.ack();
      const f = await receive.receive();
      assert.deepEqual([f.value, f.deliveries], [2, 1]);
      await f.ack();
    });
  });

  test("a returned value goes straight to a receiver that waits", async () => {
    const [send, receive] = openAckChannel<string>(0);
    const record: string[] = [];
    await run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          await send.send("job");
        });
        await settle();
        await inTaskThatFails(async () => {
          const e = await receive.receive();
          record.push(`crasher got ${e.value}`);
          tg.spawn(async () => {
            const again = await receive.receive();
            record.push(`second got ${again.value} (delivery ${again.deliveries})`);
            await again.ack();
          });
          await settle();
        });
      }),
    );
    assert.deepEqual(record, ["crasher got job", "second got job (delivery 2)"]);
  });

  test("closing a receive handle returns what it holds; ack of such an envelope throws RuntimeError", async () => {
    const [send, receive] = openAckChannel<string>(2);
    send.trySend("a");
    const worker = receive.clone();
    const e = worker.tryReceive();
    worker.close();
    assert.equal(receive.statistics().inFlight, 0);
    const err = await thrown(() => e.ack());
    assert.ok(err instanceof RuntimeError);
    assert.match((err as Error).message, /Envelope\.ack\(\): value 1 was already handed back/);
    const again = receive.tryReceive();
    assert.deepEqual([again.value, again.deliveries], ["a", 2]);
    await again.ack();
    assert.throws(() => worker.clone(), ClosedResourceError);
    assert.throws(() => worker.tryReceive(), ClosedResourceError);
  });

  test("outside any task a value stays in flight until ack or close", async () => {
    const [send, receive] = openAckChannel<number>(1);
    await send.send(7);
    const e = await receive.receive();
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(receive.statistics().inFlight, 1);
    await e.ack();
    assert.equal(receive.statistics().inFlight, 0);
  });

  test("values in flight do not count against capacity; returned ones may exceed it, and senders then wait", async () => {
    const [send, receive] = openAckChannel<number>(1);
    await run(async () => {
      await withTaskGroup(async (outer) => {
        await inTaskThatFails(async () => {
          await send.send(1);
          await receive.receive();
          await send.send(2); // room: 1 is in flight, not in the buffer
          assert.deepEqual([receive.statistics().inFlight, receive.statistics().currentBufferUsed], [1, 1]);
        });
        // 1 came back in front of 2: the buffer holds 2 values, above its capacity of 1.
        assert.equal(receive.statistics().currentBufferUsed, 2);
        assert.throws(() => send.trySend(3), WouldBlock);
        let sent = false;
        outer.spawn(async () => {
          await send.send(3);
          sent = true;
        });
        await settle();
        const one = await receive.receive();
        await settle();
        assert.equal(sent, false, "the buffer is still at capacity after one receive");
        const two = await receive.receive();
        await settle();
        assert.equal(sent, true);
        assert.deepEqual([one.value, two.value], [1, 2]);
        await one.ack();
        await two.ack();
        await (await receive.receive()).ack();
      });
    });
  });

  test("a receive does not wait for the caller's own values in flight: EndOfChannel at once", async () => {
    const [send, receive] = openAckChannel<string>(4);
    await run(async () => {
      await send.send("x");
      send.close();
      const held = await receive.receive();
      assert.ok((await thrown(() => receive.receive())) instanceof EndOfChannel);
      await held.ack();
    });
  });

  test("two tasks that each hold a value and wait for more both see the end (no mutual wait)", async () => {
    const [send, receive] = openAckChannel<string>(2);
    const record: string[] = [];
    await run(async () => {
      await send.send("a");
      await send.send("b");
      send.close();
      await withTaskGroup(async (tg) => {
        for (const name of ["w1", "w2"]) {
          tg.spawn(async () => {
            const mine = await receive.receive();
            const err = await thrown(() => receive.receive());
            record.push(`${name} holds ${mine.value}, then ${(err as Error).name}`);
            await mine.ack();
          });
        }
      });
    });
    assert.deepEqual(record.sort(), ["w1 holds a, then EndOfChannel", "w2 holds b, then EndOfChannel"]);
  });

  test("a supervised worker restarted after a failure hands its value back at once, not when it ends for good", async () => {
    const [send, receive] = openAckChannel<string>(4);
    const record: string[] = [];
    await run(async () => {
      await send.send("a");
      await send.send("b");
      send.close();
      let attempt = 0;
      await withSupervisor(
        (sup) => {
          sup.spawn(
            async () => {
              const n = ++attempt;
              for await (const job of receive) {
                if (n === 1) throw new Error("crash");
                record.push(`attempt ${n}: ${job.value} x${job.deliveries}`);
                await job.ack();
              }
            },
            { restart: "on-failure" },
          );
        },
        { onError: () => {} },
      );
    });
    assert.deepEqual(record, ["attempt 2: a x2", "attempt 2: b x1"]);
  });
});

describe("openAckChannel: ends, cancellation and errors", () => {
  test("a drainer waits while another task holds a value, gets it back when that task fails, then ends", async () => {
    const [send, receive] = openAckChannel<string>(4);
    const record: string[] = [];
    await run(() =>
      withTaskGroup(async (tg) => {
        await send.send("x");
        send.close();
        const crash = new Event();
        tg.spawn(async () => {
          await inTaskThatFails(async () => {
            const e = await receive.receive();
            record.push(`worker got ${e.value}`);
            await crash.wait();
          });
        });
        await settle();
        tg.spawn(async () => {
          for await (const e of receive) {
            record.push(`drainer got ${e.value} x${e.deliveries}`);
            await e.ack();
          }
          record.push("drainer saw the end");
        });
        await settle();
        record.push("worker crashes");
        crash.set();
      }),
    );
    assert.deepEqual(record, ["worker got x", "worker crashes", "drainer got x x2", "drainer saw the end"]);
  });

  test("the end reaches a waiting receiver once the last value in flight elsewhere is acknowledged", async () => {
    const [send, receive] = openAckChannel<string>(1);
    await run(() =>
      withTaskGroup(async (tg) => {
        await send.send("x");
        send.close();
        let e!: Envelope<string>;
        let endSeen = false;
        tg.spawn(async () => {
          e = await receive.receive();
          await settle();
          await e.ack();
        });
        await settle();
        tg.spawn(async () => {
          assert.ok((await thrown(() => receive.receive())) instanceof EndOfChannel);
          endSeen = true;
        });
        await settle();
        await settle();
        assert.equal(endSeen, true);
      }),
    );
  });

  test("ack in a cancelled scope raises Cancelled and acknowledges nothing", async () => {
    const [send, receive] = openAckChannel<string>(1);
    await run(async () => {
      await send.send("a");
      await withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          const e = await receive.receive();
          const scope = new CancelScope();
          await scope.run(async () => {
            scope.cancel();
            const err = await thrown(() => e.ack());
            assert.ok(isCancelled(err));
          });
          assert.equal(receive.statistics().inFlight, 1);
        });
      });
      const again = receive.tryReceive();
      assert.equal(again.deliveries, 2, "the task ended without a successful ack");
      await again.ack();
    });
  });

  test("a cancelled receive takes nothing; closing every receive handle breaks senders and drops values", async () => {
    const [send, receive] = openAckChannel<string>(1);
    await run(async () => {
      await withTaskGroup(async (tg) => {
        const scope = new CancelScope();
        tg.spawn(() => scope.run(() => receive.receive()));
        await settle();
        scope.cancel();
      });
      await send.send("a");
      assert.equal(receive.statistics().currentBufferUsed, 1);
      const e = receive.tryReceive();
      receive.close();
      assert.equal(receive.statistics().inFlight, 0);
      assert.equal(receive.statistics().currentBufferUsed, 0, "nobody can receive it any more: dropped");
      assert.ok(e.id === "1");
      assert.equal(await outcome(send.send("b")), "BrokenResourceError");
      assert.throws(() => send.trySend("c"), BrokenResourceError);
    });
  });
});
