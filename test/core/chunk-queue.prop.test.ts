// ChunkQueue (the core's start queue, task.ts) is a FIFO whatever the bursts: random pushes and
// shifts that fill many chunks, drain them, keep some for reuse and drop the rest agree with an
// array model, for any bound on the chunks kept (the precondition of START_QUEUE_KEEPS_CHUNKS
// is only about memory: the order must not depend on it).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ChunkQueue } from "../../src/core/chunk-queue.js";

test("ChunkQueue agrees with an array FIFO for any bound on kept chunks and any burst pattern", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(0, 1, 2, 128),
      fc.array(fc.tuple(fc.nat(3000), fc.nat(3000)), { minLength: 1, maxLength: 20 }),
      (keep, bursts) => {
        const queue = new ChunkQueue<number>(keep);
        const model: number[] = [];
        let head = 0;
        let next = 0;
        for (const [pushes, shifts] of bursts) {
          for (let i = 0; i < pushes; i++) {
            queue.push(next);
            model.push(next++);
          }
          for (let i = 0; i < shifts && head < model.length; i++) assert.equal(queue.shift(), model[head++]);
          assert.equal(queue.length, model.length - head);
        }
        assert.deepEqual(queue.toArray(), model.slice(head));
        while (head < model.length) assert.equal(queue.shift(), model[head++]);
        assert.equal(queue.length, 0);
        queue.push(-1); // an emptied queue goes on working
        assert.deepEqual(queue.toArray(), [-1]);
        assert.equal(queue.shift(), -1);
      },
    ),
    { seed: 1012, numRuns: 200 },
  );
});
