/**
 * Acknowledgements, batched: the XACKs asked for in one microtask turn travel as one command
 * (with a hundred workers on a channel, one XACK of a hundred ids), and the acks of a batch
 * wait on one queue for its reply — one listener per batch, no closure per acknowledgement.
 *
 * @module
 */
import { BrokenResourceError, WaitQueue, completeCheckpoint, type ScopeNode } from "../core/index.js";
import { brokenByRedis, type RedisClientLike } from "./redis-client.js";

/** The acknowledgements sent in one XACK, waiting for its reply. */
class AckBatch extends WaitQueue {
  done = false;
  error: BrokenResourceError | undefined = undefined;
}

/** @internal */
export class AckBatcher {
  private ids: string[] = [];
  private batch: AckBatch | undefined = undefined;
  /** Settles (never rejects) when the reply to the last XACK sent has come. */
  private lastReply: Promise<void> | undefined = undefined;
  /** Asked for while acknowledgements wait to be sent: settles when their XACK's reply has come. */
  private nextReply: Promise<void> | undefined = undefined;
  private resolveNextReply: (() => void) | undefined = undefined;
  /** What a waiting ack shows in the task tree (made once, not per acknowledgement). */
  private readonly label: string;

  constructor(
    private readonly client: RedisClientLike,
    private readonly key: string,
    private readonly group: string,
  ) {
    this.label = `Envelope.ack() on Redis stream "${key}"`;
  }

  /** Queues an XACK of `id`; returns the batch to wait on (see {@link AckBatcher.wait}). */
  ack(id: string): WaitQueue {
    this.ids.push(id);
    if (this.ids.length === 1) {
      this.batch = new AckBatch();
      queueMicrotask(this.flush);
    }
    return this.batch!;
  }

  /** Waits, as a checkpoint, for the reply to the XACK of `batch` (at once if it has come). */
  wait(batch: WaitQueue, scope: ScopeNode | undefined): Promise<void> {
    const b = batch as AckBatch;
    if (b.error !== undefined) return Promise.reject(b.error);
    if (b.done) return completeCheckpoint(scope);
    return b.park<void>(this.label, undefined, scope);
  }

  /**
   * Resolves once the replies to every XACK sent so far, and to the one that the
   * acknowledgements queued now will travel in, have come (undefined if none is on its way):
   * the receiver's read loop waits for it before its next read (see stream-receiver.ts).
   * Never rejects: a failure is its acknowledgements' business.
   */
  replied(): Promise<void> | undefined {
    if (this.ids.length === 0) return this.lastReply;
    return (this.nextReply ??= new Promise<void>((resolve) => {
      this.resolveNextReply = resolve;
    }));
  }

  private readonly flush = (): void => {
    const ids = this.ids;
    const batch = this.batch!;
    this.ids = [];
    this.batch = undefined;
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
        batch.done = true;
        batch.wakeMany(Infinity, undefined);
      },
      (err: unknown) => {
        if (this.lastReply === reply) this.lastReply = undefined;
        const error = brokenByRedis("Envelope.ack()", this.key, err);
        batch.error = error;
        batch.breakAll(() => error);
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
