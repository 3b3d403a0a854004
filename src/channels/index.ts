// The channels layer's entry: re-exports only.
export { openChannel, type OpenChannelOptions } from "./open-channel.js";
export { SendChannel } from "./send-channel.js";
export { ReceiveChannel } from "./receive-channel.js";
export type { ChannelStatistics } from "./channel-state.js";
