/**
 * The debug task tree: a snapshot of every live task of a run, taken by walking the scope tree
 * from the root task (each scope knows its children and the waits parked in it). Nothing is
 * kept up to date for it: the walk happens when a tree is asked for, and the labels of waits
 * are formatted then (see `WaitDescriber` in park.ts). The one thing recorded as tasks run is
 * when each task parked, and only while `runtime.trackWaits` is on (debug mode, a served tree).
 *
 * Lives in core because `run(main, { debug: true })` prints it on SIGUSR2 without anyone
 * importing `trellis/debug`, which re-exports it.
 *
 * @module
 */
import { show } from "./validate.js";
import { ScopeNode } from "./cancel-scope.js";
import { currentScope } from "./context.js";
import { describeWait, type AnyParked } from "./park.js";
import { TaskImpl } from "./task.js";
import { GroupQueue } from "./limited-spawn.js";

/** One enclosing cancel scope of a task, as {@link TaskSnapshot.scopes} lists it. */
export interface ScopeSnapshot {
  /** The scope's (or task group's) name, if it was given one. */
  readonly name: string | undefined;
  /** Absolute deadline on the run's clock; `Infinity` for none. */
  readonly deadline: number;
  /** True while the scope is shielded from outer cancellation. */
  readonly shield: boolean;
  /** `cancel()` was called on this scope, or its deadline passed. */
  readonly cancelCalled: boolean;
  /** Code in this scope is cancelled (by this scope or one around it). */
  readonly cancelled: boolean;
}

/** One live task in a {@link TaskTree}. */
export interface TaskSnapshot {
  readonly id: number;
  readonly name: string;
  /** `"starting"` (spawned, body not run yet), `"running"` (running or runnable) or `"blocked"` (parked in a trellis wait). */
  readonly state: "starting" | "running" | "blocked";
  /** The id of the task that spawned it; `undefined` for the root task. */
  readonly parent: number | undefined;
  /** True when the code where the task is (its wait, or its body) is cancelled: its next checkpoint raises `Cancelled`. */
  readonly cancelled: boolean;
  /** Where it was spawned (with `run(main, { debug: true })`): stack lines of user code. */
  readonly spawnedAt: string | undefined;
  /** What it waits on (`sleep until 1234.5`, `Lock.acquire (held by task "db" #7)`), when blocked. */
  readonly waitingOn: string | undefined;
  /** When it parked, on the run's clock (recorded in debug mode and while a tree is served). */
  readonly waitingSince: number | undefined;
  /**
   * The cancel scopes around the task's current wait (or its body), innermost first, up to the
   * scope of the task that spawned it: nested scopes, timeouts, and the task group it is in.
   */
  readonly scopes: readonly ScopeSnapshot[];
  /** The tasks it spawned that are still alive, in spawn order. */
  readonly children: readonly TaskSnapshot[];
}

/** A snapshot of a run's live tasks, from {@link taskTree}. */
export interface TaskTree {
  /** When it was taken, on the run's clock (`currentTime()`). */
  readonly time: number;
  /** How many live tasks it holds. */
  readonly taskCount: number;
  /** The root task (`run()`'s `main`) and, below it, every live task; `undefined` outside `run()`. */
  readonly root: TaskSnapshot | undefined;
}

/**
 * A snapshot of every live task of the calling code's run: ids, names, states, what each
 * waits on and since when, where each was spawned (with `run(main, { debug: true })`), and the
 * cancel scopes around each. Outside any task, an empty tree. Never waits.
 *
 * @example
 * ```ts
 * import { taskTree, type TaskSnapshot } from "trellis/debug";
 * const blocked: string[] = [];
 * const visit = (t: TaskSnapshot): void => {
 *   if (t.state === "blocked") blocked.push(`${t.name}: ${t.waitingOn}`);
 *   t.children.forEach(visit);
 * };
 * const tree = taskTree();
 * if (tree.root !== undefined) visit(tree.root);
 * ```
 */
export function taskTree(): TaskTree {
  const scope = currentScope();
  return scope === undefined ? { time: performance.now(), taskCount: 0, root: undefined } : snapshotRun(rootTaskOf(scope));
}

/** @internal The root task of the run a scope belongs to. */
export function rootTaskOf(scope: ScopeNode): TaskImpl<unknown> | undefined {
  let top: ScopeNode = scope;
  while (top.outer !== undefined) top = top.outer;
  return top instanceof TaskImpl ? top : top.task;
}

/** @internal A snapshot of the live tasks under `root` (a run's root task). */
export function snapshotRun(root: TaskImpl<unknown> | undefined): TaskTree {
  if (root === undefined) return { time: performance.now(), taskCount: 0, root: undefined };
  const counter = { count: 0, current: currentScope() };
  const time = root.runtime.now();
  const snapshot = root.state === "running" ? snapshotTask(root, counter) : undefined;
  return { time, taskCount: counter.count, root: snapshot };
}

interface Walk {
  count: number;
  /** The scope of the code taking the snapshot: where its own task is. */
  readonly current: ScopeNode | undefined;
}

