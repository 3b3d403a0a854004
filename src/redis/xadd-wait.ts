/**
 * A send waiting for the reply to its XADD: the wait and its withdrawal in one object (no
 * async function, no `wait()` of a foreign promise: one wait and one pair of reply handlers
 * per value). Cancelled, the sender leaves at once; the reply, when it comes, is dropped (the
 * value may or may not have been added: a round trip cannot be taken back), and a failure
 * then is handled, never an unhandled rejection.
 *
 * @module
 */
import { Parked, parkWait, wake, wakeWithError, type ScopeNode, type WaitAborter, type WaitRegistrar } from "../core/index.js";
import { brokenByRedis, type RedisClientLike } from "./redis-client.js";
import type { RedisChannelShared } from "./redis-channel-shared.js";

/** @internal One send in flight: counted in `sendsInFlight` until its reply or its cancellation. */
class XaddWait extends Parked<void> implements WaitAborter, WaitRegistrar<void> {
  constructor(
    scope: ScopeNode | undefined,
    label: string,
    readonly shared: RedisChannelShared<unknown>,
    readonly client: RedisClientLike,
    readonly args: string[],
    readonly key: string,
  ) {
    super(scope, label);
    this.abort = this;
  }

  /** Cancelled: no wake-up follows (a late reply finds the wait settled). */
  abortWait(): boolean {
    this.shared.sendsInFlight--;
    return true;
  }

  /**
   * The park: sends the XADD. Its reply settles later (a round trip), so nothing wakes the wait
   * from inside here and nothing here throws (the precondition of an object registrar, park.ts).
   */
  registerWait(): void {
    const shared = this.shared;
    shared.sendsInFlight++;
    let reply: Promise<unknown>;
    try {
      reply = this.client.sendCommand(this.args);
    } catch (err) {
      reply = Promise.reject(err);
    }
    reply.then(
      () => {
        if (wake(this, undefined)) shared.sendsInFlight--;
      },
      (err: unknown) => {
        if (wakeWithError(this, brokenByRedis("RedisSendChannel.send()", this.key, err))) shared.sendsInFlight--;
      },
    );
  }
}

/**
 * @internal Sends `args` (an XADD) on `client` and parks the caller until its reply. The
 * caller has checked the scope for cancellation (parkWait checks again: one checkpoint).
 */
export function sendAndWait(
  client: RedisClientLike,
  args: string[],
  scope: ScopeNode | undefined,
  label: string,
  key: string,
  shared: RedisChannelShared<unknown>,
): Promise<void> {
  const wait = new XaddWait(scope, label, shared, client, args, key);
  return parkWait(wait, wait);
}
