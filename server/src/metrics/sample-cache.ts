// Decoded samples read from storage, kept per series and fixed time window, as Prometheus' page
// cache keeps its mmap'd chunks: a repeated read of data the in-memory head does not cover then
// costs no chDB query (a few ms fixed, whatever it reads) and no decoding.
//
// Exactness: an entry is the complete content of storage for one series in one window, and it
// must never hide a sample stored later. It is written through: every batch storage acknowledges
// having stored is merged into the entries of its series and windows (see storedBatch), so the
// window being written to stays cached while ingest runs; a batch that failed (part of it may be
// stored) drops them instead; retention drops and any other delete clear the cache. A read runs
// while inserts may land, so each read holds a ticket from before its query is sent: a batch
// stored (or a clear) in the meantime that touches the ticket's windows voids it, and a void
// ticket stores nothing. Only valid when this process is storage's only writer (chDB).
//
// Windows are aligned to the epoch, so queries over different ranges share entries. Window k holds
// times in (k·W, (k+1)·W], the same left-open intervals as PromQL reads (fromMs, toMs].
import type { SampleBatch } from '../storage/clickhouse/metrics-store.ts';
import { isStaleMarkerAt } from '../storage/clickhouse/row-binary.ts';

export interface StoredSampleCacheOptions {
  /** Samples held at most (about 16 bytes each, with the room kept after an entry's samples to append to, plus an entry's own cost counted as 16 more); the least recently used go first. Default 4M. */
  maxSamples?: number;
  /** Window length in ms. Default 2 h. */
  windowMs?: number;
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
  /** Entries a stored batch was merged into. */
  merges: number;
  /** Drops of the entries a failed batch touched, and whole clears. */
  invalidations: number;
  /** Reads whose results were not kept because data landed in their windows meanwhile. */
  voidedReads: number;
}

/** A storage read in flight over windows [first, last]; void once data it may have missed is stored. */
export interface CacheReadTicket { readonly first: number; readonly last: number; void: boolean }

interface Entry {
  readonly fingerprint: string;
  readonly window: number;
  /**
   * What readers get. Never changed in place (readers hold views of it): when samples were
   * appended to `room` since, the next get() makes a new one.
   */
  data: CachedWindow;
  cost: number;
  /** Whether `room` has changed since `data` was made. */
  appended: boolean;
  /**
   * Columns with room after their samples, made at the first merge: samples later than all held
   * are written there, beyond every view handed out.
   */
  room?: Room;
}

interface Room { timestamps: Float64Array; values: Float64Array; length: number; staleAt: number[] }

