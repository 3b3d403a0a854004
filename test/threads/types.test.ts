// Type tests: this file fails to compile if pool.run() and pool.bind() stop typing arguments
// and results from the worker module's type.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WorkerPool, type ExportName } from "trellis/threads";
import { fixture } from "./support.js";

/** Compiles only if `T` is exactly `Expected` (both ways assignable, and not `any`). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<Expected>() {
  return <T>(value: T & (Equal<T, Expected> extends true ? unknown : never)): T => value;
}

/** The shape of test/fixtures/threads/basic.mjs, as `typeof import("./worker.js")` would give it. */
interface Basic {
  add(a: number, b: number): number;
  double(x: number): Promise<number>;
  whereAmI(): { isWorker: boolean; threadId: number };
  version: string;
}

test("run() types the export name, the arguments and the awaited result from the module type", async () => {
  const pool = new WorkerPool<Basic>(fixture(), { size: 1 });
  try {
    const sum = await pool.run("add", [1, 2]);
    expectType<number>()(sum);
    const doubled = await pool.run("double", [4]);
    expectType<number>()(doubled);
    expectType<{ isWorker: boolean; threadId: number }>()(await pool.run("whereAmI"));
    // @ts-expect-error: "nope" is not an export
    await pool.run("nope").catch(() => {});
    // @ts-expect-error: `version` is not a function
    await pool.run("version").catch(() => {});
    // @ts-expect-error: add takes numbers
    await pool.run("add", ["1", 2]).catch(() => {});
    const names: ExportName<Basic>[] = ["add", "double", "whereAmI"];
    assert.equal(names.length, 3);

    // The explicit form for an untyped pool: run<typeof module, "name">.
    const untyped = pool as unknown as WorkerPool;
    const viaGenerics = await untyped.run<Basic, "add">("add", [2, 3]);
    expectType<number>()(viaGenerics);
    const anything = await untyped.run("add", [2, 3]);
    expectType<unknown>()(anything);

    const bound = pool.bind();
    expectType<number>()(await bound.add(1, 1));
    // @ts-expect-error: add takes numbers
    await bound.add("x", 1).catch(() => {});
    assert.equal(sum + doubled, 11);
  } finally {
    await pool.close();
  }
});
