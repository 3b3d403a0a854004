/**
 * The run's one queue of deadlines (DESIGN.md choice 5): sleeps and scope deadlines are
 * entries here, and the runtime arms a single real timer for the earliest.
 *
 * A calendar queue. Entries are filed in *buckets* of one millisecond of deadline (the bucket
 * of deadline `d` is `Math.floor(d)`); a bucket is the head of a circular, doubly linked list
 * whose links live on the entries themselves (`nextTimer`/`prevTimer`), so queueing an entry
 * allocates nothing, and removing one unlinks it in O(1) and leaves nothing behind (cancelling
 * a hundred thousand one-hour sleeps frees them at once). The buckets that hold entries sit in
 * a small binary heap ordered by key, and in a `Map` from key to bucket; a program's deadlines
 * fall into few distinct milliseconds compared with its number of waits, so that heap stays
 * small (W4's 100,000 sleeps over 100 ms make a few hundred buckets).
 *
 * The order is exact, whatever the bucket width: entries come out in deadline order, ties in
 * the order they were queued (moving an entry queues it again, after the entries already
 * waiting for the same deadline), and an entry never comes out before its deadline (the
 * bucket only says where to look; `popExpired` compares the entry's own deadline).
 *
 * @module
 */

/** A node of a bucket's list: an entry, or the bucket itself (the list's head). */
export interface TimerLink {
  nextTimer?: TimerLink | undefined;
  prevTimer?: TimerLink | undefined;
}

/** One pending deadline. `fire` runs when the run's clock reaches `deadline`. */
export interface TimerEntry extends TimerLink {
  /**
   * Change it only through `update` (the runtime's `moveTimer`). Never NaN (validated where
   * deadlines come in), so that bucket keys and comparisons order it.
   */
  deadline: number;
  /** Whether this entry keeps the process alive, as a pending `setTimeout` would. */
  readonly keepAlive: boolean;
  fire(): void;
  /**
   * Set by the queue: the entry's neighbours in its bucket while it is queued, `undefined`
   * otherwise. An entry class declares both (initialised to `undefined`) so that its objects
   * keep one shape.
   */
  nextTimer?: TimerLink | undefined;
  prevTimer?: TimerLink | undefined;
}

/**
 * The entries of one millisecond of deadline: the head of their circular list (an empty
 * bucket links to itself).
 */
class Bucket implements TimerLink {
  nextTimer: TimerLink = this;
  prevTimer: TimerLink = this;
  /**
   * True while the list is in deadline order (ties in queueing order). Appending keeps it
   * true when the new entry's deadline is ≥ the last one's (sleeps of one duration, queued in
   * time order, always do); otherwise the bucket is sorted, stably, when it is first looked at.
   */
  sorted = true;
  constructor(readonly key: number) {}
}

/**
 * Empty buckets stay filed (a bucket emptied by a cancellation is often refilled within the
 * same millisecond); once they are more than this many, and more than the buckets in use,
 * they are dropped all at once.
 */
const DROP_EMPTY_ABOVE = 64;

/**
 * The bucket of a deadline. Precondition of the bucket order: the key is a non-decreasing
 * function of the deadline (`Math.floor` is, on every double, also ±Infinity), so every entry
 * of a bucket with a smaller key has a smaller deadline than every entry of a larger one. The
 * randomized test in test/core/timer-queue.test.ts checks the order on fractional, negative,
 * equal, huge and infinite deadlines against a sorted list.
 */
function bucketKey(deadline: number): number {
  return Math.floor(deadline);
}

/** @internal */
export class TimerQueue {
  /** Binary min-heap of filed buckets by key. */
  private heap: Bucket[] = [];
  private readonly byKey = new Map<number, Bucket>();
  /** The bucket used last: consecutive sleeps of one duration fall into the same one. */
  private last: Bucket | undefined = undefined;
  /** Filed buckets that hold no entry. */
  private empty = 0;
  /** The number of queued entries. */
  size = 0;
  /** How many queued entries have `keepAlive`. */
  keepAliveCount = 0;

