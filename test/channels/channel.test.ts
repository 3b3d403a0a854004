import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import {
  BrokenResourceError,
  CancelScope,
  ClosedResourceError,
  EndOfChannel,
  WouldBlock,
  isCancelled,
  openChannel,
  run,
  withTaskGroup,
  type ReceiveChannel,
} from "../../src/index.js";
import { assertNoTimersLeft, outcome, settle } from "../support/tasks.js";

describe("openChannel", () => {
  test("capacity must be an integer ≥ 0 or Infinity, and the message shows the value", () => {
    assert.throws(() => openChannel(2.5), {
      name: "RangeError",
      message: "openChannel(): `capacity` must be an integer ≥ 0 or Infinity, got 2.5 (number)",
    });
    for (const bad of [-1, NaN, -Infinity]) {
      assert.throws(() => openChannel(bad as never), { name: "RangeError", message: /`capacity`/ }, String(bad));
    }
    for (const bad of ["3", null, 1n]) {
      assert.throws(() => openChannel(bad as never), { name: "TypeError", message: /`capacity`/ }, String(bad));
    }
    assert.throws(() => openChannel("3" as never), { message: /got "3" \(string\)/ });
    for (const good of [0, 1, 1024, Infinity]) assert.equal(openChannel(good)[0].statistics().maxBufferSize, good);
    assert.equal(openChannel()[1].statistics().maxBufferSize, 0, "the default capacity is 0");
  });

  test("capacity 0 is a rendezvous: send returns only once a receiver has taken the value", async () => {
    const [send, receive] = openChannel<string>();
    const record: string[] = [];
    await run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          record.push("send starts");
          await send.send("hello");
          record.push("send returned");
        });
        await settle();
        assert.equal(send.statistics().tasksWaitingSend, 1);
        assert.equal(send.statistics().currentBufferUsed, 0, "a rendezvous never buffers");
        record.push("receiving");
        record.push(`received ${await receive.receive()}`);
      }),
    );
    assert.deepEqual(record.slice(0, 2), ["send starts", "receiving"]);
    assert.deepEqual(record.slice(2).sort(), ["received hello", "send returned"]);
    await assertNoTimersLeft();
  });

  test("the channel works outside run() too", async () => {
    const [send, receive] = openChannel<number>();
    const received = receive.receive();
    await send.send(7);
    assert.equal(await received, 7);
  });
});

