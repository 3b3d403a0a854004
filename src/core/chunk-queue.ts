/**
 * A FIFO made of fixed-size chunks, for the core's start queue (the tasks about to start). A
 * burst of a hundred thousand spawns fills chunk after chunk, where a ring buffer doubles and
 * copies one array (allocating about twice the slots it ends with, and copying each slot
 * again at every doubling); and drained chunks are kept for the next burst, up to a bound,
 * so bursts that repeat (a server's accept loop, a fan-out per request) allocate nothing.
 *
 * @module
 */

/** Slots per chunk: 8 KiB on a 64-bit heap, small beside a burst, large beside its header. */
const CHUNK_SLOTS = 1024;

class Chunk<T> {
  readonly slots: (T | undefined)[] = new Array<T | undefined>(CHUNK_SLOTS).fill(undefined);
  next: Chunk<T> | undefined = undefined;
}

/** @internal A FIFO with O(1) push and shift that grows by chunks and keeps drained ones. */
export class ChunkQueue<T> {
  private head: Chunk<T>;
  private headIndex = 0;
  private tail: Chunk<T>;
  private tailIndex = 0;
  /** Drained chunks kept for reuse (a list through `next`), at most `keepChunks` of them. */
  private spare: Chunk<T> | undefined = undefined;
  private spareCount = 0;
  /** How many values are stored. */
  length = 0;

  /** @param keepChunks - How many drained chunks to keep for the next burst (besides the one in use). */
  constructor(private readonly keepChunks: number) {
    this.head = this.tail = new Chunk<T>();
  }

  /** Appends `value` at the back. */
  push(value: T): void {
    if (this.tailIndex === CHUNK_SLOTS) {
      const chunk = this.takeChunk();
      this.tail.next = chunk;
      this.tail = chunk;
      this.tailIndex = 0;
    }
    this.tail.slots[this.tailIndex++] = value;
    this.length++;
  }

  /** Removes and returns the value at the front; the caller checks `length > 0` first. */
  shift(): T {
    const head = this.head;
    const value = head.slots[this.headIndex] as T;
    head.slots[this.headIndex++] = undefined; // let the value be collected
    if (--this.length === 0) {
      // Empty: the front chunk (the only one left) starts over.
      this.headIndex = this.tailIndex = 0;
    } else if (this.headIndex === CHUNK_SLOTS) {
      this.head = head.next!; // not empty, so the values go on in the next chunk
      this.headIndex = 0;
      head.next = undefined;
      this.keepChunk(head);
    }
    return value;
  }

  /** The values, front first (for inspection and tests; not used on the hot path). */
  toArray(): T[] {
    const out: T[] = [];
    let index = this.headIndex;
    for (let chunk: Chunk<T> | undefined = this.head, left = this.length; left > 0; left--) {
      if (index === CHUNK_SLOTS) {
        chunk = chunk!.next;
        index = 0;
      }
      out.push(chunk!.slots[index++] as T);
    }
    return out;
  }

  private takeChunk(): Chunk<T> {
    const chunk = this.spare;
    if (chunk === undefined) return new Chunk<T>();
    this.spare = chunk.next;
    chunk.next = undefined;
    this.spareCount--;
    return chunk;
  }

  private keepChunk(chunk: Chunk<T>): void {
    if (this.spareCount >= this.keepChunks) return;
    chunk.next = this.spare;
    this.spare = chunk;
    this.spareCount++;
  }
}
