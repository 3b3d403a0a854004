/**
 * Who holds a lock or borrows a token: the running task, or — for code that runs outside every
 * trellis task (an Express handler, a plain script) — one shared anonymous holder.
 *
 * Trio requires a task. We cannot: every trellis API also works outside `run()`. But outside a
 * task we cannot tell two callers apart (there is no per-call identity that survives an
 * `await`), so all such code counts as one holder, {@link OUTSIDE_ANY_TASK}, which may hold
 * several permits at once and never "ends". The checks that need an identity — re-acquiring a
 * lock you hold, releasing one somebody else holds, borrowing a token twice — are therefore only
 * made between tasks, or between a task and outside code. Internal; not re-exported.
 *
 * @module
 */
import { currentTaskImpl, TaskImpl } from "../core/index.js";

/** The anonymous holder standing for all code that runs outside any trellis task. @internal */
export const OUTSIDE_ANY_TASK: { readonly name: string } = Object.freeze({ name: "(outside any task)" });

/** A task, or {@link OUTSIDE_ANY_TASK}. @internal */
export type Holder = TaskImpl<unknown> | typeof OUTSIDE_ANY_TASK;

/** The holder of the calling code. @internal */
export function currentHolder(): Holder {
  return currentTaskImpl() ?? OUTSIDE_ANY_TASK;
}

/** True when `holder` is a task that has finished (so it can never release). @internal */
export function hasEnded(holder: unknown): boolean {
  return holder instanceof TaskImpl && holder.state !== "running";
}

/** `task "worker" (#3)`, `code outside any task`, or a borrower shown as a value. @internal */
export function describeHolder(holder: unknown): string {
  if (holder === OUTSIDE_ANY_TASK) return "code outside any task";
  if (holder instanceof TaskImpl) {
    const ended = holder.state === "running" ? "" : `, which has ended (${holder.state})`;
    return `task "${holder.name}" (#${holder.id}${ended})`;
  }
  if (typeof holder === "string") return JSON.stringify(holder);
  if (typeof holder === "object" && holder !== null) {
    const name = (holder as { name?: unknown }).name;
    if (typeof name === "string") return `${holder.constructor?.name ?? "object"} "${name}"`;
    return Object.prototype.toString.call(holder);
  }
  return String(holder);
}

/** The name shown in `statistics()`: a task's name, or "(outside any task)". @internal */
export function holderName(holder: Holder | undefined): string | undefined {
  return holder?.name;
}
