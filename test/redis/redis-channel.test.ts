// trellis/redis against a real redis-server (started by this file on a free port, no
// persistence, stopped after). No mock of Redis.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createClient } from "redis";
import {
  BrokenResourceError,
  ClosedResourceError,
  RuntimeError,
  WouldBlock,
  isCancelled,
  moveOnAfter,
  run,
  sleep,
  withTaskGroup,
} from "../../src/index.js";
import { waitAllTasksBlocked } from "../../src/testing/index.js";
import { openRedisChannel, type InvalidEntry } from "../../src/redis/index.js";
import { RedisServer, skipRedis } from "./redis-server.js";
import { thrown } from "../support/thrown.js";

const makeClient = (url: string) => createClient({ url });
type Client = ReturnType<typeof makeClient>;
const skip = skipRedis;

let server: RedisServer;
let client: Client;
let keys = 0;
/** A fresh stream key per test. */
const freshKey = () => `test:${process.pid}:${++keys}`;

async function connect(): Promise<Client> {
  const c = makeClient(server.url);
  c.on("error", () => {}); // a restart under the test: the commands fail, the test checks them
  await c.connect();
  return c;
}

/** Open TCP handles: the channel's own connections must be gone when it is closed. */
function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "TCPWrap" || r === "TCPSocketWrap").length;
}

