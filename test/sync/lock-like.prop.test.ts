// Property tests: random programs of acquire / tryAcquire / release / cancel over several tasks,
// run against Lock, Semaphore and CapacityLimiter and checked step by step against a tiny model
// (a set of holders and a FIFO line): never more holders than permits, grants in FIFO order,
// cancelled waiters neither take nor lose a permit, and everything back to idle at the end.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CancelScope, CapacityLimiter, Lock, run, Semaphore, wait, withTaskGroup, WouldBlock } from "../../src/index.js";
import { settle } from "./support.js";

const SEED = 42;
const WORKERS = 4;

interface Permits {
  acquire(): Promise<void>;
  tryAcquire(): void;
  release(): void;
  statistics(): object;
}

type Kind = "acquire" | "try" | "release" | "cancel" | "releaseAndCancel";
interface Op {
  readonly kind: Kind;
  readonly worker: number;
  /** For releaseAndCancel: the waiter cancelled in the same tick as the release. */
  readonly other: number;
}
type State = "idle" | "waiting" | "holding";
type Command = { kind: "acquire" | "try" | "release" | "stop" } | { kind: "releaseAndCancel"; other: Worker };

/** A task that performs the commands the test sends it, so that releases come from the holder. */
class Worker {
  state: State = "idle";
  scope: CancelScope | undefined = undefined;
  private deliver: ((command: Command) => void) | undefined = undefined;

  constructor(
    readonly id: number,
    private readonly permits: Permits,
    private readonly shared: { inside: number; most: number; grants: number[] },
  ) {}

  send(command: Command): void {
    const deliver = this.deliver;
    assert.ok(deliver !== undefined, `worker ${this.id} is busy (state ${this.state})`);
    this.deliver = undefined;
    deliver(command);
  }

  async loop(): Promise<void> {
    for (;;) {
      const command = await wait(new Promise<Command>((resolve) => (this.deliver = resolve)));
      switch (command.kind) {
        case "stop":
          return;
        case "acquire": {
          this.state = "waiting";
          const scope = (this.scope = new CancelScope());
          let granted = false;
          await scope.run(async () => {
            await this.permits.acquire();
            granted = true;
          });
          this.scope = undefined;
          if (granted) this.enter();
          else this.state = "idle";
          break;
        }
        case "try":
          try {
            this.permits.tryAcquire();
            this.enter();
          } catch (err) {
            if (!(err instanceof WouldBlock)) throw err;
          }
          break;
        case "release":
          this.leave();
          break;
        case "releaseAndCancel":
          this.leave();
          command.other.scope?.cancel();
          break;
      }
    }
  }

  private enter(): void {
    this.state = "holding";
    this.shared.grants.push(this.id);
    this.shared.most = Math.max(this.shared.most, ++this.shared.inside);
  }

  private leave(): void {
    this.state = "idle";
    this.shared.inside--;
    this.permits.release();
  }
}

/** The model: who holds a permit, and the FIFO line of waiters. */
class Model {
  readonly holders = new Set<number>();
  readonly line: number[] = [];
  readonly grants: number[] = [];
  constructor(private readonly permits: number) {}

  state(id: number): State {
    if (this.holders.has(id)) return "holding";
    return this.line.includes(id) ? "waiting" : "idle";
  }
  private free(): boolean {
    return this.holders.size < this.permits && this.line.length === 0;
  }
  private grant(id: number): void {
    this.holders.add(id);
    this.grants.push(id);
  }
  acquire(id: number): void {
    if (this.free()) this.grant(id);
    else this.line.push(id);
  }
  try(id: number): void {
    if (this.free()) this.grant(id);
  }
  release(id: number): void {
    this.holders.delete(id);
    const next = this.line.shift();
    if (next !== undefined) this.grant(next);
  }
  cancel(id: number): void {
    const at = this.line.indexOf(id);
    if (at >= 0) this.line.splice(at, 1); // a waiter already granted keeps its permit
  }
}

const opArb = fc.record({
  kind: fc.constantFrom<Kind>("acquire", "acquire", "try", "release", "release", "cancel", "releaseAndCancel"),
  worker: fc.nat(WORKERS - 1),
  other: fc.nat(WORKERS - 1),
});

async function runProgram(make: () => Permits, permitCount: number, ops: readonly Op[]): Promise<void> {
  const permits = make();
  const initial = permits.statistics();
  const model = new Model(permitCount);
  const shared = { inside: 0, most: 0, grants: [] as number[] };
  const workers = Array.from({ length: WORKERS }, (_, id) => new Worker(id, permits, shared));

  const check = (step: string) => {
    for (const w of workers) assert.equal(w.state, model.state(w.id), `${step}: worker ${w.id}`);
    assert.equal(shared.inside, model.holders.size, `${step}: holders`);
    assert.ok(shared.most <= permitCount, `${step}: ${shared.most} holders at once with ${permitCount} permits`);
    assert.deepEqual(shared.grants, model.grants, `${step}: grants in FIFO order`);
  };

  await run(() =>
    withTaskGroup(async (tg) => {
      for (const w of workers) tg.spawn(() => w.loop(), { name: `worker ${w.id}` });
      await settle();
      for (const [index, op] of ops.entries()) {
        const w = workers[op.worker]!;
        const state = model.state(w.id);
        const step = `step ${index} ${op.kind}(${op.worker}, ${op.other})`;
        if ((op.kind === "acquire" || op.kind === "try") && state === "idle") {
          w.send({ kind: op.kind });
          if (op.kind === "acquire") model.acquire(w.id);
          else model.try(w.id);
        } else if (op.kind === "release" && state === "holding") {
          w.send({ kind: "release" });
          model.release(w.id);
        } else if (op.kind === "cancel" && state === "waiting") {
          w.scope!.cancel();
          model.cancel(w.id);
        } else if (op.kind === "releaseAndCancel" && state === "holding" && model.state(op.other) === "waiting") {
          w.send({ kind: "releaseAndCancel", other: workers[op.other]! });
          model.release(w.id);
          model.cancel(op.other);
        } else {
          continue;
        }
        await settle();
        check(step);
      }
      // Wind down: cancel every waiter, release every permit, stop the workers.
      for (const w of workers) if (w.state === "waiting") w.scope!.cancel();
      await settle();
      for (const w of workers) if (w.state === "holding") w.send({ kind: "release" });
      await settle();
      for (const w of workers) w.send({ kind: "stop" });
    }),
  );
  assert.equal(shared.inside, 0);
  assert.deepEqual(permits.statistics(), initial, "nothing leaked: statistics are back to their initial values");
}

const cases: [string, () => Permits, number][] = [
  ["Lock", () => new Lock(), 1],
  ["Semaphore(2)", () => new Semaphore(2), 2],
  ["CapacityLimiter(1)", () => new CapacityLimiter(1), 1],
  ["CapacityLimiter(2)", () => new CapacityLimiter(2), 2],
];

for (const [name, make, count] of cases) {
  test(`random acquire/release/cancel programs on ${name} match the FIFO model and leak nothing`, async (t) => {
    t.diagnostic(`fast-check seed ${SEED} (replay with { seed: ${SEED} })`);
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 30 }), (ops) => runProgram(make, count, ops)),
      { seed: SEED, numRuns: 60 },
    );
  });
}