  /** Filed buckets, empty ones included: never more than the entries plus a little. */
  get buckets(): number {
    return this.heap.length;
  }

  /** Whether `entry` is queued. */
  has(entry: TimerEntry): boolean {
    return entry.nextTimer !== undefined;
  }

  /** The earliest queued entry. */
  peek(): TimerEntry | undefined {
    const bucket = this.firstBucket();
    return bucket === undefined ? undefined : (bucket.nextTimer as TimerEntry);
  }

  /** Queues `entry` (a queued entry is moved to its current deadline instead). */
  push(entry: TimerEntry): void {
    if (entry.nextTimer !== undefined) return this.update(entry);
    this.size++;
    if (entry.keepAlive) this.keepAliveCount++;
    this.link(entry);
  }

  /** Removes `entry` if it is queued; returns whether it was. */
  remove(entry: TimerEntry): boolean {
    if (entry.nextTimer === undefined) return false;
    this.size--;
    if (entry.keepAlive) this.keepAliveCount--;
    this.unlink(entry);
    return true;
  }

  /** Re-files a queued entry after its deadline changed, after the entries already waiting for it. */
  update(entry: TimerEntry): void {
    if (entry.nextTimer === undefined) return;
    this.unlink(entry);
    this.link(entry);
  }

  /** Removes and returns the earliest queued entry if its deadline is ≤ `now`. */
  popExpired(now: number): TimerEntry | undefined {
    const top = this.heap[0];
    // Every deadline of a bucket is ≥ its key: nothing to sort or look at before then.
    if (top === undefined || top.key > now) return undefined;
    const bucket = this.firstBucket();
    if (bucket === undefined) return undefined;
    const first = bucket.nextTimer as TimerEntry;
    if (first.deadline > now) return undefined;
    this.size--;
    if (first.keepAlive) this.keepAliveCount--;
    this.unlink(first);
    return first;
  }

  /** Unqueues every entry. */
  clear(): void {
    for (const bucket of this.heap) {
      for (let link = bucket.nextTimer; link !== bucket; ) {
        const next = link.nextTimer!;
        link.nextTimer = link.prevTimer = undefined;
        link = next;
      }
    }
    this.heap = [];
    this.byKey.clear();
    this.last = undefined;
    this.empty = 0;
    this.size = 0;
    this.keepAliveCount = 0;
  }

  // ---- buckets ---------------------------------------------------------------------------

  /** Appends `entry` to its deadline's bucket. */
  private link(entry: TimerEntry): void {
    const key = bucketKey(entry.deadline);
    // `last` is always a filed bucket: dropping a bucket (dropBucket, clear) forgets it.
    let bucket = this.last;
    if (bucket === undefined || bucket.key !== key) bucket = this.bucketFor(key);
    let prev = bucket.prevTimer!; // the tail
    if (prev === bucket) {
      this.empty--; // every empty filed bucket is counted (see unlink and bucketFor)
    } else if ((prev as TimerEntry).deadline > entry.deadline) {
      // Shortcut: an entry strictly earlier than the first of a sorted bucket goes first and
      // the bucket stays sorted (strictly: no entry shares its deadline, so no tie is
      // reordered); deadlines set in decreasing order then never need a sort.
      if (bucket.sorted && (bucket.nextTimer as TimerEntry).deadline > entry.deadline) prev = bucket;
      else bucket.sorted = false;
    }
    const next = prev.nextTimer!;
    entry.prevTimer = prev;
    entry.nextTimer = next;
    prev.nextTimer = entry;
    next.prevTimer = entry;
  }

  /** Unlinks `entry` from its bucket; a bucket left empty stays filed for now. */
  private unlink(entry: TimerEntry): void {
    const prev = entry.prevTimer!;
    const next = entry.nextTimer!;
    prev.nextTimer = next;
    next.prevTimer = prev;
    entry.nextTimer = entry.prevTimer = undefined;
    // Only the head can be both neighbours of an entry: the bucket is empty now.
    if (prev === next) {
      (prev as Bucket).sorted = true; // an empty list is in order
      this.empty++;
      if (this.empty > DROP_EMPTY_ABOVE && this.empty * 2 > this.heap.length) this.dropEmpty();
    }
  }

