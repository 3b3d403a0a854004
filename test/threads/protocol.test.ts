// The call ids of the worker protocol wrap before they leave the Int32 slots they live in.
// (Was: past 2^31 calls on one worker, every call looked withdrawn and failed.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_CALL_ID, endedBy, nextCallId } from "../../src/threads/protocol.js";

test("call ids run from 1 to MAX_CALL_ID, then from 1 again, and fit an Int32 slot negated", () => {
  assert.equal(nextCallId(1), 2);
  assert.equal(nextCallId(MAX_CALL_ID - 1), MAX_CALL_ID);
  assert.equal(nextCallId(MAX_CALL_ID), 1);
  const slot = new Int32Array(1);
  for (const id of [1, MAX_CALL_ID]) {
    Atomics.store(slot, 0, id);
    assert.equal(Atomics.compareExchange(slot, 0, id, -id), id, "sent, then started");
    assert.equal(Atomics.load(slot, 0), -id);
  }
});

test("endedBy compares ids across the wrap, for ids of calls on one worker", () => {
  assert.equal(endedBy(0, 1), false, "nothing has ended yet");
  assert.equal(endedBy(5, 5), true);
  assert.equal(endedBy(5, 4), true);
  assert.equal(endedBy(5, 6), false);
  assert.equal(endedBy(5, 5 + 200), false);
  // Across the wrap: ids MAX_CALL_ID - 1, MAX_CALL_ID, 1, 2, … in that order.
  assert.equal(endedBy(MAX_CALL_ID, 1), false, "1 comes after MAX_CALL_ID");
  assert.equal(endedBy(1, MAX_CALL_ID), true);
  assert.equal(endedBy(2, MAX_CALL_ID - 1), true);
  assert.equal(endedBy(MAX_CALL_ID - 1, 2), false);
  // Over a long run the order holds for every pair of nearby ids.
  let id = MAX_CALL_ID - 300;
  const ids: number[] = [];
  for (let i = 0; i < 600; i++, id = nextCallId(id)) ids.push(id);
  for (let i = 0; i < ids.length; i++) {
    for (let j = Math.max(0, i - 130); j < Math.min(ids.length, i + 130); j++) {
      assert.equal(endedBy(ids[i]!, ids[j]!), j <= i, `${ids[i]} vs ${ids[j]}`);
    }
  }
});
