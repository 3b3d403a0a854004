// What `ack()` of a Redis channel promises (against a real redis-server): it returns once the
// XACK is queued on the client, in order with the client's other commands; an XACK that fails
// breaks the receive side, and its values are delivered again after claimIdleMs.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import { BrokenResourceError, run, withTaskGroup } from "../../src/index.js";
import { openRedisChannel, type RedisClientLike } from "../../src/redis/index.js";
import { RedisServer, haveRedis } from "./redis-server.js";
import { thrown } from "../support/thrown.js";

const makeClient = (url: string) => createClient({ url });
const skip = haveRedis() || process.env.CI !== undefined ? false : // in CI (which installs it) never skipped
  "redis-server is not installed (/usr/bin/redis-server)";

let server: RedisServer;
let client: ReturnType<typeof makeClient>;
let keys = 0;
const freshKey = () => `ack:${process.pid}:${++keys}`;

/**
 * The real client, except that its XACKs fail while `failing` is set, as they would with the
 * connection lost (a fault injected between trellis and a real Redis, not a mock of Redis).
 */
function withFailingAcks(real: ReturnType<typeof makeClient>): RedisClientLike & { failing: boolean } {
  return {
    failing: false,
    sendCommand(args: string[]) {
      if (this.failing && args[0] === "XACK") return Promise.reject(new Error("Socket closed unexpectedly"));
      return real.sendCommand(args);
    },
    duplicate: (overrides?: object) => real.duplicate(overrides as never),
    get options() {
      return real.options;
    },
  };
}

describe("RedisDelivery.ack()", { skip }, () => {
  before(async () => {
    server = await RedisServer.start();
    client = makeClient(server.url);
    await client.connect();
  });
  after(async () => {
    await client?.close().catch(() => {});
    await server?.stop();
  });

  test("ack() returns once the XACK is queued: the next command on the client sees the value acknowledged", async () => {
    const key = freshKey();
    await run(async () => {
      const [send, receive] = openRedisChannel<number>(client, key, { group: "g", consumer: "c", blockMs: 100, prefetch: 10 });
      for (let n = 0; n < 5; n++) await send.send(n);
      await withTaskGroup(async (tg) => {
        for (let w = 0; w < 5; w++) {
          tg.spawn(async () => {
            const job = await receive.receive();
            await job.ack();
            // In order on the same connection: this XPENDING runs after the XACK.
            const rows = (await client.sendCommand(["XPENDING", key, "g", "-", "+", "10"])) as [string][];
            assert.ok(!rows.some((r) => r[0] === job.id), `${job.id} still pending after its ack() returned`);
          });
        }
      });
      send.close();
      receive.close();
    });
    const pending = (await client.sendCommand(["XPENDING", key, "g"])) as unknown[];
    assert.equal(pending[0], 0);
  });

  test("an XACK that fails breaks the receive side, saying so; its value is delivered again after claimIdleMs", async () => {
    const key = freshKey();
    const flaky = withFailingAcks(client);
    await run(async () => {
      const [send, receive] = openRedisChannel<string>(flaky, key, { group: "g", consumer: "first", blockMs: 50, claimIdleMs: 200 });
      await send.send("a");
      await send.send("b");
      const a = await receive.receive();
      flaky.failing = true;
      await a.ack(); // queued: the failure comes after
      const err = await thrown(() => receive.receive());
      assert.ok(err instanceof BrokenResourceError, String(err));
      assert.match((err as Error).message, /the XACK of 1 value failed: they stay pending and are delivered again after claimIdleMs/);
      assert.equal(((err as Error).cause as Error).message, "Socket closed unexpectedly");
      const b = await thrown(() => receive.receive());
      assert.equal(b, err, "later receives raise the same error");
      receive.close();
      send.close();

      // Nothing lost: another consumer takes "a" (and "b", handed back at close) over.
      const [tx, second] = openRedisChannel<string>(client, key, { group: "g", consumer: "second", blockMs: 50, claimIdleMs: 200 });
      tx.close();
      const got = new Map<string, number>();
      while (got.size < 2) {
        const job = await second.receive();
        got.set(job.value, job.deliveries);
        await job.ack();
      }
      assert.ok(got.get("a")! >= 2, `"a" delivered again, deliveries ${got.get("a")}`);
      second.close();
    });
    const pending = (await client.sendCommand(["XPENDING", key, "g"])) as unknown[];
    assert.equal(pending[0], 0, "nothing left pending");
  });

  test("ack() of a value held when the receive side broke raises the error and acknowledges nothing", async () => {
    const key = freshKey();
    const flaky = withFailingAcks(client);
    await run(async () => {
      const [send, receive] = openRedisChannel<string>(flaky, key, { group: "g", consumer: "c", blockMs: 50, claimIdleMs: 60_000, prefetch: 2 });
      await send.send("a");
      await send.send("b");
      const a = await receive.receive();
      const b = await receive.receive();
      flaky.failing = true;
      await a.ack();
      await thrown(() => receive.receive()); // the failure has come
      flaky.failing = false;
      const err = await thrown(() => b.ack());
      assert.ok(err instanceof BrokenResourceError);
      assert.equal(receive.statistics().inFlight, 1, "b is still held, not acknowledged");
      send.close();
      receive.close();
    });
    // b was handed back at close (XCLAIM … IDLE huge); a stays pending until claimed.
    const rows = (await client.sendCommand(["XPENDING", key, "g", "-", "+", "10"])) as [string, string, number, number][];
    assert.equal(rows.length, 2, "both values are still pending: nothing was lost nor acknowledged");
  });
});
