/**
 * The ambient context (DESIGN.md choice 2): the innermost cancel scope of the running code,
 * carried by AsyncLocalStorage across awaits as Python's contextvars carry Trio's. The scope
 * knows its task and its run, so one pointer read answers "am I cancelled?".
 *
 * @module
 */
import { AsyncLocalStorage, AsyncResource } from "node:async_hooks";
import type { ScopeNode } from "./cancel-scope.js";

/** @internal */
export const scopeStorage = new AsyncLocalStorage<ScopeNode | undefined>();

/** @internal The innermost scope of the calling code, `undefined` outside every scope and task. */
export function currentScope(): ScopeNode | undefined {
  return scopeStorage.getStore();
}

/**
 * @internal True where AsyncLocalStorage keeps contexts in immutable frames (AsyncContextFrame,
 * the default from Node 24): there `enterWith` in a promise reaction changes the context of
 * that reaction alone, which lets a task start with one frame instead of `run()`'s two (see
 * task.ts). Node 20 and 22 keep stores on async resources instead, and a reaction may run on
 * the resource of the whole surrounding callback: there `enterWith` would leak the task's
 * context into unrelated code, so tasks start with `run()`.
 *
 * Found by behaviour, not by version (`--no-async-context-frame` exists): a store entered
 * inside a resource's scope persists on the resource only where stores live on resources.
 */
export const contextFramesAreImmutable: boolean = (() => {
  const probe = new AsyncLocalStorage<number>();
  const resource = new AsyncResource("trellis.probe");
  resource.runInAsyncScope(() => probe.enterWith(1));
  const persisted = resource.runInAsyncScope(() => probe.getStore()) === 1;
  probe.disable();
  return !persisted;
})();
