/**
 * The ambient context (DESIGN.md choice 2): the innermost cancel scope of the running code,
 * carried by AsyncLocalStorage across awaits as Python's contextvars carry Trio's. The scope
 * knows its task and its run, so one pointer read answers "am I cancelled?".
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { CancelScope } from "./cancel-scope.js";

/** @internal */
export const scopeStorage = new AsyncLocalStorage<CancelScope>();

/** @internal The innermost scope of the calling code, `undefined` outside every scope and task. */
export function currentScope(): CancelScope | undefined {
  return scopeStorage.getStore();
}
