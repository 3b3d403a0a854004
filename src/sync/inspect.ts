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
