// The channels layer's entry: re-exports only.
export { openChannel, type OpenChannelOptions } from "./open-channel.js";
export { SendChannel } from "./send-channel.js";
export { ReceiveChannel } from "./receive-channel.js";
export type { ChannelStatistics } from "./channel-state.js";
export { openAckChannel } from "./open-ack-channel.js";
export { AckReceiveChannel } from "./ack-receive-channel.js";
export type { Envelope, AckChannelStatistics } from "./ack-channel-state.js";
