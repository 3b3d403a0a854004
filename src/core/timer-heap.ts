/**
 * The run's one priority queue of deadlines (DESIGN.md choice 5): sleeps and scope deadlines
 * are entries here, and the runtime arms a single real timer for the earliest.
 *
 * A four-ary heap of *slots*. A slot is three parallel arrays: the entry, its deadline and its
 * sequence number (ties fire in insertion order). Ordering reads only the two typed arrays and
 * sifting never writes to an entry, so a heap of a hundred thousand sleeps is not bound by
 * cache misses on the entries; four children per node halve the depth of a binary heap.
 *
 * Removal is lazy: an entry's slot is live while the entry is queued and the slot carries its
 * current sequence number. Removing an entry, or moving its deadline (which takes a new slot),
 * leaves the old slot stale; stale slots are dropped when they reach the top, and once they
 * outnumber live ones the heap is rebuilt without them (O(n), amortised), so cancelling a
 * hundred thousand sleeps costs O(1) each and a cancelled one-hour sleep does not stay in
 * memory for an hour.
 *
 * @module
 */

/** One pending deadline. `fire` runs when the run's clock reaches `deadline`. */
export interface TimerEntry {
  /** Change it only through `update` (the runtime's `moveTimer`). */
  deadline: number;
  /** Set by the heap: the sequence number of the entry's live slot (its insertion order). */
  seq: number;
  /** Set by the heap: true while the entry is queued. */
  queued: boolean;
  /** Whether this entry keeps the process alive, as a pending `setTimeout` would. */
  readonly keepAlive: boolean;
  fire(): void;
}

const INITIAL_SLOTS = 64;
/** Stale slots are only worth a rebuild past this many (and past the live ones). */
const REBUILD_ABOVE = 64;

/** @internal */
export class TimerHeap {
  private items: TimerEntry[] = [];
  private keys = new Float64Array(INITIAL_SLOTS);
  private seqs = new Float64Array(INITIAL_SLOTS);
  private stale = 0;
  private nextSeq = 0;
  /** How many queued entries have `keepAlive`. */
  keepAliveCount = 0;

  /** The number of queued entries. */
  get size(): number {
    return this.items.length - this.stale;
  }

  /** Live plus stale slots: never more than twice the live ones (plus a little). */
  get slots(): number {
    return this.items.length;
  }

  /** The earliest queued entry. */
  peek(): TimerEntry | undefined {
    this.dropStaleTop();
    return this.items[0];
  }

  /** Queues `entry` (a queued entry is moved to its current deadline instead). */
  push(entry: TimerEntry): void {
    if (entry.queued) return this.update(entry);
    entry.queued = true;
    if (entry.keepAlive) this.keepAliveCount++;
    this.append(entry);
  }

  /** Removes `entry` if it is queued; returns whether it was. */
  remove(entry: TimerEntry): boolean {
    if (!entry.queued) return false;
    entry.queued = false;
    if (entry.keepAlive) this.keepAliveCount--;
    this.slotWentStale();
    return true;
  }

  /** Moves a queued entry after its deadline changed: a new slot, the old one goes stale. */
  update(entry: TimerEntry): void {
    if (!entry.queued) return;
    this.append(entry);
    this.slotWentStale();
  }

  /** Removes and returns the earliest queued entry if its deadline is ≤ `now`. */
  popExpired(now: number): TimerEntry | undefined {
    this.dropStaleTop();
    const top = this.items[0];
    if (top === undefined || this.keys[0] > now) return undefined;
    this.removeTop();
    top.queued = false;
    if (top.keepAlive) this.keepAliveCount--;
    return top;
  }

  clear(): void {
    for (let i = 0; i < this.items.length; i++) if (this.isLive(i)) this.items[i].queued = false;
    this.items = [];
    this.keys = new Float64Array(INITIAL_SLOTS);
    this.seqs = new Float64Array(INITIAL_SLOTS);
    this.stale = 0;
    this.keepAliveCount = 0;
  }

  // ---- slots -----------------------------------------------------------------------------

  private append(entry: TimerEntry): void {
    const seq = this.nextSeq++;
    entry.seq = seq;
    const i = this.items.length;
    if (i >= this.keys.length) this.grow();
    this.items.push(entry);
    this.keys[i] = entry.deadline;
    this.seqs[i] = seq;
    this.siftUp(i);
  }

  private isLive(i: number): boolean {
    const entry = this.items[i];
    return entry.queued && entry.seq === this.seqs[i];
  }

  private slotWentStale(): void {
    this.stale++;
    if (this.stale > REBUILD_ABOVE && this.stale * 2 > this.items.length) this.rebuild();
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2);
    const seqs = new Float64Array(this.seqs.length * 2);
    keys.set(this.keys);
    seqs.set(this.seqs);
    this.keys = keys;
    this.seqs = seqs;
  }

  private dropStaleTop(): void {
    while (this.stale > 0 && this.items.length > 0 && !this.isLive(0)) {
      this.removeTop();
      this.stale--;
    }
  }

  private removeTop(): void {
    const last = this.items.length - 1;
    if (last > 0) this.moveSlot(last, 0);
    this.items.pop();
    if (last > 0) this.siftDown(0);
  }

  /** Drops every stale slot and restores the heap order bottom-up (Floyd's heapify). */
  private rebuild(): void {
    let live = 0;
    for (let i = 0; i < this.items.length; i++) if (this.isLive(i)) this.moveSlot(i, live++);
    this.items.length = live;
    this.stale = 0;
    for (let i = (live - 2) >> 2; i >= 0; i--) this.siftDown(i);
  }

  private moveSlot(from: number, to: number): void {
    this.items[to] = this.items[from];
    this.keys[to] = this.keys[from];
    this.seqs[to] = this.seqs[from];
  }

  // ---- heap order ------------------------------------------------------------------------

  /** True if the slot (key, seq) comes before slot `j`. */
  private before(key: number, seq: number, j: number): boolean {
    const other = this.keys[j];
    return key < other || (key === other && seq < this.seqs[j]);
  }

  private siftUp(i: number): void {
    const { items, keys, seqs } = this;
    const entry = items[i];
    const key = keys[i];
    const seq = seqs[i];
    while (i > 0) {
      const parent = (i - 1) >> 2;
      if (!this.before(key, seq, parent)) break;
      this.moveSlot(parent, i);
      i = parent;
    }
    items[i] = entry;
    keys[i] = key;
    seqs[i] = seq;
  }

  private siftDown(i: number): void {
    const { items, keys, seqs } = this;
    const n = items.length;
    const entry = items[i];
    const key = keys[i];
    const seq = seqs[i];
    for (;;) {
      const first = 4 * i + 1;
      if (first >= n) break;
      let min = first;
      const end = Math.min(first + 4, n);
      for (let c = first + 1; c < end; c++) if (this.before(keys[c], seqs[c], min)) min = c;
      const minKey = keys[min];
      if (!(minKey < key || (minKey === key && seqs[min] < seq))) break;
      this.moveSlot(min, i);
      i = min;
    }
    items[i] = entry;
    keys[i] = key;
    seqs[i] = seq;
  }
}
