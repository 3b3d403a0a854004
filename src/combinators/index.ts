// The combinators layer's entry: re-exports only.
export {};