describe("waiting, try… and WouldBlock", () => {
  test("send waits for room; trySend throws WouldBlock instead of waiting", async () => {
    const [send, receive] = openChannel<number>(2);
    const record: string[] = [];
    await run(() =>
      withTaskGroup(async (tg) => {
        send.trySend(1);
        await send.send(2);
        assert.throws(() => send.trySend(3), (err: unknown) => err instanceof WouldBlock && /buffer is full \(capacity 2\)/.test(err.message));
        tg.spawn(async () => {
          await send.send(3);
          record.push("third send returned");
        });
        await settle();
        assert.deepEqual(record, [], "the third send waits for room");
        assert.equal(receive.tryReceive(), 1);
        await settle();
        assert.deepEqual(record, ["third send returned"]);
      }),
    );
    assert.deepEqual([receive.tryReceive(), receive.tryReceive()], [2, 3]);
  });

  test("receive waits for a value; tryReceive throws WouldBlock instead of waiting", async () => {
    const [send, receive] = openChannel<number>(1);
    assert.throws(() => receive.tryReceive(), (err: unknown) => err instanceof WouldBlock && /await receive\(\)/.test(err.message));
    const got: number[] = [];
    await run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => got.push(await receive.receive()));
        await settle();
        assert.equal(receive.statistics().tasksWaitingReceive, 1);
        send.trySend(5);
      }),
    );
    assert.deepEqual(got, [5]);
  });

  test("a blocked sender keeps its value in its wait and hands it straight to a receiver", async () => {
    const [send, receive] = openChannel<string>(0);
    await run(() =>
      withTaskGroup(async (tg) => {
        const sent = tg.spawn(() => send.send("direct"));
        await settle();
        assert.equal(receive.tryReceive(), "direct", "tryReceive takes the waiting sender's value");
        assert.equal(await sent.result(), undefined);
        assert.throws(() => receive.tryReceive(), WouldBlock);
      }),
    );
  });

  test("values go to waiting receivers in the order they started waiting (FIFO)", async () => {
    const [send, receive] = openChannel<string>(0);
    const got = new Map<string, string>();
    await run(() =>
      withTaskGroup(async (tg) => {
        for (const name of ["r1", "r2", "r3"]) {
          tg.spawn(async () => got.set(name, await receive.receive()));
          await settle();
        }
        for (const value of ["a", "b", "c"]) send.trySend(value);
      }),
    );
    assert.deepEqual([...got].sort(), [["r1", "a"], ["r2", "b"], ["r3", "c"]]);
  });

  test("waiting senders are served in the order they started waiting (FIFO)", async () => {
    const [send, receive] = openChannel<string>(0);
    const got: string[] = [];
    await run(() =>
      withTaskGroup(async (tg) => {
        for (const value of ["a", "b", "c"]) {
          tg.spawn(() => send.send(value));
          await settle();
        }
        for (let i = 0; i < 3; i++) got.push(await receive.receive());
      }),
    );
    assert.deepEqual(got, ["a", "b", "c"]);
  });

  test("a freed buffer slot goes to the first waiting sender, so a trySend right after cannot jump the queue", async () => {
    const [send, receive] = openChannel<number>(1);
    send.trySend(1);
    await run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(() => send.send(2));
        await settle();
        assert.equal(receive.tryReceive(), 1);
        assert.equal(send.statistics().currentBufferUsed, 1, "the waiting sender's value entered the buffer at once");
        assert.throws(() => send.trySend(3), WouldBlock);
        assert.equal(await receive.receive(), 2);
      }),
    );
  });

  test("a value sent while a receiver waits belongs to it: tryReceive right after cannot take it", async () => {
    const [send, receive] = openChannel<number>(1);
    let got: number | undefined;
    await run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => (got = await receive.receive()));
        await settle();
        send.trySend(2);
        assert.throws(() => receive.tryReceive(), WouldBlock);
      }),
    );
    assert.equal(got, 2);
  });

  test("Infinity never makes a sender wait, and values keep their order as the buffer grows and wraps", async () => {
    const [send, receive] = openChannel<number>(Infinity);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3000; i++) send.trySend(next++);
      for (let i = 0; i < 2000; i++) assert.equal(receive.tryReceive(), expected++);
    }
    send.close();
    for await (const value of receive) assert.equal(value, expected++);
    assert.equal(expected, next);
  });

  test("undefined is a value like any other", async () => {
    const [send, receive] = openChannel<undefined>(1);
    send.trySend(undefined);
    assert.equal(receive.tryReceive(), undefined);
    await run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(() => send.send(undefined));
        await settle();
        assert.equal(await receive.receive(), undefined);
        assert.throws(() => receive.tryReceive(), WouldBlock);
      }),
    );
  });
});