describe("openRedisChannel", { skip }, () => {
  before(async () => {
    server = await RedisServer.start();
    client = await connect();
  });
  after(async () => {
    await client?.close().catch(() => {});
    await server?.stop();
  });

  test("bad arguments are TypeError/RangeError naming the argument and showing the value", () => {
    assert.throws(() => openRedisChannel({} as never, "k", { group: "g", consumer: "c" }), {
      name: "TypeError",
      message: /`client` must be a connected node-redis client/,
    });
    assert.throws(() => openRedisChannel(client, "", { group: "g", consumer: "c" }), { message: /`key` must be a non-empty string, got "" \(string\)/ });
    assert.throws(() => openRedisChannel(client, "k", undefined as never), { message: /`options` with `group` and `consumer` is required/ });
    assert.throws(() => openRedisChannel(client, "k", { group: 3 as never, consumer: "c" }), { message: /`options.group` must be a non-empty string, got 3 \(number\)/ });
    assert.throws(() => openRedisChannel(client, "k", { group: "g", consumer: "c", blockMs: 0 }), {
      name: "RangeError",
      message: /`options.blockMs` must be an integer ≥ 1, got 0/,
    });
    assert.throws(() => openRedisChannel(client, "k", { group: "g", consumer: "c", claimIdleMs: -1 }), { name: "RangeError" });
    assert.throws(() => openRedisChannel(client, "k", { group: "g", consumer: "c", prefetch: 1.5 }), { name: "RangeError" });
    assert.throws(() => openRedisChannel(client, "k", { group: "g", consumer: "c", serialize: "json" as never }), {
      message: /`options.serialize` must be a function/,
    });
    // null means "the default", as absent does.
    const [s, r] = openRedisChannel(client, "k", { group: "g", consumer: "c", blockMs: null, maxLen: null, serialize: null });
    s.close();
    r.close();
  });

  test("values sent before any receiver existed are delivered, in order, and acknowledged once", async () => {
    const key = freshKey();
    await run(async () => {
      const [send, rx0] = openRedisChannel<{ n: number }>(client, key, { group: "g", consumer: "c1" });
      rx0.close(); // a pure producer: the group does not exist yet
      for (let n = 1; n <= 3; n++) await send.send({ n });
      send.close();
      const [, receive] = openRedisChannel<{ n: number }>(client, key, { group: "g", consumer: "c2" });
      const got: number[] = [];
      for (let i = 0; i < 3; i++) {
        const job = await receive.receive();
        assert.equal(job.deliveries, 1);
        assert.match(job.id, /^\d+-\d+$/);
        got.push(job.value.n);
        await job.ack();
        await job.ack(); // a second ack does nothing
      }
      assert.deepEqual(got, [1, 2, 3]);
      assert.equal(receive.statistics().inFlight, 0);
      receive.close();
    });
    const pending = (await client.sendCommand(["XPENDING", key, "g"])) as unknown[];
    assert.equal(pending[0], 0, "nothing left pending");
  });

  test("works the same with a RESP2 and a RESP3 client", async () => {
    for (const RESP of [2, 3] as const) {
      const c = createClient({ url: server.url, RESP });
      await c.connect();
      const key = freshKey();
      await run(async () => {
        const [send, receive] = openRedisChannel<string[]>(c, key, { group: "g", consumer: "c", blockMs: 100, prefetch: 2 });
        await send.send(["a", "b"]);
        await send.send(["c"]);
        const one = await receive.receive();
        const two = await receive.receive();
        assert.deepEqual([one.value, two.value], [["a", "b"], ["c"]], `RESP${RESP}`);
        await one.ack();
        await two.ack();
        send.close();
        receive.close();
      });
      await c.close();
    }
  });

  test("a blocked receive is cancelled at once, without waiting out blockMs, and loses nothing", async () => {
    const key = freshKey();
    const before = tcpHandles();
    await run(async () => {
      // blockMs of 10 minutes: had the cancellation waited for the read, the test would time out.
      const [send, receive] = openRedisChannel<string>(client, key, { group: "g", consumer: "c", blockMs: 600_000 });
      const r = await moveOnAfter(30, () => receive.receive());
      assert.equal(r, undefined);
      assert.equal(receive.statistics().tasksWaitingReceive, 0);
      // The read that was cut short took nothing: the next value goes to the next receive.
      await withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          const job = await receive.receive();
          assert.equal(job.value, "after");
          await job.ack();
        });
        await sleep(20);
        await send.send("after");
      });
      const again = await moveOnAfter(30, () => receive.receive());
      assert.equal(again, undefined);
      send.close();
      receive.close();
    });
    await sleep(20);
    assert.ok(tcpHandles() <= before, "the blocking connection was closed");
  });

  test("run() closes the blocking connection of a receive handle left open, and statistics show the local side", async () => {
    const key = freshKey();
    const before = tcpHandles();
    await run(async () => {
      const [send, receive] = openRedisChannel<number>(client, key, { group: "g", consumer: "c", blockMs: 100, prefetch: 5 });
      for (let i = 0; i < 3; i++) await send.send(i);
      const job = await receive.receive();
      assert.deepEqual(receive.statistics(), {
        currentBufferUsed: 2,
        maxBufferSize: 5,
        openSendChannels: 1,
        openReceiveChannels: 1,
        tasksWaitingSend: 0,
        tasksWaitingReceive: 0,
        inFlight: 1,
      });
      await job.ack();
      // Neither handle is closed: the run owns the connection and closes it at its end.
    });
    await sleep(20);
    assert.ok(tcpHandles() <= before, "the blocking connection outlived run()");
  });

  test("a value received by a task that fails before ack goes back to the front, its delivery counted", async () => {
    const key = freshKey();
    await run(async () => {
      const [send, receive] = openRedisChannel<string>(client, key, { group: "g", consumer: "c", blockMs: 200 });
      await send.send("a");
      await send.send("b");
      const err = await thrown(() =>
        withTaskGroup(async (tg) => {
          tg.spawn(async () => {
            const job = await receive.receive();
            assert.equal(job.value, "a");
            throw new Error("worker crashed");
          });
        }),
      );
      assert.equal((err as Error).message, "worker crashed");
      assert.equal(receive.statistics().inFlight, 0);
      const again = await receive.receive();
      assert.deepEqual([again.value, again.deliveries], ["a", 2]);
      const rows = (await client.sendCommand(["XPENDING", key, "g", "-", "+", "10"])) as [string, string, number, number][];
      assert.equal(rows.find((r) => r[0] === again.id)?.[3], 2, "Redis counted the second delivery too");
      const b = await receive.receive();
      assert.deepEqual([b.value, b.deliveries], ["b", 1]);
      await again.ack();
      await b.ack();
      send.close();
      receive.close();
    });
    const rows = (await client.sendCommand(["XPENDING", key, "g"])) as unknown[];
    assert.equal(rows[0], 0);
  });

  test("a value held locally longer than claimIdleMs is not handed to a second local receiver", async () => {
    const key = freshKey();
    await run(async () => {
      const [send, receive] = openRedisChannel<string>(client, key, { group: "g", consumer: "c", blockMs: 20, claimIdleMs: 30 });
      await send.send("slow");
      const held = await receive.receive();
      const other = await moveOnAfter(200, () => receive.receive()); // several claim rounds pass
      assert.equal(other, undefined, `the held value was delivered again: ${JSON.stringify(other?.value)}`);
      await held.ack();
      send.close();
      receive.close();
    });
  });

  test("closing the last receive handle hands unacknowledged values to another consumer at once", async () => {
    const key = freshKey();
    await run(async () => {
      const [send, first] = openRedisChannel<string>(client, key, { group: "g", consumer: "first", blockMs: 100 });
      await send.send("x");
      const held = await first.receive();
      first.close();
      const err = await thrown(() => held.ack());
      assert.ok(err instanceof RuntimeError, "ack after the handle handed it back");
      // claimIdleMs of a minute: only the hand-back lets the second consumer take it now.
      const [, second] = openRedisChannel<string>(client, key, { group: "g", consumer: "second", blockMs: 100, claimIdleMs: 60_000 });
      const job = await second.receive();
      assert.equal(job.value, "x");
      assert.ok(job.deliveries >= 2, `deliveries ${job.deliveries}`);
      await job.ack();
      second.close();
      send.close();
      assert.throws(() => first.tryReceive(), ClosedResourceError);
      assert.equal(await thrown(() => first.receive()).then((e) => (e as Error).name), "ClosedResourceError");
    });
  });

  test("an entry that cannot be deserialized is reported with its id, moved aside and acknowledged", async () => {
    const key = freshKey();
    const reports: InvalidEntry[] = [];
    await run(async () => {
      const [send, receive] = openRedisChannel<number>(client, key, {
        group: "g",
        consumer: "c",
        blockMs: 100,
        onInvalid: (entry) => reports.push(entry),
      });
      const badId = String(await client.sendCommand(["XADD", key, "*", "v", "{not json"]));
      const foreignId = String(await client.sendCommand(["XADD", key, "*", "other", "1"]));
      await send.send(42);
      const job = await receive.receive();
      assert.equal(job.value, 42, "the consumer loop goes on past the bad entries");
      await job.ack();
      assert.deepEqual(
        reports.map((r) => [r.id, r.raw, r.movedTo]),
        [
          [badId, "{not json", `${key}:dead`],
          [foreignId, undefined, `${key}:dead`],
        ],
      );
      assert.ok(reports[0]!.error instanceof SyntaxError);
      send.close();
      receive.close();
    });
    const dead = (await client.sendCommand(["XRANGE", `${key}:dead`, "-", "+"])) as [string, string[]][];
    assert.equal(dead.length, 2);
    assert.deepEqual(dead[0]![1].slice(0, 4), ["id", (reports[0] as InvalidEntry).id, "v", "{not json"]);
    const pending = (await client.sendCommand(["XPENDING", key, "g"])) as unknown[];
    assert.equal(pending[0], 0, "the bad entries were acknowledged");
  });

  test("send: values JSON cannot encode are a TypeError; trySend never completes; closed handles", async () => {
    const key = freshKey();
    const [send, receive] = openRedisChannel<unknown>(client, key, { group: "g", consumer: "c" });
    const err = await thrown(() => send.send(undefined));
    assert.ok(err instanceof TypeError);
    assert.match((err as Error).message, /serialized to undefined, not a string/);
    assert.ok((await thrown(() => send.send(10n))) instanceof TypeError);
    assert.throws(() => send.trySend(1), WouldBlock);
    assert.throws(() => receive.tryReceive(), WouldBlock);
    send.close();
    send.close();
    assert.throws(() => send.trySend(1), ClosedResourceError);
    assert.ok((await thrown(() => send.send(1))) instanceof ClosedResourceError);
    receive.close();
  });

  test("Redis restarting under a blocked receive is a BrokenResourceError with the cause, and nothing leaks", async () => {
    const key = freshKey();
    const own = await connect();
    const before = tcpHandles();
    const outcome = await run(async () => {
      const [send, receive] = openRedisChannel<string>(own, key, { group: "g", consumer: "c", blockMs: 600_000 });
      let error: unknown;
      await withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          error = await thrown(() => receive.receive());
        });
        await waitAllTasksBlocked();
        await sleep(50); // the blocking read is on the wire
        await server.restart();
      });
      // Later receives fail the same way, at once.
      const later = await thrown(() => receive.receive());
      send.close();
      receive.close();
      return { error, later };
    });
    assert.ok(outcome.error instanceof BrokenResourceError, String(outcome.error));
    assert.match((outcome.error as Error).message, /Redis stream "test:.*" failed/);
    assert.ok((outcome.error as Error).cause !== undefined, "the Redis error is attached as the cause");
    assert.equal(outcome.later, outcome.error);
    await own.close().catch(() => {});
    await sleep(20);
    assert.ok(tcpHandles() <= before, "the blocking connection was closed");
    client.destroy();
    client = await connect(); // the shared client reconnects for the tests after this one
  });

  test("ack in a cancelled scope raises Cancelled and acknowledges nothing", async () => {
    const key = freshKey();
    await run(async () => {
      const [send, receive] = openRedisChannel<string>(client, key, { group: "g", consumer: "c", blockMs: 100 });
      await send.send("a");
      const job = await receive.receive();
      await moveOnAfter(0, async () => {
        const err = await thrown(() => job.ack());
        assert.ok(isCancelled(err));
      });
      assert.equal(receive.statistics().inFlight, 1);
      await job.ack();
      send.close();
      receive.close();
    });
  });

  test("a consumer process killed (SIGKILL) mid-value: its value goes to a consumer of another process after claimIdleMs", async () => {
    const key = freshKey();
    const total = 8;
    await run(async () => {
      const [send, receive] = openRedisChannel<number>(client, key, { group: "workers", consumer: "survivor", blockMs: 100, claimIdleMs: 300 });
      for (let n = 0; n < total; n++) await send.send(n);
      send.close();

      const fixture = fileURLToPath(new URL("../../../test/fixtures/redis/consumer.mjs", import.meta.url));
      const child = spawn(process.execPath, [fixture, server.url, key, "workers", "doomed", "3"], { stdio: ["ignore", "pipe", "inherit"] });
      const ackedByChild = new Set<number>();
      let held = -1;
      for await (const line of createInterface({ input: child.stdout! })) {
        const [what, , value] = line.split(" ");
        if (what === "acked") ackedByChild.add(Number(value));
        if (what === "holding") {
          held = Number(value);
          break;
        }
      }
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
      assert.equal(ackedByChild.size, 3);
      assert.ok(held >= 0, "the child was holding a value when it was killed");

      const ackedHere = new Map<number, number>();
      while ([...ackedHere.keys()].length + ackedByChild.size < total) {
        const job = await receive.receive();
        if (job.value === held) assert.ok(job.deliveries >= 2, "the killed consumer's value comes with its delivery count");
        ackedHere.set(job.value, (ackedHere.get(job.value) ?? 0) + 1);
        await job.ack();
      }
      receive.close();
      for (const n of ackedByChild) assert.equal(ackedHere.has(n), false, `${n} was acknowledged by both processes`);
      assert.ok(ackedHere.has(held), "the value the killed consumer held was delivered again");
      for (let n = 0; n < total; n++) assert.ok(ackedByChild.has(n) || ackedHere.get(n) === 1, `${n}: acknowledged ${ackedHere.get(n) ?? 0} times here`);
    });
    const pending = (await client.sendCommand(["XPENDING", key, "workers"])) as unknown[];
    assert.equal(pending[0], 0, "nothing left pending");
  });
});
