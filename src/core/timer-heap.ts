/**
 * The run's one priority queue of deadlines (DESIGN.md choice 5): sleeps and scope deadlines
 * are entries here, and the runtime arms a single real timer for the earliest. An entry knows
 * its index. Removal is lazy: a removed entry is marked dead and dropped when it reaches the
 * top, so cancelling a hundred thousand sleeps costs O(1) each; once dead entries outnumber
 * live ones the heap is rebuilt without them (O(n), amortised), so a cancelled one-hour sleep
 * does not stay in memory for an hour.
 *
 * @module
 */

/** One pending deadline. `fire` runs when the run's clock reaches `deadline`. */
export interface TimerEntry {
  deadline: number;
  /** Insertion order: ties fire in the order they were added. */
  seq: number;
  /** Position in the heap, -1 once out of it. */
  index: number;
  /** Removed, but still in the heap until it reaches the top or the heap is rebuilt. */
  dead: boolean;
  /** Whether this entry keeps the process alive, as a pending `setTimeout` would. */
  keepAlive: boolean;
  fire(): void;
}

/** @internal */
export class TimerHeap {
  private items: TimerEntry[] = [];
  /**
   * The deadlines again, in heap order, in one contiguous array: comparisons read this instead
   * of chasing a pointer to each entry (a large heap is otherwise bound by cache misses).
   */
  private keys = new Float64Array(64);
  private deadCount = 0;
  private nextSeq = 0;
  /** How many live entries have `keepAlive`. */
  keepAliveCount = 0;

  /** The number of live entries. */
  get size(): number {
    return this.items.length - this.deadCount;
  }

  /** Live plus dead entries still held: never more than twice the live ones (plus a little). */
  get slots(): number {
    return this.items.length;
  }

  /** The earliest live entry. */
  peek(): TimerEntry | undefined {
    this.dropDeadTop();
    return this.items[0];
  }

  push(entry: TimerEntry): void {
    entry.seq = this.nextSeq++;
    if (entry.keepAlive) this.keepAliveCount++;
    if (entry.dead) {
      // Removed but still in the array: bring it back to life where its deadline now belongs.
      entry.dead = false;
      this.deadCount--;
      this.update(entry);
      return;
    }
    const i = this.items.length;
    this.items.push(entry);
    if (i >= this.keys.length) this.grow();
    this.keys[i] = entry.deadline;
    entry.index = i;
    this.siftUp(i);
  }

  /** Removes `entry` if it is still queued; returns whether it was. */
  remove(entry: TimerEntry): boolean {
    if (entry.index < 0 || entry.dead) return false;
    if (entry.keepAlive) this.keepAliveCount--;
    if (entry.index === this.items.length - 1) {
      this.items.pop();
      entry.index = -1;
      return true;
    }
    entry.dead = true;
    this.deadCount++;
    if (this.deadCount > 64 && this.deadCount * 2 > this.items.length) this.rebuild();
    return true;
  }

  /** Removes and returns the earliest live entry if its deadline is ≤ `now`. */
  popExpired(now: number): TimerEntry | undefined {
    this.dropDeadTop();
    const top = this.items[0];
    if (top === undefined || top.deadline > now) return undefined;
    this.removeTop();
    if (top.keepAlive) this.keepAliveCount--;
    return top;
  }

  /** Moves an entry after its deadline changed. */
  update(entry: TimerEntry): void {
    if (entry.index < 0 || entry.dead) return;
    this.keys[entry.index] = entry.deadline;
    this.siftUp(entry.index);
    this.siftDown(entry.index);
  }

  clear(): void {
    for (const e of this.items) {
      e.index = -1;
      e.dead = false;
    }
    this.items = [];
    this.keys = new Float64Array(64);
    this.deadCount = 0;
    this.keepAliveCount = 0;
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2);
    keys.set(this.keys);
    this.keys = keys;
  }

  private dropDeadTop(): void {
    while (this.deadCount > 0 && this.items.length > 0 && (this.items[0] as TimerEntry).dead) {
      const top = this.items[0] as TimerEntry;
      this.removeTop();
      top.dead = false;
      this.deadCount--;
    }
  }

  private removeTop(): void {
    const items = this.items;
    const top = items[0] as TimerEntry;
    const last = items.pop() as TimerEntry;
    top.index = -1;
    if (last !== top) {
      items[0] = last;
      this.keys[0] = this.keys[items.length] as number;
      last.index = 0;
      this.siftDown(0);
    }
  }

  /** Drops every dead entry and restores the heap order bottom-up (Floyd's heapify). */
  private rebuild(): void {
    const live: TimerEntry[] = [];
    for (const e of this.items) {
      if (e.dead) {
        e.dead = false;
        e.index = -1;
      } else {
        this.keys[live.length] = this.keys[e.index] as number;
        e.index = live.length;
        live.push(e);
      }
    }
    this.items = live;
    this.deadCount = 0;
    for (let i = (live.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftUp(i: number): void {
    const items = this.items;
    const keys = this.keys;
    const entry = items[i] as TimerEntry;
    const key = keys[i] as number;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parentKey = keys[parentIndex] as number;
      const parent = items[parentIndex] as TimerEntry;
      if (parentKey < key || (parentKey === key && parent.seq < entry.seq)) break;
      items[i] = parent;
      keys[i] = parentKey;
      parent.index = i;
      i = parentIndex;
    }
    items[i] = entry;
    keys[i] = key;
    entry.index = i;
  }

  private siftDown(i: number): void {
    const items = this.items;
    const keys = this.keys;
    const n = items.length;
    const entry = items[i] as TimerEntry;
    const key = keys[i] as number;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      let childKey = keys[child] as number;
      const right = child + 1;
      if (right < n) {
        const rightKey = keys[right] as number;
        if (rightKey < childKey || (rightKey === childKey && (items[right] as TimerEntry).seq < (items[child] as TimerEntry).seq)) {
          child = right;
          childKey = rightKey;
        }
      }
      const c = items[child] as TimerEntry;
      if (key < childKey || (key === childKey && entry.seq < c.seq)) break;
      items[i] = c;
      keys[i] = childKey;
      c.index = i;
      i = child;
    }
    items[i] = entry;
    keys[i] = key;
    entry.index = i;
  }
}
