// trellis/debug: taskTree() and formatTaskTree() (API.md §3 "trellis/debug"): every live task,
// what it waits on (specific labels) and since when, its scopes, and where it was spawned.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CancelScope,
  CapacityLimiter,
  Event,
  Lock,
  moveOnAfter,
  openChannel,
  run,
  Semaphore,
  sleep,
  sleepForever,
  wait,
  withTaskGroup,
} from "../../src/index.js";
import { formatTaskTree, taskTree, type TaskSnapshot, type TaskTree } from "../../src/debug/index.js";
import { MockClock, waitAllTasksBlocked } from "../../src/testing/index.js";

/** Every task of a tree, depth first. */
function flatten(tree: TaskTree): TaskSnapshot[] {
  const out: TaskSnapshot[] = [];
  const visit = (t: TaskSnapshot) => {
    out.push(t);
    t.children.forEach(visit);
  };
  if (tree.root !== undefined) visit(tree.root);
  return out;
}

function byName(tree: TaskTree, name: string): TaskSnapshot {
  const task = flatten(tree).find((t) => t.name === name);
  assert.ok(task, `no task named ${name} in ${formatTaskTree(tree)}`);
  return task;
}

describe("taskTree", () => {
  test("lists every live task with a specific label for what it waits on", async () => {
    const clock = new MockClock();
    clock.jump(1000);
    let tree: TaskTree | undefined;
    await run(
      () =>
        withTaskGroup(
          async (tg) => {
            const lock = new Lock();
            const event = new Event();
            const semaphore = new Semaphore(0);
            const limiter = new CapacityLimiter(1);
            const [send, receive] = openChannel<number>(0, { name: "jobs" });
            const [, unnamedReceive] = openChannel<number>(2);
            const never = new Promise<never>(() => {});
            tg.spawn(async () => {
              await lock.acquire();
              await sleep(234.5);
            }, { name: "db" });
            tg.spawn(async () => {
              await limiter.acquire();
              await sleepForever();
            }, { name: "limiter holder" });
            tg.spawn(() => lock.acquire(), { name: "writer" });
            tg.spawn(() => receive.receive(), { name: "consumer" });
            tg.spawn(() => unnamedReceive.receive(), { name: "unnamed consumer" });
            tg.spawn(() => event.wait(), { name: "event waiter" });
            tg.spawn(() => semaphore.acquire(), { name: "semaphore waiter" });
            tg.spawn(() => limiter.acquire(), { name: "limiter waiter" });
            tg.spawn(() => moveOnAfter(1, () => wait(never)), { name: "foreign" });
            tg.spawn(async () => {
              await withTaskGroup(async (inner) => {
                inner.spawn(() => sleepForever(), { name: "forever" });
              });
            }, { name: "inner group" });
            await waitAllTasksBlocked();
            tree = taskTree();
            tg.cancel();
            void send;
          },
          { name: "workers" },
        ),
      { clock, handleSignals: false },
    );
    assert.ok(tree);
    assert.equal(tree.time, 1000);
    assert.equal(tree.taskCount, 12, formatTaskTree(tree));
    const main = tree.root!;
    assert.equal(main.name, "main");
    assert.equal(main.parent, undefined);
    assert.equal(main.state, "running", "the task taking the snapshot is running");
    assert.deepEqual(main.scopes, [{ name: "workers", deadline: Infinity, shield: false, cancelCalled: false, cancelled: false }]);
    assert.deepEqual(
      main.children.map((c) => c.name),
      ["db", "limiter holder", "writer", "consumer", "unnamed consumer", "event waiter", "semaphore waiter", "limiter waiter", "foreign", "inner group"],
    );
    const db = byName(tree, "db");
    assert.equal(db.waitingOn, "sleep until 1234.5");
    assert.equal(db.parent, main.id);
    assert.equal(byName(tree, "writer").waitingOn, `Lock.acquire (held by task "db" #${db.id})`);
    assert.equal(byName(tree, "consumer").waitingOn, 'receive on channel "jobs"');
    assert.equal(byName(tree, "unnamed consumer").waitingOn, "receive on an unnamed channel (capacity 2)");
    assert.equal(byName(tree, "event waiter").waitingOn, "Event.wait");
    assert.equal(byName(tree, "semaphore waiter").waitingOn, "Semaphore.acquire");
    assert.equal(byName(tree, "limiter waiter").waitingOn, "CapacityLimiter.acquire");
    assert.equal(byName(tree, "foreign").waitingOn, "wait(promise)");
    assert.equal(byName(tree, "inner group").waitingOn, "task group join");
    const forever = byName(tree, "forever");
    assert.equal(forever.waitingOn, "sleepForever");
    assert.equal(forever.parent, byName(tree, "inner group").id);
    for (const t of flatten(tree)) assert.equal(t.cancelled, false);
  });

  test("shows each enclosing scope's deadline, shield and cancellation", async () => {
    const clock = new MockClock();
    let tree: TaskTree | undefined;
    await run(
      () =>
        withTaskGroup(
          async (tg) => {
            tg.spawn(
              () =>
                moveOnAfter(500, () =>
                  new CancelScope({ shield: true, name: "cleanup" }).run(async (cleanup) => {
                    await sleep(1);
                    cleanup.cancel("done");
                  }),
                ),
              { name: "shielded" },
            );
            await waitAllTasksBlocked();
            tg.cancel("stop");
            tree = taskTree();
            clock.jump(1); // the shielded sleep ends, and the cleanup scope cancels itself
          },
          { name: "outer" },
        ),
      { clock, handleSignals: false },
    );
    const shielded = byName(tree!, "shielded");
    assert.equal(shielded.cancelled, false, "its wait is inside the shield, so it is not cancelled");
    assert.deepEqual(shielded.scopes, [
      { name: "cleanup", deadline: Infinity, shield: true, cancelCalled: false, cancelled: false },
      { name: undefined, deadline: 500, shield: false, cancelCalled: false, cancelled: true },
      { name: "outer", deadline: Infinity, shield: false, cancelCalled: true, cancelled: true },
    ]);
    const text = formatTaskTree(tree);
    assert.match(text, /in "cleanup" shielded < scope deadline 500\.0 \(in 500\.0 ms\) cancelled < "outer" cancel called/);
    assert.match(text, /#\d+ "main" running \[cancelled\]/);
  });

  test("with debug: true, records since when each task waits and where it was spawned", async () => {
    const clock = new MockClock();
    let tree: TaskTree | undefined;
    await run(
      () =>
        withTaskGroup(async (tg) => {
          tg.spawn(() => sleep(100), { name: "napper" });
          await waitAllTasksBlocked();
          clock.jump(40);
          tree = taskTree();
          clock.jump(60);
        }),
      { clock, handleSignals: false, debug: { slowMs: Infinity } },
    );
    const napper = byName(tree!, "napper");
    assert.equal(napper.waitingSince, 0);
    assert.match(napper.spawnedAt ?? "", /^spawned at .*task-tree\.test\.js/);
    const text = formatTaskTree(tree);
    assert.match(text, /#\d+ "napper" blocked 40\.0 ms on sleep until 100\.0/);
    assert.match(text, /\n {3,}spawned at .*task-tree\.test\.js/);
  });

  test("without debug, records no spawn site and no wait time", async () => {
    let tree: TaskTree | undefined;
    await run(
      () =>
        withTaskGroup(async (tg) => {
          tg.spawn(() => sleep(10_000), { name: "napper" });
          await waitAllTasksBlocked();
          tree = taskTree();
          tg.cancel();
        }),
      { clock: new MockClock(), handleSignals: false },
    );
    const napper = byName(tree!, "napper");
    assert.equal(napper.spawnedAt, undefined);
    assert.equal(napper.waitingSince, undefined);
    assert.match(formatTaskTree(tree), /"napper" blocked on sleep until 10000\.0/);
  });

  test("a task spawned but not started yet is 'starting'; the one taking the snapshot is 'running'", async () => {
    let tree: TaskTree | undefined;
    await run(
      () =>
        withTaskGroup(async (tg) => {
          tg.spawn(() => sleep(0), { name: "fresh" });
          tree = taskTree();
        }),
      { handleSignals: false },
    );
    assert.equal(byName(tree!, "fresh").state, "starting");
    assert.equal(tree!.root!.state, "running");
    assert.equal(tree!.root!.waitingOn, undefined);
  });

  test("draws the tree with box characters, children in spawn order", async () => {
    let text = "";
    await run(
      () =>
        withTaskGroup(async (tg) => {
          tg.spawn(async () => {
            await withTaskGroup(async (inner) => {
              inner.spawn(() => sleepForever(), { name: "leaf" });
            });
          }, { name: "a" });
          tg.spawn(() => sleepForever(), { name: "b" });
          await waitAllTasksBlocked();
          text = formatTaskTree();
          tg.cancel();
        }),
      { clock: new MockClock(), handleSignals: false },
    );
    const lines = text.trimEnd().split("\n");
    assert.match(lines[0]!, /^trellis task tree at 0\.0 ms \(4 live tasks\):$/);
    assert.match(lines[1]!, /^#\d+ "main" running$/);
    assert.match(lines[2]!, /^│ {2}in scope$/);
    assert.match(lines[3]!, /^├─ #\d+ "a" blocked on task group join$/);
    assert.match(lines[4]!, /^│ {2}│ {2}in scope < scope$/, "its own group's scope, then the group it is in");
    assert.match(lines[5]!, /^│ {2}└─ #\d+ "leaf" blocked on sleepForever$/);
    assert.match(lines[7]!, /^└─ #\d+ "b" blocked on sleepForever$/);
  });

  test("outside run(), the tree is empty and says so", () => {
    const tree = taskTree();
    assert.equal(tree.root, undefined);
    assert.equal(tree.taskCount, 0);
    assert.match(formatTaskTree(tree), /no live tasks/);
  });

  test("finished tasks leave the tree", async () => {
    let tree: TaskTree | undefined;
    await run(
      () =>
        withTaskGroup(async (tg) => {
          const done = tg.spawn(() => sleep(1), { name: "quick" });
          tg.spawn(() => sleep(1000), { name: "slow" });
          await done.result();
          tree = taskTree();
          tg.cancel();
        }),
      { clock: new MockClock({ autojumpThreshold: 0 }), handleSignals: false },
    );
    assert.deepEqual(flatten(tree!).map((t) => t.name), ["main", "slow"]);
  });
});

test("formatTaskTree() refuses what is not a task tree with a TypeError naming `tree` (null and undefined: the current tree)", () => {
  for (const bad of [5, "tree", {}, { root: undefined }]) {
    assert.throws(() => formatTaskTree(bad as never), (e: unknown) => e instanceof TypeError && /`tree` must be a tree returned by taskTree\(\)/.test((e as Error).message));
  }
  assert.match(formatTaskTree(null as never), /no live tasks/);
  assert.match(formatTaskTree(), /no live tasks/);
});