function snapshotTask(task: TaskImpl<unknown>, counter: Walk): TaskSnapshot {
  counter.count++;
  const waits: AnyParked[] = [];
  const children: TaskSnapshot[] = [];
  // The task's own scopes (nested scopes, groups it opened), down to the root scopes of other tasks.
  const stack: ScopeNode[] = [task];
  for (let scope = stack.pop(); scope !== undefined; scope = stack.pop()) {
    for (let m = scope.firstMember; m !== undefined; m = m.nextInScope) {
      if (m instanceof ScopeNode) continue;
      // Tasks a group spawned with a limiter that wait for a token: children, not waits.
      if (m instanceof GroupQueue) for (const queued of m.queued()) children.push(snapshotQueued(queued, m, counter));
      else if (!m.settled && m.task === task) waits.push(m);
    }
    for (let m = scope.firstMember; m !== undefined; m = m.nextInScope) {
      if (!(m instanceof ScopeNode)) continue;
      const child = m;
      if (child instanceof TaskImpl && child !== task) {
        if (child.state === "running") children.push(snapshotTask(child, counter));
      } else stack.push(child);
    }
  }
  children.sort((a, b) => a.id - b.id);
  const blocked = task.parks > 0 && waits.length > 0;
  // Where the task is: the scope it waits in, the scope of the code taking this snapshot, or its root.
  const inner = blocked ? waits[0]!.scope! : counter.current?.task === task ? counter.current : task;
  return {
    id: task.id,
    name: task.name,
    state: task.body !== undefined ? "starting" : blocked ? "blocked" : "running",
    parent: task.parent?.id,
    cancelled: inner.cause !== null,
    spawnedAt: task.spawnStack?.replace(/^ +/gm, ""),
    waitingOn: blocked ? waits.map(describeWait).join(", ") : undefined,
    waitingSince: blocked ? task.waitingSince : undefined,
    scopes: enclosingScopes(inner, task),
    children,
  };
}

/** A task spawned with a limiter, still waiting for a token: outside the scope tree until admitted. */
function snapshotQueued(task: TaskImpl<unknown>, group: GroupQueue, counter: Walk): TaskSnapshot {
  counter.count++;
  const scope = group.scope!;
  return {
    id: task.id,
    name: task.name,
    state: "blocked",
    parent: task.parent?.id,
    cancelled: scope.cause !== null,
    spawnedAt: task.spawnStack?.replace(/^ +/gm, ""),
    waitingOn: describeWait(group),
    waitingSince: task.waitingSince,
    scopes: enclosingScopes(scope, task),
    children: [],
  };
}

/** The scopes from `inner` outward, skipping task roots, up to the root of the task that spawned `task`. */
function enclosingScopes(inner: ScopeNode, task: TaskImpl<unknown>): ScopeSnapshot[] {
  const out: ScopeSnapshot[] = [];
  for (let scope: ScopeNode | undefined = inner; scope !== undefined; scope = scope.outer) {
    if (scope instanceof TaskImpl) {
      if (scope !== task) break;
      continue;
    }
    out.push({
      name: scope.name,
      deadline: scope.deadline,
      shield: scope.shield,
      cancelCalled: scope.cancelCalled,
      cancelled: scope.cause !== null,
    });
  }
  return out;
}

// ---- text ----------------------------------------------------------------------------------

/**
 * Draws a task tree as indented text, one task per line (`#3 "db" blocked 12.0 ms on
 * Lock.acquire (held by task "x" #7)`), with its scopes and spawn site under it. Takes a new
 * snapshot of the calling code's run when no tree is given. Never waits.
 *
 * @example
 * ```ts
 * import { formatTaskTree } from "trellis/debug";
 * process.stderr.write(formatTaskTree());
 * ```
 */
export function formatTaskTree(tree?: TaskTree): string {
  if (tree != null && (typeof tree !== "object" || typeof (tree as Partial<TaskTree>).taskCount !== "number")) {
    throw new TypeError(`formatTaskTree(): \`tree\` must be a tree returned by taskTree() (or omitted for the current one), got ${show(tree)}`);
  }
  const t = tree ?? taskTree();
  if (t.root === undefined) return "trellis task tree: no live tasks (called outside run(), or the run has finished)\n";
  const noun = t.taskCount === 1 ? "task" : "tasks";
  const lines = [`trellis task tree at ${formatTime(t.time)} ms (${t.taskCount} live ${noun}):`];
  drawTask(t.root, "", "", t.time, lines);
  return `${lines.join("\n")}\n`;
}

function drawTask(task: TaskSnapshot, first: string, rest: string, now: number, lines: string[]): void {
  lines.push(`${first}${headline(task, now)}`);
  const detailPrefix = rest + (task.children.length > 0 ? "│  " : "   ");
  if (task.scopes.length > 0) lines.push(`${detailPrefix}in ${task.scopes.map((s) => describeScope(s, now)).join(" < ")}`);
  if (task.spawnedAt !== undefined) for (const line of task.spawnedAt.split("\n")) lines.push(`${detailPrefix}${line}`);
  task.children.forEach((child, i) => {
    const last = i === task.children.length - 1;
    drawTask(child, `${rest}${last ? "└─ " : "├─ "}`, `${rest}${last ? "   " : "│  "}`, now, lines);
  });
}

function headline(task: TaskSnapshot, now: number): string {
  let line = `#${task.id} ${JSON.stringify(task.name)} ${task.state}`;
  if (task.state === "blocked") {
    if (task.waitingSince !== undefined) line += ` ${formatTime(now - task.waitingSince)} ms`;
    line += ` on ${task.waitingOn}`;
  }
  if (task.cancelled) line += " [cancelled]";
  return line;
}

function describeScope(scope: ScopeSnapshot, now: number): string {
  const parts = [scope.name === undefined ? "scope" : JSON.stringify(scope.name)];
  if (scope.deadline !== Infinity) parts.push(`deadline ${formatTime(scope.deadline)} (in ${formatTime(scope.deadline - now)} ms)`);
  if (scope.shield) parts.push("shielded");
  if (scope.cancelCalled) parts.push("cancel called");
  else if (scope.cancelled) parts.push("cancelled");
  return parts.join(" ");
}

function formatTime(ms: number): string {
  return Number.isFinite(ms) ? ms.toFixed(1) : String(ms);
}
