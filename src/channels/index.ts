// The channels layer's entry: re-exports only.
export {};
