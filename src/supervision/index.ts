// The supervision layer's entry: re-exports only.
export {};