describe("checkpoints and cancellation", () => {
  test("send and receive yield even when they need not wait; trySend and tryReceive never do", async () => {
    const [send, receive] = openChannel<number>(1);
    const record: string[] = [];
    queueMicrotask(() => record.push("other"));
    await send.send(1);
    record.push("after send");
    queueMicrotask(() => record.push("other"));
    await receive.receive();
    record.push("after receive");
    assert.deepEqual(record, ["other", "after send", "other", "after receive"]);
    queueMicrotask(() => record.push("late"));
    send.trySend(2);
    receive.tryReceive();
    record.push("sync");
    await null;
    assert.deepEqual(record.slice(-2), ["sync", "late"]);
  });

  test("send and receive in a cancelled context raise Cancelled and move nothing, even when they could proceed", async () => {
    const [send, receive] = openChannel<number>(1);
    send.trySend(1);
    await run(async () => {
      const scope = new CancelScope();
      scope.cancel();
      await scope.run(async () => {
        await assert.rejects(receive.receive(), isCancelled);
        await assert.rejects(send.send(2), isCancelled);
        await assert.rejects(receive[Symbol.asyncIterator]().next(), isCancelled);
      });
    });
    assert.deepEqual(send.statistics().currentBufferUsed, 1);
    assert.equal(receive.tryReceive(), 1);
  });

  test("a cancelled send leaves the channel as it was: the value is not sent", async () => {
    const [send, receive] = openChannel<string>(0);
    const scope = new CancelScope();
    await run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(() => scope.run(() => send.send("never")));
        await settle();
        assert.equal(send.statistics().tasksWaitingSend, 1);
        scope.cancel();
      }),
    );
    assert.equal(scope.cancelledCaught, true);
    assert.equal(send.statistics().tasksWaitingSend, 0);
    assert.throws(() => receive.tryReceive(), WouldBlock);
  });

  test("a cancelled receive leaves the value for the next receiver", async () => {
    const [send, receive] = openChannel<string>(0);
    const scope = new CancelScope();
    let second: string | undefined;
    await run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(() => scope.run(() => receive.receive()));
        await settle();
        tg.spawn(async () => (second = await receive.receive()));
        await settle();
        scope.cancel();
        await send.send("value");
      }),
    );
    assert.equal(scope.cancelledCaught, true);
    assert.equal(second, "value");
  });

  test("a receive handed a value in the same tick as its cancellation returns the value", async () => {
    const [send, receive] = openChannel<string>(0);
    const scope = new CancelScope();
    let got: string | undefined;
    await run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => (got = await scope.run(() => receive.receive())));
        await settle();
        send.trySend("kept");
        scope.cancel(); // same synchronous step as the hand-off
      }),
    );
    assert.equal(got, "kept");
    assert.equal(scope.cancelledCaught, false);
    assert.throws(() => receive.tryReceive(), WouldBlock, "delivered once");
  });

  test("a send whose value is taken in the same tick as its cancellation returns normally (rendezvous)", async () => {
    const [send, receive] = openChannel<string>(0);
    const scope = new CancelScope();
    let result = "";
    await run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => (result = await outcome(scope.run(() => send.send("taken")))));
        await settle();
        assert.equal(receive.tryReceive(), "taken");
        scope.cancel();
      }),
    );
    assert.equal(result, "ok");
    assert.equal(scope.cancelledCaught, false);
    assert.throws(() => receive.tryReceive(), WouldBlock, "delivered once");
  });

  test("a send whose value enters the buffer in the same tick as its cancellation returns normally", async () => {
    const [send, receive] = openChannel<string>(1);
    send.trySend("first");
    const scope = new CancelScope();
    let result = "";
    await run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => (result = await outcome(scope.run(() => send.send("second")))));
        await settle();
        assert.equal(receive.tryReceive(), "first"); // "second" moves into the freed slot
        scope.cancel();
        send.close(); // and closing its handle now changes nothing either
      }),
    );
    assert.equal(result, "ok");
    assert.deepEqual([...(await drain(receive))], ["second"]);
    assert.equal(receive.statistics().tasksWaitingSend, 0);
  });
});

