// The "floor" systems: the least that any library pays for DESIGN.md's task model, written
// by hand, with nothing of trellis in it. A task there is
//
//   - its own AsyncLocalStorage context (DESIGN choice 2: the current task travels with the
//     async context), entered once per task, as cheaply as Node allows: `enterWith` inside
//     the microtask that starts the task (one AsyncContextFrame; `als.run()` would make two);
//   - a record owned by its group, of the size of a bare task object (a name, a state, a
//     parent, links for the tree; no cancellation logic at all);
//   - spawned from code that has a context of its own (a group body runs in its task's),
//     so each task's frame is a copy of a frame that holds a store;
//   - a start in a later microtask ("no code of fn runs synchronously inside spawn") and a
//     reaction on the body's promise that reports the end to the group (no error is lost).
//
// The body is raw's own code. So `floor ms / raw ms` is what the task model costs before any
// feature (cancel scopes, deadlines, checkpoints, statistics); a goal below it cannot be met
// by one task per unit of work on AsyncLocalStorage, however the library is written.

import { AsyncLocalStorage } from "node:async_hooks";

const storage = new AsyncLocalStorage();
const settled = Promise.resolve();

/** A task record of the size trellis needs at the least. */
class FloorTask {
  constructor(group, fn, parent) {
    this.group = group;
    this.fn = fn;
    this.parent = parent;
    this.state = 0;
    this.outcome = undefined;
    this.name = fn.name;
    this.outer = undefined;
    this.next = undefined;
    this.prev = undefined;
  }
}

/** Tasks about to start, in spawn order: the n-th start reaction starts the n-th task. */
let queue = [];
let head = 0;

function startNext() {
  const task = queue[head];
  queue[head++] = undefined;
  if (head === queue.length) {
    queue = [];
    head = 0;
  }
  storage.enterWith(task);
  task.fn().then(taskReturned, taskThrew);
}

function taskReturned(value) {
  end(storage.getStore(), 1, value);
}

function taskThrew(err) {
  end(storage.getStore(), 2, err);
}

function end(task, state, outcome) {
  task.state = state;
  task.outcome = outcome;
  const group = task.group;
  if (state === 2) group.errors.push(outcome);
  if (--group.live === 0) group.done();
}

/**
 * Runs `body(spawn)` and resolves once every task it spawned has ended (rejects with the first
 * error): a task group reduced to what the floor needs.
 */
export function floorGroup(body) {
  return new Promise((resolve, reject) => {
    const group = { live: 1, errors: [], done: () => (group.errors.length ? reject(group.errors[0]) : resolve()) };
    const spawn = (fn) => {
      group.live++;
      queue.push(new FloorTask(group, fn, storage.getStore()));
      void settled.then(startNext);
    };
    // The body runs in a context of its own, as a group body runs in its task's: so each
    // task's frame is derived from a frame that holds a store, as in any nested spawn.
    storage.run(group, body, spawn);
    if (--group.live === 0) group.done();
  });
}
