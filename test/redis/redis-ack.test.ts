// What `ack()` of a Redis channel promises (against a real redis-server): it returns once Redis
// has replied to its XACK (batched with the other acks of the turn); an XACK that fails makes
// ack() raise BrokenResourceError, and its value is delivered again after claimIdleMs.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BrokenResourceError, run, withTaskGroup } from "../../src/index.js";
import { openRedisChannel, type RedisClientLike } from "../../src/redis/index.js";
import { skipRedis, useRedis, type RedisTestClient } from "./redis-server.js";
import { thrown } from "../support/thrown.js";

const skip = skipRedis;

let keys = 0;
const freshKey = () => `ack:${process.pid}:${++keys}`;

/**
 * The real redis.client, except that its XACKs fail while `failing` is set, as they would with the
 * connection lost (a fault injected between trellis and a real Redis, not a mock of Redis).
 */
function withFailingAcks(real: RedisTestClient): RedisClientLike & { failing: boolean } {
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
  const redis = useRedis();

  test("ack() returns once the XACK has been applied: the value is no longer pending", async () => {
    const key = freshKey();
    await run(async () => {
      const [send, receive] = openRedisChannel<number>(redis.client, key, { group: "g", consumer: "c", blockMs: 100, prefetch: 10 });
      for (let n = 0; n < 5; n++) await send.send(n);
      await withTaskGroup(async (tg) => {
        for (let w = 0; w < 5; w++) {
          tg.spawn(async () => {
            const job = await receive.receive();
            await job.ack();
            // In order on the same connection: this XPENDING runs after the XACK.
            const rows = (await redis.client.sendCommand(["XPENDING", key, "g", "-", "+", "10"])) as [string][];
            assert.ok(!rows.some((r) => r[0] === job.id), `${job.id} still pending after its ack() returned`);
          });
        }
      });
      send.close();
      receive.close();
    });
    const pending = (await redis.client.sendCommand(["XPENDING", key, "g"])) as unknown[];
    assert.equal(pending[0], 0);
  });

  test("an XACK that fails makes ack() raise BrokenResourceError with the cause; the value is delivered again after claimIdleMs", async () => {
    const key = freshKey();
    const flaky = withFailingAcks(redis.client);
    await run(async () => {
      const [send, receive] = openRedisChannel<string>(flaky, key, { group: "g", consumer: "first", blockMs: 50, claimIdleMs: 200 });
      await send.send("a");
      const a = await receive.receive();
      flaky.failing = true;
      const err = await thrown(() => a.ack());
      assert.ok(err instanceof BrokenResourceError, String(err));
      assert.match((err as Error).message, /Envelope\.ack\(\): Redis stream ".*" failed/);
      assert.equal(((err as Error).cause as Error).message, "Socket closed unexpectedly");
      flaky.failing = false;
      receive.close();
      send.close();

      // Nothing lost: another consumer takes "a" over once it has been idle for claimIdleMs.
      const [tx, second] = openRedisChannel<string>(redis.client, key, { group: "g", consumer: "second", blockMs: 50, claimIdleMs: 200 });
      tx.close();
      const job = await second.receive();
      assert.equal(job.value, "a");
      assert.ok(job.deliveries >= 2, `"a" delivered again, deliveries ${job.deliveries}`);
      await job.ack();
      second.close();
    });
    const pending = (await redis.client.sendCommand(["XPENDING", key, "g"])) as unknown[];
    assert.equal(pending[0], 0, "nothing left pending");
  });
});