describe("clone and close", () => {
  test("send on a closed handle throws ClosedResourceError; so do trySend and clone", async () => {
    const [send, receive] = openChannel<number>(1);
    send.close();
    await assert.rejects(send.send(1), (err: unknown) => err instanceof ClosedResourceError && /SendChannel\.send\(\): this send handle is closed/.test(err.message));
    assert.throws(() => send.trySend(1), ClosedResourceError);
    assert.throws(() => send.clone(), (err: unknown) => err instanceof ClosedResourceError && /SendChannel\.clone\(\)/.test(err.message));
    assert.throws(() => receive.tryReceive(), EndOfChannel, "the other side sees the end, not a closed handle");
  });

  test("receive on its own closed handle throws ClosedResourceError; so do tryReceive, the iterator and clone", async () => {
    const [send, receive] = openChannel<number>(1);
    const other = receive.clone();
    send.trySend(1);
    receive.close();
    await assert.rejects(receive.receive(), (err: unknown) => err instanceof ClosedResourceError && /ReceiveChannel\.receive\(\)/.test(err.message));
    assert.throws(() => receive.tryReceive(), ClosedResourceError);
    await assert.rejects(receive[Symbol.asyncIterator]().next(), ClosedResourceError);
    assert.throws(() => receive.clone(), ClosedResourceError);
    assert.equal(other.tryReceive(), 1, "a clone that is still open keeps working");
  });

  test("close is idempotent and [Symbol.dispose] closes, so `using` closes a clone at the end of its block", () => {
    const [send, receive] = openChannel<number>(1);
    {
      using tx = send.clone();
      using rx = receive.clone();
      assert.equal(tx.statistics().openSendChannels, 2);
      assert.equal(rx.statistics().openReceiveChannels, 2);
    }
    assert.equal(send.statistics().openSendChannels, 1);
    assert.equal(send.statistics().openReceiveChannels, 1);
    send.close();
    send.close();
    send[Symbol.dispose]();
    assert.equal(receive.statistics().openSendChannels, 0);
  });

  test("closing one clone does not end the stream; the last send handle does, after the buffer drains", async () => {
    const [send, receive] = openChannel<string>(2);
    const second = send.clone();
    send.trySend("a");
    send.close();
    second.trySend("b");
    assert.deepEqual([receive.tryReceive(), receive.tryReceive()], ["a", "b"]);
    assert.throws(() => receive.tryReceive(), WouldBlock, "one send handle is still open");
    second.trySend("c");
    second.close();
    assert.equal(receive.tryReceive(), "c", "buffered values are still delivered");
    assert.throws(() => receive.tryReceive(), (err: unknown) => err instanceof EndOfChannel && /every send handle/.test(err.message));
    await assert.rejects(receive.receive(), EndOfChannel);
  });

  test("closing the last send handle wakes waiting receivers with EndOfChannel", async () => {
    const [send, receive] = openChannel<number>(4);
    const results: string[] = [];
    await run(() =>
      withTaskGroup(async (tg) => {
        for (let i = 0; i < 2; i++) tg.spawn(async () => results.push(await outcome(receive.receive())));
        await settle();
        send.close();
      }),
    );
    assert.deepEqual(results, ["EndOfChannel", "EndOfChannel"]);
    assert.equal(receive.statistics().tasksWaitingReceive, 0);
  });

  test("closing the last receive handle breaks the channel: waiting and later sends get BrokenResourceError", async () => {
    const [send, receive] = openChannel<string>(1);
    send.trySend("buffered");
    let result = "";
    await run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => (result = await outcome(send.send("waiting"))));
        await settle();
        receive.close();
      }),
    );
    assert.equal(result, "BrokenResourceError");
    const stats = send.statistics();
    assert.equal(stats.currentBufferUsed, 0, "no one can receive the buffered value any more");
    assert.equal(stats.tasksWaitingSend, 0);
    assert.throws(() => send.trySend("late"), (err: unknown) => err instanceof BrokenResourceError && /every receive handle/.test(err.message));
    await assert.rejects(send.send("late"), BrokenResourceError);
  });

  test("closing a send handle wakes only the sends waiting on that handle, with ClosedResourceError", async () => {
    const [first, receive] = openChannel<string>(0);
    const second = first.clone();
    const results = new Map<string, string>();
    let got = "";
    await run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => results.set("first", await outcome(first.send("nope"))));
        tg.spawn(async () => results.set("second", await outcome(second.send("ok"))));
        await settle();
        first.close();
        await settle();
        assert.equal(results.get("first"), "ClosedResourceError");
        got = await receive.receive();
      }),
    );
    assert.equal(got, "ok");
    assert.equal(results.get("second"), "ok");
  });

  test("closing a receive handle wakes only the receives waiting on that handle, with ClosedResourceError", async () => {
    const [send, first] = openChannel<string>(0);
    const second = first.clone();
    const results = new Map<string, string>();
    await run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => results.set("first", await outcome(first.receive())));
        tg.spawn(async () => results.set("second", await second.receive()));
        await settle();
        first.close();
        await send.send("ok");
      }),
    );
    assert.deepEqual(Object.fromEntries(results), { first: "ClosedResourceError", second: "ok" });
  });
});

