// Large per-request buffers kept for the next request once nothing reads them any more. A fresh
// buffer of hundreds of KB per request is zeroed or page-faulted in as it is written, and leaves
// garbage behind: on a VM where page faults are dear that was a visible share of the CPU per
// remote-write sample. Bounded in count and bytes, so a burst of big requests is not kept.

export class ReusePool<T> {
  private readonly free: T[] = [];
  private freeBytes = 0;

  constructor(
    /** Bytes an item holds (what the bound counts) and what it can take. */
    private readonly sizeOf: (item: T) => number,
    private readonly maxItems = 16,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  /** A kept item of at least `bytes`, newest first (most likely still in cache), or undefined. */
  take(bytes: number): T | undefined {
    for (let i = this.free.length - 1; i >= 0; i--) {
      const item = this.free[i]!;
      const size = this.sizeOf(item);
      if (size < bytes) continue;
      this.free.splice(i, 1);
      this.freeBytes -= size;
      return item;
    }
    return undefined;
  }

  /** Keeps `item` for a later take(), unless the pool is full; the caller no longer uses it. */
  give(item: T): void {
    const size = this.sizeOf(item);
    if (size === 0 || this.free.length >= this.maxItems || this.freeBytes + size > this.maxBytes) return;
    this.free.push(item);
    this.freeBytes += size;
  }

  /** Items kept (for tests). */
  get size(): number {
    return this.free.length;
  }
}
