/**
 * What the send and receive handles of one Redis channel share: the receiving engine, the
 * count of open send handles and of sends in flight, and the statistics they report.
 *
 * @module
 */
import type { AckChannelStatistics } from "../channels/index.js";
import type { StreamReceiver } from "./stream-receiver.js";

/** @internal */
export class RedisChannelShared<T> {
  openSendHandles = 0;
  sendsInFlight = 0;
  /** What a waiting send shows in the task tree (made once, not per send). */
  readonly sendLabel: string;

  constructor(
    readonly receiver: StreamReceiver<T>,
    readonly maxLen: number | undefined,
    readonly serialize: (value: T) => string,
  ) {
    this.sendLabel = `send on Redis stream "${receiver.settings.key}" (XADD)`;
  }

  statistics(): AckChannelStatistics {
    const r = this.receiver.statistics();
    return {
      currentBufferUsed: r.buffered,
      maxBufferSize: this.receiver.settings.prefetch,
      openSendChannels: this.openSendHandles,
      openReceiveChannels: this.receiver.openHandles,
      tasksWaitingSend: this.sendsInFlight,
      tasksWaitingReceive: r.waiting,
      inFlight: r.inFlight,
    };
  }
}
