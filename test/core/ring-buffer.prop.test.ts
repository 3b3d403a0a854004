// RingBuffer is a FIFO whatever its shrink bound: random pushes and shifts (bursts that grow it
// past its bound and drain it) agree with an array model. Channels use it with the default bound
// (the start queue of tasks is a ChunkQueue: chunk-queue.prop.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { RingBuffer } from "../../src/core/index.js";

test("RingBuffer agrees with an array FIFO for any shrink bound and any burst pattern", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(0, 16, 64, 4096, Infinity),
      fc.array(fc.tuple(fc.nat(300), fc.nat(300)), { minLength: 1, maxLength: 30 }),
      (shrinkAbove, bursts) => {
        const ring = new RingBuffer<number>(shrinkAbove);
        const model: number[] = [];
        let next = 0;
        for (const [pushes, shifts] of bursts) {
          for (let i = 0; i < pushes; i++) {
            ring.push(next);
            model.push(next++);
          }
          for (let i = 0; i < shifts && model.length > 0; i++) assert.equal(ring.shift(), model.shift());
          assert.equal(ring.length, model.length);
        }
        assert.deepEqual(ring.toArray(), model);
        while (model.length > 0) assert.equal(ring.shift(), model.shift());
        assert.equal(ring.length, 0);
      },
    ),
    { seed: 10, numRuns: 200 },
  );
});
