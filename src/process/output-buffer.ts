/**
 * What `runProcess` captures of one output stream: chunks up to `maxBuffer` bytes.
 *
 * @module
 */

/** @internal */
export class OutputBuffer {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;
  /** True once more than `limit` bytes arrived; what fits is kept. */
  overflowed = false;

  constructor(private readonly limit: number) {}

  /** Keeps `chunk` (or the part that fits); returns false once the limit is passed. */
  add(chunk: Uint8Array): boolean {
    const room = this.limit - this.size;
    if (chunk.byteLength > room) {
      if (room > 0) this.chunks.push(chunk.subarray(0, room));
      this.size = this.limit;
      this.overflowed = true;
      return false;
    }
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
    return true;
  }

  bytes(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0]!;
    return Buffer.concat(this.chunks, this.size);
  }

  text(encoding: BufferEncoding): string {
    const b = this.bytes();
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString(encoding);
  }
}
