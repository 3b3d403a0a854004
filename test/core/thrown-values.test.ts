// "No error is ever lost", for every value JavaScript can throw (issue 9 item 10): a seeded
// property test throws random values (undefined, null, 0, 42, "s", symbols, Errors, plain
// objects) from random places — children, the group body, tg.start children before and after
// started(), nested groups, supervisors (body and children), all()/race() entries — at random
// moments, in "first" and "aggregate" groups. Every value thrown must come back: rethrown by the
// group, held by a TaskGroupError, kept in suppressedErrors(), returned to the caller of
// tg.start()/Task.result(), or passed to the supervisor's onError.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  all,
  checkpoint,
  isCancelled,
  race,
  sleepForever,
  suppressedErrors,
  withSupervisor,
  withCancelScope,
  withTaskGroup,
  type TaskGroup,
} from "../../src/index.js";

const SEED = 9010;
const NUM_RUNS = 200;

type Kind = "undefined" | "null" | "zero" | "42" | "string" | "symbol" | "error" | "object";
type Place = "child" | "body" | "startBefore" | "startAfter" | "nested" | "supervisorBody" | "supervisorChild" | "all" | "race" | "result";

interface Thrower {
  readonly kind: Kind;
  readonly place: Place;
  /** Checkpoints before throwing (a Cancelled meanwhile is caught: the value is thrown anyway). */
  readonly delay: number;
}

const kinds: Kind[] = ["undefined", "null", "zero", "42", "string", "symbol", "error", "object"];
const places: Place[] = ["child", "body", "startBefore", "startAfter", "nested", "supervisorBody", "supervisorChild", "all", "race", "result"];

function makeValue(kind: Kind, i: number): unknown {
  switch (kind) {
    case "undefined":
      return undefined;
    case "null":
      return null;
    case "zero":
      return 0;
    case "42":
      return 42;
    case "string":
      return "s";
    case "symbol":
      return Symbol(`thrown ${i}`);
    case "error":
      return new Error(`thrown ${i}`);
    case "object":
      return { thrown: i };
  }
}

/** Every value reachable from `err`: itself, a TaskGroupError's errors, suppressed errors, recursively. */
function reachable(err: unknown, out: unknown[], seen = new Set<object>()): void {
  if (typeof err === "object" && err !== null) {
    if (seen.has(err)) return;
    seen.add(err);
  }
  out.push(err);
  if (err instanceof AggregateError) for (const e of err.errors) reachable(e, out, seen);
  for (const e of suppressedErrors(err)) reachable(e, out, seen);
}

/** `thrown` ⊆ `found` as multisets, by SameValue (primitives count, objects and symbols by identity). */
function assertAllFound(thrown: readonly unknown[], found: readonly unknown[]): void {
  const left = [...found];
  for (const v of thrown) {
    const i = left.findIndex((f) => Object.is(f, v));
    assert.ok(i >= 0, `thrown value ${String(v)} was lost; found: ${found.map(String).join(", ")}`);
    left.splice(i, 1);
  }
}

/** Every value actually thrown, with where from (a body cancelled early never reaches some throwers). */
let thrownLog: { value: unknown; place: Place }[] = [];

async function throwAfter(delay: number, value: unknown, place: Place): Promise<never> {
  try {
    for (let i = 0; i < delay; i++) await checkpoint();
  } catch {
    // A sibling failed meanwhile: throw the value all the same, from the catch.
  }
  thrownLog.push({ value, place });
  throw value;
}

test("every value thrown anywhere (undefined, null, 0, 42, strings, symbols, Errors, objects) is rethrown or reachable (seeded)", async () => {
  const thrower = fc.record({
    kind: fc.constantFrom(...kinds),
    place: fc.constantFrom(...places),
    delay: fc.integer({ min: 0, max: 3 }),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(thrower, { minLength: 1, maxLength: 6 }), fc.constantFrom("first" as const, "aggregate" as const), async (throwers: Thrower[], mode) => {
      const values = throwers.map((t, i) => makeValue(t.kind, i));
      thrownLog = [];
      const found: unknown[] = []; // what came back another way than through the group
      const bodyThrowers: number[] = [];
      let outcome: { threw: boolean; err?: unknown } = { threw: false };
      try {
        await withTaskGroup(
          async (tg: TaskGroup) => {
            for (let i = 0; i < throwers.length; i++) {
              const { place, delay } = throwers[i]!;
              const v = values[i];
              const fail = () => throwAfter(delay, v, place);
              switch (place) {
                case "child":
                  tg.spawn(fail);
                  break;
                case "body":
                  bodyThrowers.push(i);
                  break;
                case "startBefore":
                  try {
                    await tg.start(fail);
                  } catch (err) {
                    found.push(err); // start() rethrows to its caller
                  }
                  break;
                case "startAfter":
                  try {
                    await tg.start(async (status) => {
                      status.started();
                      await fail();
                    });
                  } catch (err) {
                    assert.ok(isCancelled(err), "start() failed after started()"); // the body was cancelled first
                  }
                  break;
                case "nested":
                  tg.spawn(() => withTaskGroup(async (inner) => void inner.spawn(fail)));
                  break;
                case "supervisorBody":
                  tg.spawn(() => withSupervisor(() => fail()));
                  break;
                case "supervisorChild":
                  tg.spawn(() =>
                    withSupervisor(async (sup) => void sup.spawn(fail), {
                      onError: (err) => void found.push(err),
                    }),
                  );
                  break;
                case "all":
                  tg.spawn(() => all([fail, () => sleepForever()]));
                  break;
                case "race":
                  tg.spawn(() => race([fail, () => sleepForever()]));
                  break;
                case "result": {
                  const t = tg.spawn(fail);
                  tg.spawn(async () => {
                    try {
                      await withCancelScope(() => t.result(), { shield: true });
                      assert.fail("result() of a failed task returned");
                    } catch (err) {
                      assert.ok(Object.is(err, v), "result() did not give back the value thrown");
                    }
                  });
                  break;
                }
              }
            }
            if (bodyThrowers.length > 0) {
              // The body throws the first of its values; the others are thrown by children.
              const [first, ...rest] = bodyThrowers;
              for (const i of rest) tg.spawn(() => throwAfter(throwers[i]!.delay, values[i], "body"));
              await throwAfter(throwers[first!]!.delay, values[first!], "body");
            }
          },
          { errors: mode },
        );
      } catch (err) {
        outcome = { threw: true, err };
      }
      const groupFailures = thrownLog.filter((t) => t.place !== "startBefore" && t.place !== "supervisorChild").length;
      if (groupFailures > 0) assert.ok(outcome.threw, "the group returned normally although something was thrown into it");
      if (outcome.threw) {
        assert.ok(!isCancelled(outcome.err), "the group threw a stale Cancelled");
        reachable(outcome.err, found);
      }
      assert.ok(thrownLog.length > 0 || throwers.every((t) => t.place !== "child"), "no thrower ran");
      assertAllFound(
        thrownLog.map((t) => t.value),
        found,
      );
    }),
    { seed: SEED, numRuns: NUM_RUNS },
  );
});
