// Decoded samples read from storage, kept per series and fixed time window, as Prometheus' page
// cache keeps its mmap'd chunks: a repeated read of older data (older than the in-memory head
// covers) then costs no chDB query (a few ms fixed, whatever it reads) and no decoding.
//
// Exactness: an entry is the complete content of storage for one series in one window at the time
// it was read, and it must never hide a sample stored later. Every batch storage acknowledges
// having stored (or having failed to store: part of it may be there) drops the windows its times
// fall in, for all series (see storedBatch); retention drops and any other delete clear the cache.
// A read runs while inserts may land, so each read holds a ticket from before its query is sent:
// a batch stored (or a clear) in the meantime that touches the ticket's windows voids it, and a
// void ticket stores nothing. Only valid when this process is storage's only writer (chDB).
//
// Windows are aligned to the epoch, so queries over different ranges share entries. Window k holds
// times in (k·W, (k+1)·W], the same left-open intervals as PromQL reads (fromMs, toMs].
import type { SampleBatch } from '../storage/clickhouse/metrics-store.ts';

export interface StoredSampleCacheOptions {
  /** Samples held at most (about 16 bytes each, plus an entry's own cost counted as 16 more); the least recently used go first. Default 4M. */
  maxSamples?: number;
  /** Window length in ms. Default 2 h. */
  windowMs?: number;
  /** A window data was stored into less than this long ago (ms) is live: read as asked, not kept. Default 5 s (inserts run about every second while ingest runs). */
  liveMs?: number;
  /** Wall clock (tests). */
  now?: () => number;
}

/** One series' samples in one window, ascending by time; empty when the series has none there. */
export interface CachedWindow {
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  /** Times whose value is a stale marker (NaN in `values`). */
  readonly staleAt: readonly number[];
}

export interface StoredSampleCacheStats {
  entries: number;
  samples: number;
  maxSamples: number;
  hits: number;
  misses: number;
  evictions: number;
  /** Window invalidations by stored batches, and whole clears. */
  invalidations: number;
  /** Reads whose results were not kept because data landed in their windows meanwhile. */
  voidedReads: number;
}

/** A storage read in flight over windows [first, last]; void once data it may have missed is stored. */
export interface CacheReadTicket { readonly first: number; readonly last: number; void: boolean }

interface Entry { readonly fingerprint: string; readonly window: number; readonly data: CachedWindow; readonly cost: number }

/** Counted per entry on top of its samples: the arrays and map slots an entry costs (about 16 samples' bytes). */
const entryCost = 16;
/** A batch spanning more windows than this clears everything (cheaper than visiting each window). */
const maxWindowsPerInvalidation = 1024;

export class StoredSampleCache {
  readonly windowMs: number;
  private readonly maxSamples: number;
  private readonly windows = new Map<number, Map<string, Entry>>();
  /** Every entry, least recently used first (a Set keeps insertion order; a hit re-inserts). */
  private readonly recency = new Set<Entry>();
  private readonly inFlight = new Set<CacheReadTicket>();
  /** When each recently invalidated window was last invalidated (wall ms); see isLive. */
  private readonly touched = new Map<number, number>();
  private readonly liveMs: number;
  private readonly now: () => number;
  private samples = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private invalidations = 0;
  private voidedReads = 0;

  constructor(opts: StoredSampleCacheOptions = {}) {
    this.maxSamples = opts.maxSamples ?? 4_000_000;
    this.windowMs = opts.windowMs ?? 2 * 3600_000;
    this.liveMs = opts.liveMs ?? 5_000;
    this.now = opts.now ?? Date.now;
    if (!(this.windowMs > 0) || !Number.isInteger(this.windowMs)) throw new Error(`sample cache window: ${this.windowMs} ms is not a positive whole number of ms`);
  }

  /** The window holding time t (ms). */
  windowOf(t: number): number {
    return Math.ceil(t / this.windowMs) - 1;
  }

  /** The first window holding times after t (ms). */
  firstWindowAfter(t: number): number {
    return Math.floor(t / this.windowMs);
  }

  /** Start of window k: it holds times after this, through windowStart(k + 1). */
  windowStart(k: number): number {
    return k * this.windowMs;
  }

