// Decoded remote-write samples as columns (see SampleBatch), growable while a request is decoded,
// and reused from one request to the next once the PromQL head has copied them (see ReusePool).
import { ReusePool } from './reuse-pool.ts';

/** Bytes a column set holds per sample: series index (4), timestamp (8), value bits (8). */
const bytesPerSample = 20;

export class SampleColumns {
  length = 0;
  seriesIndex: Uint32Array;
  timestampsMs: Float64Array;
  valueBytes: Uint8Array;

  constructor(capacity: number) {
    this.seriesIndex = new Uint32Array(capacity);
    this.timestampsMs = new Float64Array(capacity);
    this.valueBytes = new Uint8Array(capacity * 8);
  }

  get capacity(): number {
    return this.seriesIndex.length;
  }

  grow(): void {
    const cap = this.capacity * 2;
    const si = new Uint32Array(cap); si.set(this.seriesIndex); this.seriesIndex = si;
    const ts = new Float64Array(cap); ts.set(this.timestampsMs); this.timestampsMs = ts;
    const vb = new Uint8Array(cap * 8); vb.set(this.valueBytes); this.valueBytes = vb;
  }
}

/** Column sets handed back once their batch is in the head; bounded like every ReusePool. */
export class SampleColumnsPool {
  private readonly pool = new ReusePool<SampleColumns>((c) => c.capacity * bytesPerSample, 128, 64 * 1024 * 1024);

  /** Empty columns with room for at least `capacity` samples. */
  take(capacity: number): SampleColumns {
    const c = this.pool.take(capacity * bytesPerSample);
    if (!c) return new SampleColumns(capacity);
    c.length = 0;
    return c;
  }

  /** `cols` (and every array taken from it) is no longer read by anyone. */
  give(cols: SampleColumns): void {
    this.pool.give(cols);
  }

  get size(): number {
    return this.pool.size;
  }
}
