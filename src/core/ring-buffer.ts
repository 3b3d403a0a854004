/**
 * A FIFO with O(1) `push` and `shift` whatever the length (`Array.prototype.shift` copies the
 * whole array): a growable ring over a power-of-two array. Channels buffer their values in it
 * (the core's start queue, which sees bursts of a hundred thousand, is a ChunkQueue instead).
 *
 * @module
 */

/** Slots allocated at first; the ring doubles when full (a bounded channel never past its capacity). */
const INITIAL_SLOTS = 16;
/** An empty ring larger than this gives its memory back (after a burst into an unbounded channel). */
const SHRINK_ABOVE = 4096;

/** @internal A FIFO of values with O(1) push and shift. */
export class RingBuffer<T> {
  private slots: (T | undefined)[];
  private mask: number;
  private head = 0;
  /** How many values are stored. */
  length = 0;

  /**
   * @param shrinkAbove - An empty ring with more slots than this gives its memory back. The
   *   default suits a channel's buffer (a burst into an unbounded channel is returned); a queue
   *   that sees the same bursts again and again passes a larger bound so it does not free and
   *   regrow its slots on every burst.
   */
  constructor(private readonly shrinkAbove: number = SHRINK_ABOVE) {
    this.slots = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined);
    this.mask = INITIAL_SLOTS - 1;
  }

  /** Appends `value` at the back. */
  push(value: T): void {
    if (this.length === this.slots.length) this.grow();
    this.slots[(this.head + this.length) & this.mask] = value;
    this.length++;
  }

  /** Puts `value` at the front (a value handed back: acknowledged channels requeue this way). */
  unshift(value: T): void {
    if (this.length === this.slots.length) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.slots[this.head] = value;
    this.length++;
  }

  /** Removes and returns the value at the front; the caller checks `length > 0` first. */
  shift(): T {
    const head = this.head;
    const value = this.slots[head] as T;
    this.slots[head] = undefined; // let the value be collected
    this.head = (head + 1) & this.mask;
    if (--this.length === 0 && this.slots.length > this.shrinkAbove) this.clear();
    return value;
  }

  /** Drops every value. */
  clear(): void {
    this.slots = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined);
    this.mask = INITIAL_SLOTS - 1;
    this.head = 0;
    this.length = 0;
  }

  /** The values, front first (for inspection; not used on the hot path). */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.slots[(this.head + i) & this.mask] as T);
    return out;
  }

  private grow(): void {
    const old = this.slots;
    const size = old.length;
    const slots = new Array<T | undefined>(size * 2).fill(undefined);
    for (let i = 0; i < size; i++) slots[i] = old[(this.head + i) & this.mask];
    this.slots = slots;
    this.mask = size * 2 - 1;
    this.head = 0;
  }
}