  stats(): StoredSampleCacheStats {
    return {
      entries: this.recency.size, samples: this.samples, maxSamples: this.maxSamples, hits: this.hits, misses: this.misses,
      evictions: this.evictions, invalidations: this.invalidations, voidedReads: this.voidedReads,
    };
  }

  get(fingerprint: string, window: number): CachedWindow | undefined {
    const e = this.windows.get(window)?.get(fingerprint);
    if (!e) { this.misses++; return undefined; }
    this.hits++;
    this.recency.delete(e);
    this.recency.add(e);
    return e.data;
  }

  /**
   * Whether data was stored into window k within liveMs (the newest windows, while ingest runs):
   * it would be dropped again at the next insert, so reading it whole to keep it is wasted work.
   */
  isLive(k: number): boolean {
    const t = this.touched.get(k);
    return t !== undefined && this.now() - t < this.liveMs;
  }

  /** Taken before a storage read of windows [first, last] is sent; end it with endRead. */
  beginRead(first: number, last: number): CacheReadTicket {
    const t: CacheReadTicket = { first, last, void: false };
    this.inFlight.add(t);
    return t;
  }

  endRead(ticket: CacheReadTicket): void {
    if (ticket.void) this.voidedReads++;
    this.inFlight.delete(ticket);
  }

  /** Keeps what a read under `ticket` returned for one series and window, unless data may have landed there since. */
  put(ticket: CacheReadTicket, fingerprint: string, window: number, data: CachedWindow): void {
    if (ticket.void || this.maxSamples <= 0 || window < ticket.first || window > ticket.last) return;
    const old = this.windows.get(window)?.get(fingerprint);
    if (old) this.remove(old, this.windows.get(window)!); // (a concurrent read of the same window)
    let byFp = this.windows.get(window);
    if (!byFp) { byFp = new Map(); this.windows.set(window, byFp); }
    const e: Entry = { fingerprint, window, data, cost: data.timestamps.length + entryCost };
    byFp.set(fingerprint, e);
    this.recency.add(e);
    this.samples += e.cost;
    while (this.samples > this.maxSamples && this.recency.size > 0) {
      const lru = this.recency.values().next().value as Entry;
      this.remove(lru, this.windows.get(lru.window)!);
      this.evictions++;
    }
  }

  /** Storage has stored (or failed to store) this batch: forget the windows its times fall in. */
  storedBatch(batch: SampleBatch): void {
    const ts = batch.timestampsMs;
    if (batch.length === 0) return;
    let min = ts[0]!, max = min;
    for (let i = 1; i < batch.length; i++) {
      const t = ts[i]!;
      if (t < min) min = t; else if (t > max) max = t;
    }
    this.invalidate(min, max);
  }

  /** Forgets the windows holding any time in [fromMs, toMs], and voids reads over them. */
  invalidate(fromMs: number, toMs: number): void {
    const first = this.windowOf(fromMs), last = this.windowOf(toMs);
    if (!(last - first < maxWindowsPerInvalidation)) { this.clear(); return; }
    this.invalidations++;
    for (const t of this.inFlight) if (t.first <= last && t.last >= first) t.void = true;
    const now = this.now();
    if (this.touched.size > 4 * maxWindowsPerInvalidation) {
      for (const [k, at] of this.touched) if (now - at >= this.liveMs) this.touched.delete(k);
      if (this.touched.size > 4 * maxWindowsPerInvalidation) this.touched.clear(); // a hint only: bounded before exact
    }
    for (let k = first; k <= last; k++) this.touched.set(k, now);
    if (this.windows.size === 0) return;
    for (let k = first; k <= last; k++) {
      const byFp = this.windows.get(k);
      if (!byFp) continue;
      for (const e of byFp.values()) { this.recency.delete(e); this.samples -= e.cost; }
      this.windows.delete(k);
    }
  }

  /** Forgets everything, and voids every read in flight (storage lost data: retention, deletes). */
  clear(): void {
    this.invalidations++;
    for (const t of this.inFlight) t.void = true;
    this.windows.clear();
    this.recency.clear();
    this.samples = 0;
  }

  private remove(e: Entry, byFp: Map<string, Entry>): void {
    byFp.delete(e.fingerprint);
    if (byFp.size === 0) this.windows.delete(e.window);
    this.recency.delete(e);
    this.samples -= e.cost;
  }
}
