/**
 * Acknowledgements, batched: the XACKs asked for in one microtask turn travel as one command
 * (with a hundred workers on a channel, one XACK of a hundred ids). An acknowledgement is
 * queued, not awaited: `ack()` returns once its id is here, and the XACK goes out on the
 * client at the end of the turn, in order with every other command of that client. A failed
 * XACK is reported to the receiver (which breaks: see StreamReceiver.ackFailed); its entries
 * stay pending in Redis and come back through XAUTOCLAIM after `claimIdleMs`.
 *
 * @module
 */
import type { RedisClientLike } from "./redis-client.js";

/** @internal */
export class AckBatcher {
  private ids: string[] = [];
  /** Settles (never rejects) when the reply to the last XACK sent has come. */
  private lastReply: Promise<void> | undefined = undefined;
  /** Asked for while acknowledgements wait for their XACK: settles when its reply has come. */
  private nextReply: Promise<void> | undefined = undefined;
  private resolveNextReply: (() => void) | undefined = undefined;

  constructor(
    private readonly client: RedisClientLike,
    private readonly key: string,
    private readonly group: string,
    /** Told of a failed XACK: the error and how many acknowledgements it carried. */
    private readonly onFailure: (err: unknown, count: number) => void,
  ) {}

  /** Queues an XACK of `id`: sent with the others of this microtask turn, at its end. */
  ack(id: string): void {
    this.ids.push(id);
    if (this.ids.length === 1) queueMicrotask(this.flush);
  }

  /**
   * Resolves once the replies to every XACK sent so far, and to the one that the
   * acknowledgements queued now will travel in, have come (undefined if none is on its way):
   * the receiver's read loop waits for it before its next read (see stream-receiver.ts).
   * Never rejects: a failure goes to `onFailure`.
   */
  replied(): Promise<void> | undefined {
    if (this.ids.length === 0) return this.lastReply;
    return (this.nextReply ??= new Promise<void>((resolve) => {
      this.resolveNextReply = resolve;
    }));
  }

  private readonly flush = (): void => {
    const ids = this.ids;
    this.ids = [];
    let sent: Promise<unknown>;
    try {
      sent = this.client.sendCommand(["XACK", this.key, this.group, ...ids]);
    } catch (err) {
      sent = Promise.reject(err);
    }
    // Replies on one connection come in order: the last one's settles after all the others'.
    const reply: Promise<void> = sent.then(
      () => {
        if (this.lastReply === reply) this.lastReply = undefined;
      },
      (err: unknown) => {
        if (this.lastReply === reply) this.lastReply = undefined;
        this.onFailure(err, ids.length);
      },
    );
    this.lastReply = reply;
    const resolveNext = this.resolveNextReply;
    if (resolveNext !== undefined) {
      this.nextReply = this.resolveNextReply = undefined;
      void reply.then(resolveNext);
    }
  };
}
