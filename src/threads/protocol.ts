/**
 * The wire between the main thread and a pool worker. Messages are small arrays (cheaper to
 * clone than objects) whose first element is a tag; the shared control block carries what must
 * be seen while the worker's event loop is blocked (DESIGN.md choice 10).
 *
 * main → worker: `[CALL, id, exportName, args]`, `[CANCEL, id, source]`, `[REPLY, requestId, ok, payload]`, `[CLOSE]`
 * worker → main: `[RESULT, id, value]`, `[ERROR, id, wireError]`, `[CANCELLED, id]`,
 *                `[CALL_MAIN, id, requestId, name, args, sync]`, `[CANCEL_MAIN, id, requestId]`,
 *                `[LOAD_ERROR, wireError]`
 *
 * @module
 */

export const CALL = 0;
export const CANCEL = 1;
export const REPLY = 2;
export const CLOSE = 3;
export const RESULT = 4;
export const ERROR = 5;
export const CANCELLED = 6;
export const CALL_MAIN = 7;
export const CANCEL_MAIN = 8;
export const LOAD_ERROR = 9;

/** A reply's outcome (`REPLY` messages): a value, an error, or the handler was cancelled. */
export const REPLY_VALUE = 0;
export const REPLY_ERROR = 1;
export const REPLY_CANCELLED = 2;

/** Slots of the worker's control block (an Int32Array over a SharedArrayBuffer). */
/** The id of the call whose caller was cancelled (0: none). */
export const SLOT_CANCEL_ID = 0;
/** Where that cancellation came from, as an index into {@link CANCEL_SOURCES}. */
export const SLOT_CANCEL_SOURCE = 1;
/** Set to 1 by the main thread once the reply to a `callMainSync` has been posted. */
export const SLOT_SYNC = 2;
/**
 * The id of the last call the worker has ended, stored just before it posts the call's outcome:
 * a call whose id is at most this has ended, and terminating the worker for it would stop
 * nothing of it (its outcome is on its way).
 */
export const SLOT_ENDED = 3;
/**
 * Call states. The pool sends a worker its next call before the current one ends (so the worker
 * never waits for the main thread between calls), and takes it back if it is cancelled or
 * another worker gets free first. Slot `CALLS + id % CALL_SLOTS` holds `id` once the call is
 * sent; the worker turns it into `-id` when it starts the call, the pool into 0 when it
 * withdraws it, each with a compare-and-exchange, so exactly one of them wins. A worker skips
 * a withdrawn call and reports it `CANCELLED`. The pool keeps fewer than `CALL_SLOTS / 2` calls
 * in flight per worker, so a slot is never reused before the worker has read it.
 */
export const SLOT_CALLS = 4;
export const CALL_SLOTS = 128;
export const CONTROL_SLOTS = SLOT_CALLS + CALL_SLOTS;

/**
 * Call ids run from 1 to `MAX_CALL_ID`, then from 1 again: they live in Int32 slots (negated once
 * started), so a long-lived worker must not count past 2^31 (from there every call would look
 * withdrawn). A power of two minus one, so that ids compare modulo 2^30 ({@link endedBy}).
 */
export const MAX_CALL_ID = 2 ** 30 - 1;

/** The id after `id`. */
export function nextCallId(id: number): number {
  return id === MAX_CALL_ID ? 1 : id + 1;
}

/**
 * True if call `id` is call `ended` or an earlier one. Ids wrap, so they compare modulo 2^30;
 * that is right for ids less than 2^29 apart, and the ids compared here are those of calls on one
 * worker (its last ended call and one it holds, fewer than `CALL_SLOTS` apart). `ended` is 0
 * before the worker has ended any call.
 */
export function endedBy(ended: number, id: number): boolean {
  return ended !== 0 && ((ended - id) & MAX_CALL_ID) < 2 ** 29;
}

export const CANCEL_SOURCES = ["explicit", "deadline", "abort", "sibling", "signal"] as const;

/** What the worker receives in `workerData`. */
export interface WorkerBoot {
  readonly moduleUrl: string;
  readonly control: SharedArrayBuffer;
}