const noStale: readonly number[] = [];

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
  private samples = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private merges = 0;
  private invalidations = 0;
  private voidedReads = 0;

  constructor(opts: StoredSampleCacheOptions = {}) {
    this.maxSamples = opts.maxSamples ?? 4_000_000;
    this.windowMs = opts.windowMs ?? 2 * 3600_000;
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
      evictions: this.evictions, merges: this.merges, invalidations: this.invalidations, voidedReads: this.voidedReads,
    };
  }

  get(fingerprint: string, window: number): CachedWindow | undefined {
    const e = this.windows.get(window)?.get(fingerprint);
    if (!e) { this.misses++; return undefined; }
    this.hits++;
    this.recency.delete(e);
    this.recency.add(e);
    const room = e.room;
    if (room && e.appended) {
      e.appended = false;
      e.data = { timestamps: room.timestamps.subarray(0, room.length), values: room.values.subarray(0, room.length), staleAt: room.staleAt.length > 0 ? room.staleAt.slice() : noStale };
    }
    return e.data;
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
    const e: Entry = { fingerprint, window, data, cost: data.timestamps.length + entryCost, appended: false };
    byFp.set(fingerprint, e);
    this.recency.add(e);
    this.samples += e.cost;
    this.evictOverBound();
  }

  /** Storage has stored this batch: its samples join the entries of their series and windows. */
  storedBatch(batch: SampleBatch): void {
    if (!this.voidReadsOver(batch) || this.windows.size === 0) return;
    const values = new DataView(batch.valueBytes.buffer, batch.valueBytes.byteOffset, batch.valueBytes.byteLength);
    this.forEachHeldRun(batch, (e, lo, hi) => this.merge(e, batch.timestampsMs, values, lo, hi));
    this.evictOverBound();
  }

  /** Storage failed to store this batch, but part of it may be there: its series' entries in its windows go. */
  writeFailed(batch: SampleBatch): void {
    if (!this.voidReadsOver(batch)) return;
    this.invalidations++;
    const held = new Set<Entry>();
    this.forEachHeldRun(batch, (e) => held.add(e));
    for (const e of held) this.remove(e, this.windows.get(e.window)!);
  }

  /**
   * Voids the reads in flight over the batch's windows (they may or may not have seen it). False
   * when nothing more is to be done: an empty batch, or one over so many windows that everything
   * was cleared instead.
   */
  private voidReadsOver(batch: SampleBatch): boolean {
    const ts = batch.timestampsMs;
    if (batch.length === 0) return false;
    let min = ts[0]!, max = min;
    for (let i = 1; i < batch.length; i++) {
      const t = ts[i]!;
      if (t < min) min = t; else if (t > max) max = t;
    }
    const first = this.windowOf(min), last = this.windowOf(max);
    if (!(last - first < maxWindowsPerInvalidation)) { this.clear(); return false; }
    for (const t of this.inFlight) if (t.first <= last && t.last >= first) t.void = true;
    return true;
  }

  /** Calls fn for each run of the batch's rows [lo, hi) of one series in one window that has a held entry. */
  private forEachHeldRun(batch: SampleBatch, fn: (e: Entry, lo: number, hi: number) => void): void {
    const ts = batch.timestampsMs, series = batch.seriesIndex;
    let lastWindow = NaN, byFp: Map<string, Entry> | undefined;
    for (let i = 0, j: number; i < batch.length; i = j) {
      const k = this.windowOf(ts[i]!), si = series[i]!;
      for (j = i + 1; j < batch.length && series[j] === si && this.windowOf(ts[j]!) === k;) j++;
      if (k !== lastWindow) { lastWindow = k; byFp = this.windows.get(k); }
      const e = byFp?.get(batch.series[si]!.fingerprintText);
      if (e) fn(e, i, j);
    }
  }

  /**
   * Merges the batch's rows [lo, hi) into an entry. Rows later than all held, in time order (a
   * scrape's), are appended to the room; otherwise a sample for a time already held is replaced (as
   * the head does; within the batch the later row wins), in new columns.
   */
  private merge(e: Entry, ts: Float64Array, values: DataView, lo: number, hi: number): void {
    const room = this.roomFor(e, hi - lo);
    let prev = room.length > 0 ? room.timestamps[room.length - 1]! : -Infinity;
    let ascending = true;
    for (let i = lo; i < hi && ascending; i++) { ascending = ts[i]! > prev; prev = ts[i]!; }
    if (ascending) {
      for (let i = lo; i < hi; i++) {
        const isStale = isStaleMarkerAt(values, i * 8);
        room.timestamps[room.length] = ts[i]!;
        room.values[room.length] = isStale ? NaN : values.getFloat64(i * 8, true);
        if (isStale) room.staleAt.push(ts[i]!);
        room.length++;
      }
    } else {
      // By time, the last row of each time only, then merged with what is held.
      const rows = Array.from({ length: hi - lo }, (_, k) => lo + k).sort((a, b) => ts[a]! - ts[b]! || a - b)
        .filter((i, k, all) => k + 1 === all.length || ts[all[k + 1]!] !== ts[i]);
      const n = room.length, m = rows.length;
      const t = new Float64Array(Math.max(16, 2 * (n + m))), v = new Float64Array(t.length);
      const staleAt: number[] = [];
      let a = 0, b = 0, w = 0;
      while (a < n || b < m) {
        const i = rows[b]!;
        if (b < m && (a >= n || ts[i]! <= room.timestamps[a]!)) {
          if (a < n && room.timestamps[a] === ts[i]) a++; // replaced
          const isStale = isStaleMarkerAt(values, i * 8);
          t[w] = ts[i]!; v[w] = isStale ? NaN : values.getFloat64(i * 8, true);
          if (isStale) staleAt.push(ts[i]!);
          b++;
        } else {
          t[w] = room.timestamps[a]!; v[w] = room.values[a]!;
          if (Number.isNaN(v[w]) && room.staleAt.includes(t[w]!)) staleAt.push(t[w]!);
          a++;
        }
        w++;
      }
      e.room = { timestamps: t, values: v, length: w, staleAt };
      this.recost(e, t.length);
    }
    e.appended = true;
    this.merges++;
  }

  /** The entry's room, made or grown to hold `extra` more samples. */
  private roomFor(e: Entry, extra: number): Room {
    const r = e.room;
    if (r && r.length + extra <= r.timestamps.length) return r;
    const length = r ? r.length : e.data.timestamps.length;
    const cap = Math.max(16, 2 * (length + extra));
    const timestamps = new Float64Array(cap), values = new Float64Array(cap);
    timestamps.set(r ? r.timestamps.subarray(0, length) : e.data.timestamps);
    values.set(r ? r.values.subarray(0, length) : e.data.values);
    e.room = { timestamps, values, length, staleAt: r ? r.staleAt : [...e.data.staleAt] };
    this.recost(e, cap);
    return e.room;
  }

  /** An entry's cost is its columns' length in samples (with the room after them), plus entryCost. */
  private recost(e: Entry, columnLength: number): void {
    this.samples += columnLength + entryCost - e.cost;
    e.cost = columnLength + entryCost;
  }

  private evictOverBound(): void {
    while (this.samples > this.maxSamples && this.recency.size > 0) {
      const lru = this.recency.values().next().value as Entry;
      this.remove(lru, this.windows.get(lru.window)!);
      this.evictions++;
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
