// The "trellis/signals" entry: re-exports only.
export { openSignalReceiver } from "./open-signal-receiver.js";
export type { SignalReceiver, SignalReceiverStatistics } from "./signal-receiver.js";
export type { SignalName } from "./signal-names.js";
