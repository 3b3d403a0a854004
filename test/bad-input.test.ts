// Every function that returns a promise reports bad arguments by rejecting it, never by
// throwing synchronously: `fn().catch(handle)` and `await fn()` both see the error, and the
// error is the TypeError/RangeError that names the argument.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as trellis from "../src/index.js";

type Call = () => Promise<unknown>;
const cases: Record<string, [Call, typeof TypeError | typeof RangeError, RegExp]> = {
  withTaskGroup: [() => trellis.withTaskGroup(1 as never), TypeError, /`body`/],
  withCancelScope: [() => trellis.withCancelScope(1 as never), TypeError, /`fn`/],
  moveOnAfter: [() => trellis.moveOnAfter(-1, () => 1), RangeError, /`ms`/],
  moveOnAt: [() => trellis.moveOnAt(NaN, () => 1), RangeError, /`deadline`/],
  failAfter: [() => trellis.failAfter(-1, () => 1), RangeError, /`ms`/],
  failAt: [() => trellis.failAt(NaN, () => 1), RangeError, /`deadline`/],
  sleep: [() => trellis.sleep(-1), RangeError, /`ms`/],
  sleepUntil: [() => trellis.sleepUntil(NaN), RangeError, /`deadline`/],
  wait: [() => trellis.wait(1 as never), TypeError, /`promise`/],
  cancelOnAbort: [() => trellis.cancelOnAbort(1 as never, () => 1), TypeError, /`signal`/],
  run: [() => trellis.run(1 as never), TypeError, /`main`/],
  all: [() => trellis.all([1 as never]), TypeError, /`fns\[0\]`/],
  map: [() => trellis.map([1], () => 1, { concurrency: 0 }), RangeError, /`options.concurrency`/],
  withSupervisor: [() => trellis.withSupervisor(1 as never), TypeError, /`body`/],
  "Lock.withLock": [() => new trellis.Lock().withLock(1 as never), TypeError, /`fn`/],
  "CapacityLimiter.withToken": [() => new trellis.CapacityLimiter(1).withToken(1 as never), TypeError, /`fn`/],
};

for (const [name, [call, type, names]] of Object.entries(cases)) {
  test(`${name}() rejects bad arguments with a ${type.name} naming the argument, without throwing synchronously`, async () => {
    let promise: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      promise = call();
    }, `${name}() threw synchronously`);
    await assert.rejects(promise!, (err: unknown) => err instanceof type && names.test((err as Error).message));
  });
}
