/**
 * How the sync primitives show themselves in `console.log` and `util.inspect`: their class name
 * followed by their live `statistics()`, e.g. `Lock { locked: true, owner: 'worker', tasksWaiting: 2 }`.
 *
 * @module
 */

/** Node's `util.inspect.custom` (Symbol.for, so no import of node:util is needed). @internal */
export const inspectCustom: unique symbol = Symbol.for("nodejs.util.inspect.custom");

/** The `inspect` function Node passes as the third argument of a custom inspector. @internal */
export type InspectFn = (value: unknown, options?: object) => string;

/** `Name { …state… }`; falls back to JSON when called without Node's `inspect`. @internal */
export function formatState(name: string, state: object, options: object | undefined, inspect: InspectFn | undefined): string {
  return `${name} ${inspect !== undefined ? inspect(state, options) : JSON.stringify(state)}`;
}

/**
 * Installs `fn` as the custom inspector of `cls`'s instances, on the prototype rather than as a
 * class member, so the published type does not show it. Call it in a `static {}` block of the
 * class (where private members are in reach). @internal
 */
export function defineInspect<T>(cls: { prototype: T }, fn: (this: T, depth: number, options: object, inspect?: InspectFn) => string): void {
  Object.defineProperty(cls.prototype, inspectCustom, { value: fn, writable: true, configurable: true });
}
