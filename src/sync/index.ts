// The sync layer's entry: re-exports only.
export {};
