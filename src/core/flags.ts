/**
 * The bits of `ScopeNode.flags`: a scope's and a task's small state in one int. On Node without
 * pointer compression every field of an object costs 8 bytes, and a task (which is its own root
 * scope) is made a hundred thousand times a second: four booleans and enums as fields were 32
 * bytes of each task, one int is 8.
 *
 * Layout, from the lowest bit: the scope's phase (2 bits), shielded, cancel called; then a
 * task's state (2 bits), whether its checkpoints are counted, whether it records its own
 * spawner, whether its details are made, whether the scope is a task; and above all of them the number
 * of the task's parked waits, as a multiple of {@link PARK_ONE}. The park count is unbounded,
 * so `flags` may in principle pass 2^31, where bit operations would truncate it: every update
 * is therefore an addition, a subtraction or a remainder (exact up to 2^53), and `&` is used
 * only to read bits below {@link PARK_ONE}, which the truncation to 32 bits keeps.
 *
 * @internal
 * @module
 */

/** The phase of a scope: 0 new, {@link RUNNING}, {@link EXITED}. */
export const PHASE_MASK = 3;
export const RUNNING = 1;
export const EXITED = 2;
/** While set, cancellation of outer scopes does not reach code inside the scope. */
export const SHIELDED = 4;
/** `cancel()` was called on the scope, or its deadline passed. */
export const CANCEL_CALLED = 8;

/** A task's state: 0 running (or about to start), {@link DONE}, {@link FAILED}, {@link CANCELLED}. */
export const STATE_MASK = 48;
export const STATE_SHIFT = 4;
export const DONE = 16;
export const FAILED = 32;
export const CANCELLED = 48;
/** The task's checkpoints are counted (see countCheckpoint in checkpoint.ts). */
export const COUNTING = 64;
/** The task's spawner is recorded in its details, not its owner's usual one (see TaskOwner). */
export const OWN_PARENT = 128;
/** The task's details are made: its one slot holds them (see TaskImpl.slot). */
export const HAS_DETAILS = 256;
/** The scope is a task's root scope, i.e. the task itself (see `taskOf` in cancel-scope.ts). */
export const IS_TASK = 512;
/** One parked wait of the task: `flags >= PARK_ONE` means the task is blocked. */
export const PARK_ONE = 1024;

/** `flags` with `bits` set (they must be clear) or cleared (they must be set). */
export function withBit(flags: number, bit: number, on: boolean): number {
  return ((flags & bit) !== 0) === on ? flags : on ? flags + bit : flags - bit;
}
