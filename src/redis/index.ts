// The "trellis/redis" entry: re-exports only. `redis` (node-redis) is an optional peer
// dependency of this subpath alone: nothing here imports it; the client is passed in.
export { openRedisChannel, type RedisChannelOptions } from "./open-redis-channel.js";
export { RedisSendChannel } from "./redis-send-channel.js";
export { RedisReceiveChannel } from "./redis-receive-channel.js";
export type { RedisClientLike } from "./redis-client.js";
export type { InvalidEntry } from "./stream-receiver.js";
export type { Envelope, AckChannelStatistics } from "../channels/index.js";