describe("for await", () => {
  test("yields every value until the send side is closed and drained, then ends cleanly", async () => {
    const [send, receive] = openChannel<number>(0);
    const got: number[] = [];
    await run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          using tx = send;
          for (let i = 0; i < 5; i++) await tx.send(i);
        });
        for await (const value of receive) got.push(value);
      }),
    );
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
  });

  test("each step is a checkpoint: a cancellation stops the loop even with values buffered", async () => {
    const [send, receive] = openChannel<number>(10);
    for (let i = 0; i < 10; i++) send.trySend(i);
    const got: number[] = [];
    const scope = new CancelScope();
    await run(() =>
      scope.run(async () => {
        for await (const value of receive) {
          got.push(value);
          if (value === 2) scope.cancel();
        }
      }),
    );
    assert.deepEqual(got, [0, 1, 2]);
    assert.equal(scope.cancelledCaught, true);
    assert.equal(receive.statistics().currentBufferUsed, 7, "the cancelled step took nothing");
  });

  test("breaking out of the loop does not close the handle (as in Trio)", async () => {
    const [send, receive] = openChannel<number>(3);
    for (const n of [1, 2, 3]) send.trySend(n);
    for await (const value of receive) {
      assert.equal(value, 1);
      break;
    }
    assert.equal(receive.statistics().openReceiveChannels, 1);
    assert.equal(receive.tryReceive(), 2);
    for await (const value of receive) {
      assert.equal(value, 3);
      break;
    }
    send.trySend(4);
  });
});

describe("statistics and inspection", () => {
  test("statistics() is a fresh snapshot of the channel, the same from every handle", async () => {
    const [send, receive] = openChannel<number>(2);
    const initial = send.statistics();
    assert.deepEqual(initial, {
      currentBufferUsed: 0,
      maxBufferSize: 2,
      openSendChannels: 1,
      openReceiveChannels: 1,
      tasksWaitingSend: 0,
      tasksWaitingReceive: 0,
    });
    send.trySend(1);
    assert.notEqual(send.statistics(), initial);
    assert.equal(initial.currentBufferUsed, 0, "a snapshot does not change afterwards");
    const clone = receive.clone();
    assert.deepEqual(send.statistics(), receive.statistics());
    assert.equal(clone.statistics().openReceiveChannels, 2);
    const scopes = [new CancelScope(), new CancelScope()];
    await run(() =>
      withTaskGroup(async (tg) => {
        send.trySend(2);
        for (const scope of scopes) tg.spawn(() => scope.run(() => send.send(3)));
        await settle();
        assert.equal(receive.statistics().tasksWaitingSend, 2);
        for (const scope of scopes) scope.cancel();
      }),
    );
    assert.equal(send.statistics().tasksWaitingSend, 0);
    assert.deepEqual([receive.tryReceive(), receive.tryReceive()], [1, 2]);
    const waiting = new CancelScope();
    await run(() =>
      withTaskGroup(async (tg) => {
        tg.spawn(() => waiting.run(() => clone.receive()));
        await settle();
        assert.equal(send.statistics().tasksWaitingReceive, 1);
        waiting.cancel();
      }),
    );
    assert.equal(send.statistics().tasksWaitingReceive, 0);
  });

  test("util.inspect shows the handle's state and the channel's live state", () => {
    const [send, receive] = openChannel<string>(4);
    send.trySend("x");
    assert.match(inspect(send), /^SendChannel \(open\) \{.*currentBufferUsed: 1.*maxBufferSize: 4.*buffered: \[ 'x' \]/s);
    receive.close();
    assert.match(inspect(receive), /^ReceiveChannel \(closed\) \{.*openReceiveChannels: 0.*buffered: \[\]/s);
    assert.match(inspect({ send }, { depth: 0 }), /\[SendChannel \(open\)\]/);
  });
});

async function drain<T>(receive: ReceiveChannel<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of receive) out.push(value);
  return out;
}