  private bucketFor(key: number): Bucket {
    let bucket = this.byKey.get(key);
    if (bucket === undefined) {
      bucket = new Bucket(key);
      this.byKey.set(key, bucket);
      this.heapPush(bucket);
      this.empty++; // link() takes it back at once
    }
    this.last = bucket;
    return bucket;
  }

  /** The filed bucket with the smallest key that holds entries, sorted; drops empty ones on the way. */
  private firstBucket(): Bucket | undefined {
    for (;;) {
      const bucket = this.heap[0];
      if (bucket === undefined) return undefined;
      if (bucket.nextTimer === bucket) {
        this.empty--;
        this.dropBucket(bucket);
        this.heapPopTop();
        continue;
      }
      if (!bucket.sorted) this.sort(bucket);
      return bucket;
    }
  }

  /**
   * Puts a bucket's list in deadline order: a bottom-up merge sort of the linked list itself
   * (Simon Tatham's), stable, so equal deadlines keep queueing order; it allocates nothing.
   */
  private sort(bucket: Bucket): void {
    // Work on a chain of `nextTimer` links ending in `undefined`; the prev links are redone last.
    let list = bucket.nextTimer as TimerEntry | undefined;
    (bucket.prevTimer as TimerEntry).nextTimer = undefined;
    let tail: TimerEntry | undefined;
    for (let width = 1; ; width *= 2) {
      let p = list;
      list = tail = undefined;
      let merges = 0;
      while (p !== undefined) {
        merges++;
        // Merge the run of `width` starting at p with the one after it.
        let q: TimerEntry | undefined = p;
        let pSize = 0;
        while (pSize < width && q !== undefined) {
          pSize++;
          q = q.nextTimer as TimerEntry | undefined;
        }
        let qSize = width;
        while (pSize > 0 || (qSize > 0 && q !== undefined)) {
          let next: TimerEntry;
          // `<=`: on a tie the earlier run's entry goes first (stability).
          if (pSize > 0 && (qSize === 0 || q === undefined || p!.deadline <= q.deadline)) {
            next = p!;
            p = p!.nextTimer as TimerEntry | undefined;
            pSize--;
          } else {
            next = q!;
            q = q!.nextTimer as TimerEntry | undefined;
            qSize--;
          }
          if (tail === undefined) list = next;
          else tail.nextTimer = next;
          tail = next;
        }
        p = q;
      }
      tail!.nextTimer = undefined;
      if (merges <= 1) break;
    }
    let prev: TimerLink = bucket;
    for (let entry = list; entry !== undefined; entry = entry.nextTimer as TimerEntry | undefined) {
      entry.prevTimer = prev;
      prev.nextTimer = entry;
      prev = entry;
    }
    prev.nextTimer = bucket;
    bucket.prevTimer = prev;
    bucket.sorted = true;
  }

  private dropBucket(bucket: Bucket): void {
    this.byKey.delete(bucket.key);
    if (this.last === bucket) this.last = undefined;
  }

  /** Drops every empty bucket and restores the heap order bottom-up (Floyd's heapify). */
  private dropEmpty(): void {
    const heap = this.heap;
    let kept = 0;
    for (const bucket of heap) {
      if (bucket.nextTimer === bucket) this.dropBucket(bucket);
      else heap[kept++] = bucket;
    }
    heap.length = kept;
    this.empty = 0;
    for (let i = (kept >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  // ---- heap of buckets by key --------------------------------------------------------------

  private heapPush(bucket: Bucket): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(bucket);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.key <= bucket.key) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = bucket;
  }

  private heapPopTop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    this.siftDown(0);
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const bucket = heap[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap[child + 1]!.key < heap[child]!.key) child++;
      if (heap[child]!.key >= bucket.key) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = bucket;
  }
}
