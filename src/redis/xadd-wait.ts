/**
 * A send waiting for the reply to its XADD: the wait and its withdrawal in one object (no
 * async function, no `wait()` of a foreign promise: one wait and one pair of reply handlers
 * per value). Cancelled, the sender leaves at once; the reply, when it comes, is dropped (the
 * value may or may not have been added: a round trip cannot be taken back), and a failure
 * then is handled, never an unhandled rejection.
 *
 * @module
 */
import { Parked, parkPrepared, wake, wakeWithError, type CancelScope, type WaitAborter } from "../core/index.js";
import { brokenByRedis, type RedisClientLike } from "./redis-client.js";
import type { RedisChannelShared } from "./redis-channel-shared.js";

/** @internal One send in flight: counted in `sendsInFlight` until its reply or its cancellation. */
class XaddWait extends Parked<void> implements WaitAborter {
  constructor(
    scope: CancelScope | undefined,
    label: string,
    readonly shared: RedisChannelShared<unknown>,
  ) {
    super(scope, label);
  }

  /** Cancelled: no wake-up follows (a late reply finds the wait settled). */
  abortWait(): boolean {
    this.shared.sendsInFlight--;
    return true;
  }
}

/**
 * @internal Sends `args` (an XADD) on `client` and parks the caller until its reply. The
 * caller has checked the scope for cancellation (this is the rest of the checkpoint).
 */
export function sendAndWait(
  client: RedisClientLike,
  args: string[],
  scope: CancelScope | undefined,
  label: string,
  key: string,
  shared: RedisChannelShared<unknown>,
): Promise<void> {
  const w = new XaddWait(scope, label, shared);
  const promise = w.makePromise();
  w.abort = w;
  shared.sendsInFlight++;
  let reply: Promise<unknown>;
  try {
    reply = client.sendCommand(args);
  } catch (err) {
    reply = Promise.reject(err);
  }
  // Settles later (a round trip), so nothing wakes the wait before parkPrepared links it.
  reply.then(
    () => {
      if (wake(w, undefined)) shared.sendsInFlight--;
    },
    (err: unknown) => {
      if (wakeWithError(w, brokenByRedis("RedisSendChannel.send()", key, err))) shared.sendsInFlight--;
    },
  );
  return parkPrepared(w, promise);
}
