// Type tests: this file fails to compile if the result types of all/race/map stop being inferred.
import { test } from "node:test";
import assert from "node:assert/strict";
import { all, map, race } from "../../src/index.js";

/** Compiles only if `T` is exactly `Expected` (both ways assignable, and not `any`). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<Expected>() {
  return <T>(value: T & (Equal<T, Expected> extends true ? unknown : never)): T => value;
}

async function user(): Promise<{ name: string }> {
  return { name: "ada" };
}

test("all() infers a tuple with each function's own awaited type", async () => {
  const [a, b, c] = await all([() => Promise.resolve(1), () => "two", user]);
  expectType<number>()(a);
  expectType<string>()(b);
  expectType<{ name: string }>()(c);
  assert.deepEqual([a, b, c], [1, "two", { name: "ada" }]);

  const tuple = await all([async () => true, () => null] as const);
  expectType<[boolean, null]>()(tuple);
});

test("all() over an array of one function type gives an array", async () => {
  const fns: Array<() => Promise<number>> = [async () => 1, async () => 2];
  const results = await all(fns);
  expectType<number[]>()(results);
  assert.deepEqual(results, [1, 2]);
  const none = await all([]);
  expectType<[]>()(none);
});

test("race() gives the union of the entries' awaited types", async () => {
  const winner = await race([() => Promise.resolve(1), async () => "x"]);
  expectType<number | string>()(winner);
  assert.equal(winner, 1);
});

test("map() gives an array of fn's awaited return type and passes the index", async () => {
  const lengths = await map(["a", "bb"], async (s, i) => s.length + i);
  expectType<number[]>()(lengths);
  async function* letters() {
    yield "x";
  }
  const upper = await map(letters(), (s) => s.toUpperCase(), { concurrency: 2 });
  expectType<string[]>()(upper);
  assert.deepEqual([lengths, upper], [[1, 3], ["X"]]);
});
