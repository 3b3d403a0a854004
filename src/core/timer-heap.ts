/**
 * The run's one priority queue of deadlines (DESIGN.md choice 5): sleeps and scope deadlines
 * are entries here, and the runtime arms a single real timer for the earliest. An entry knows
 * its index, so removing a cancelled sleep is O(log n) and leaves nothing behind (a lazily
 * deleted entry of a one-hour sleep would otherwise stay in memory for an hour).
 *
 * @module
 */

/** One pending deadline. `fire` runs when the run's clock reaches `deadline`. */
export interface TimerEntry {
  deadline: number;
  /** Insertion order: ties fire in the order they were added. */
  seq: number;
  /** Position in the heap, -1 once removed or fired. */
  index: number;
  /** Whether this entry keeps the process alive, as a pending `setTimeout` would. */
  keepAlive: boolean;
  fire(): void;
}

export class TimerHeap {
  private readonly items: TimerEntry[] = [];
  private nextSeq = 0;
  /** How many entries have `keepAlive`. */
  keepAliveCount = 0;

  get size(): number {
    return this.items.length;
  }

  peek(): TimerEntry | undefined {
    return this.items[0];
  }

  push(entry: TimerEntry): void {
    entry.seq = this.nextSeq++;
    entry.index = this.items.length;
    this.items.push(entry);
    if (entry.keepAlive) this.keepAliveCount++;
    this.siftUp(entry.index);
  }

  /** Removes `entry` if it is still queued; returns whether it was. */
  remove(entry: TimerEntry): boolean {
    const i = entry.index;
    if (i < 0) return false;
    const last = this.items.pop() as TimerEntry;
    entry.index = -1;
    if (entry.keepAlive) this.keepAliveCount--;
    if (last !== entry) {
      this.items[i] = last;
      last.index = i;
      this.siftDown(i);
      this.siftUp(last.index);
    }
    return true;
  }

  /** Removes and returns the earliest entry if its deadline is ≤ `now`. */
  popExpired(now: number): TimerEntry | undefined {
    const top = this.items[0];
    if (top === undefined || top.deadline > now) return undefined;
    this.remove(top);
    return top;
  }

  /** Moves an entry after its deadline changed. */
  update(entry: TimerEntry): void {
    if (entry.index < 0) return;
    this.siftUp(entry.index);
    this.siftDown(entry.index);
  }

  clear(): void {
    for (const e of this.items) e.index = -1;
    this.items.length = 0;
    this.keepAliveCount = 0;
  }

  private less(a: TimerEntry, b: TimerEntry): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  private siftUp(i: number): void {
    const items = this.items;
    const entry = items[i] as TimerEntry;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex] as TimerEntry;
      if (!this.less(entry, parent)) break;
      items[i] = parent;
      parent.index = i;
      i = parentIndex;
    }
    items[i] = entry;
    entry.index = i;
  }

  private siftDown(i: number): void {
    const items = this.items;
    const n = items.length;
    const entry = items[i] as TimerEntry;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && this.less(items[right] as TimerEntry, items[child] as TimerEntry)) child = right;
      const c = items[child] as TimerEntry;
      if (!this.less(c, entry)) break;
      items[i] = c;
      c.index = i;
      i = child;
    }
    items[i] = entry;
    entry.index = i;
  }
}
