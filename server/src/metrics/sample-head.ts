// The newest samples in memory, as Prometheus keeps its head block: PromQL reads whose whole window
// lies in the time the head covers are answered from here without a storage query (chDB has a fixed
// cost of several ms per query, more than a typical dashboard query needs in total).
//
// Exactness rests on three rules. (1) The head only learns samples from inserts that have finished
// (MetricsStore calls add() after the insert resolves), so it never shows what storage would not.
// (2) It claims completeness only for times after `completeAfter`: at start that is the start of
// the span head-replay.ts read back from storage (or the newest time stored, without a replay), and
// it only moves forward — when memory is reclaimed (the oldest samples go), when retention drops
// days from storage, and when an insert fails (storage may hold part of that batch). (3) Only one
// process writes the data directory (chDB), so nothing reaches storage behind the head's back; with
// a shared ClickHouse server there is no head.
//
// Within a series samples are kept sorted by time; a sample for a time already held replaces it,
// as the storage read keeps the copy written last. Stale markers (a NaN payload) are flagged from
// their bits as they arrive and reported in staleAt, as the storage read does.
import type { SampleBatch, SeriesIdentity } from '../storage/clickhouse/metrics-store.ts';
import { isStaleMarkerAt } from '../storage/clickhouse/row-binary.ts';
import type { SeriesSamples } from './engine/evaluator.ts';
import type { Labels } from './engine/labels.ts';
import { evaluableHere, matcherFilter } from './engine/selector-plan.ts';
import type { LabelMatcher } from './label-matcher.ts';

/** Samples the head holds at most unless told otherwise (~70 MB). */
export const defaultHeadSamples = 4_000_000;

export interface SampleHeadOptions {
  /** Samples held at most; beyond it the oldest quarter (by time) is dropped. Default 4M (~70 MB). */
  maxSamples?: number;
  /** Series held at most; beyond it the head starts over from the newest time it has seen. Default 500k. */
  maxSeries?: number;
}

export interface SampleHeadStats { series: number; samples: number; completeAfterMs: number; reclaims: number; hits: number; misses: number }

/**
 * One series' samples, ascending by time: times and values interleaved in one array (one
 * allocation per growth instead of one per column: allocating typed arrays was most of the cost
 * of taking a new series' samples), stale flags only once the series has had a stale marker.
 */
class HeadSeries {
  length = 0;
  /** Time of sample i at 2i, its value at 2i + 1. */
  tv: Float64Array;
  stale: Uint8Array | undefined;
  /** Cleared when the head drops the series, so an identity's cached reference to it goes stale. */
  live = true;

  constructor(readonly owner: object, readonly metricName: string, readonly labels: Labels, capacity: number) {
    this.tv = new Float64Array(2 * capacity);
  }

  /** Makes room for n more samples. */
  reserve(n: number): void {
    const need = this.length + n;
    if (2 * need > this.tv.length) this.resize(Math.max(need, this.grownCapacity()));
  }

  /** Capacity after a growth: fourfold while small (fewer allocations for a new series), then double. */
  private grownCapacity(): number {
    const cap = this.tv.length / 2;
    return cap < 256 ? cap * 4 : cap * 2;
  }

  /** Adds or replaces the sample at time t; returns 1 when it was new. */
  put(t: number, v: number, isStale: boolean): number {
    const n = this.length;
    const tv = this.tv;
    if (n === 0 || t > tv[2 * n - 2]!) {
      if (2 * n === tv.length) { this.resize(this.grownCapacity()); return this.put(t, v, isStale); }
      tv[2 * n] = t; tv[2 * n + 1] = v;
      if (isStale || this.stale !== undefined) this.setStale(n, isStale);
      this.length = n + 1;
      return 1;
    }
    const i = this.upperBound(t) - 1;
    if (i >= 0 && tv[2 * i] === t) {
      tv[2 * i + 1] = v;
      if (isStale || this.stale !== undefined) this.setStale(i, isStale);
      return 0;
    }
    return this.insertAt(i + 1, t, v, isStale);
  }

  time(i: number): number {
    return this.tv[2 * i]!;
  }

  private setStale(i: number, isStale: boolean): void {
    this.stale ??= new Uint8Array(this.tv.length / 2);
    this.stale[i] = isStale ? 1 : 0;
  }

  /** Inserts at index i, after earlier times and before later ones (a late, out-of-order sample). */
  private insertAt(i: number, t: number, v: number, isStale: boolean): number {
    const n = this.length;
    if (2 * n === this.tv.length) this.resize(this.grownCapacity());
    this.tv.copyWithin(2 * i + 2, 2 * i, 2 * n);
    this.stale?.copyWithin(i + 1, i, n);
    this.tv[2 * i] = t; this.tv[2 * i + 1] = v;
    if (isStale || this.stale !== undefined) this.setStale(i, isStale);
    this.length = n + 1;
    return 1;
  }

  /** First index whose time is after t. */
  upperBound(t: number): number {
    const tv = this.tv;
    let lo = 0, hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (tv[2 * mid]! <= t) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** Drops samples at or before t; returns how many. */
  dropThrough(t: number): number {
    const k = this.upperBound(t);
    if (k === 0) return 0;
    this.tv.copyWithin(0, 2 * k, 2 * this.length);
    this.stale?.copyWithin(0, k, this.length);
    this.length -= k;
    if (this.tv.length > 128 && this.length < this.tv.length / 8) this.resize(Math.max(8, this.length * 2));
    return k;
  }

  /** Times, values and stale times of samples [lo, hi), copied (later inserts may shift these). */
  copy(lo: number, hi: number): { timestamps: Float64Array; values: Float64Array; staleAt: number[] } {
    const n = hi - lo;
    const timestamps = new Float64Array(n), values = new Float64Array(n);
    const tv = this.tv;
    for (let i = 0, j = 2 * lo; i < n; i++, j += 2) { timestamps[i] = tv[j]!; values[i] = tv[j + 1]!; }
    const staleAt: number[] = [];
    const st = this.stale;
    if (st !== undefined) for (let i = lo; i < hi; i++) if (st[i] === 1) staleAt.push(tv[2 * i]!);
    return { timestamps, values, staleAt };
  }

  private resize(cap: number): void {
    const tv = new Float64Array(2 * cap);
    tv.set(this.tv.subarray(0, 2 * this.length));
    this.tv = tv;
    if (this.stale !== undefined) {
      const st = new Uint8Array(cap);
      st.set(this.stale.subarray(0, this.length));
      this.stale = st;
    }
  }
}

export class SampleHead {
  private completeAfter: number;
  private readonly series = new Map<bigint, HeadSeries>();
  private readonly byName = new Map<string, Set<HeadSeries>>();
  private samples = 0;
  private newestSeen = -Infinity;
  private reclaims = 0;
  private hits = 0;
  private misses = 0;
  private readonly maxSamples: number;
  private readonly maxSeries: number;

  /** `storedThroughMs`: the head holds every stored sample after it (none when it is the newest stored time). */
  constructor(storedThroughMs: number, opts: SampleHeadOptions = {}) {
    this.completeAfter = storedThroughMs;
    this.maxSamples = opts.maxSamples ?? defaultHeadSamples;
    this.maxSeries = opts.maxSeries ?? 500_000;
  }

  stats(): SampleHeadStats {
    return { series: this.series.size, samples: this.samples, completeAfterMs: this.completeAfter, reclaims: this.reclaims, hits: this.hits, misses: this.misses };
  }

  /** Records a batch that storage now holds durably. */
  add(batch: SampleBatch): void {
    const { series, seriesIndex, timestampsMs, valueBytes } = batch;
    const values = new DataView(valueBytes.buffer, valueBytes.byteOffset, valueBytes.byteLength);
    let lastIndex = -1;
    let s: HeadSeries | undefined;
    for (let i = 0; i < batch.length; i++) {
      const t = timestampsMs[i]!;
      if (t <= this.completeAfter) continue; // storage alone answers for those times
      const si = seriesIndex[i]!;
      if (si !== lastIndex) {
        lastIndex = si;
        s = this.seriesOf(series[si]!);
        // Room for the whole run of this series' samples at once.
        let run = 1;
        while (i + run < batch.length && seriesIndex[i + run] === si) run++;
        s.reserve(run);
      }
      const o = i * 8;
      const isStale = isStaleMarkerAt(values, o);
      this.samples += s!.put(t, isStale ? NaN : values.getFloat64(o, true), isStale);
      if (t > this.newestSeen) this.newestSeen = t;
    }
    this.keepWithinBounds();
  }

  /**
   * The head's entry for a series, made when new. The identity keeps a reference to it (ingest
   * reuses identities across requests), which saves a lookup by fingerprint per series and batch.
   */
  private seriesOf(id: SeriesIdentity): HeadSeries {
    const cached = id.headEntry as HeadSeries | undefined;
    if (cached !== undefined && cached.live && cached.owner === this) return cached;
    const s = this.series.get(id.fingerprint) ?? this.newSeries(id.fingerprint, id.metricName, labelsOf(id));
    id.headEntry = s;
    return s;
  }

  private newSeries(fingerprint: bigint, metricName: string, labels: Labels): HeadSeries {
    const s = new HeadSeries(this, metricName, labels, 8);
    this.series.set(fingerprint, s);
    let named = this.byName.get(metricName);
    if (!named) this.byName.set(metricName, named = new Set());
    named.add(s);
    return s;
  }

  /**
   * Start-up replay (head-replay.ts): a stored series' samples, ascending by time, read back before
   * any write, as add() takes a batch. `values` holds NaN at the stale markers' times, `staleAt`.
   */
  replay(fingerprint: bigint, labels: Labels, timestamps: Float64Array, values: Float64Array, staleAt: readonly number[]): void {
    const s = this.series.get(fingerprint) ?? this.newSeries(fingerprint, labels.__name__!, labels);
    s.reserve(timestamps.length);
    const stale = staleAt.length > 0 ? new Set(staleAt) : undefined;
    for (let i = 0; i < timestamps.length; i++) {
      const t = timestamps[i]!;
      if (t <= this.completeAfter) continue;
      this.samples += s.put(t, values[i]!, stale?.has(t) ?? false);
      if (t > this.newestSeen) this.newestSeen = t;
    }
    this.keepWithinBounds();
  }

  /**
   * A write that failed may have left part of its batch in storage, which the head does not have:
   * from now on the head answers only for times after all of it.
   */
  writeFailed(batch: SampleBatch): void {
    let newest = -Infinity;
    for (let i = 0; i < batch.length; i++) if (batch.timestampsMs[i]! > newest) newest = batch.timestampsMs[i]!;
    if (newest > this.completeAfter) this.forgetThrough(newest);
  }

  /** Storage dropped data at or before `t` (retention): so does the head, and it stops answering for it. */
  forgetThrough(t: number): void {
    if (t <= this.completeAfter) return;
    this.completeAfter = t;
    for (const [fp, s] of this.series) {
      this.samples -= s.dropThrough(t);
      if (s.length === 0) this.remove(fp, s);
    }
  }

  /**
   * Series matching all matchers with samples in (fromMs, toMs], or undefined when the head cannot
   * answer exactly (the window reaches before what it covers, or a regex JS cannot evaluate as RE2 does).
   */
  select(matchers: readonly LabelMatcher[], fromMs: number, toMs: number): SeriesSamples[] | undefined {
    if (!(fromMs >= this.completeAfter) || !matchers.every(evaluableHere)) { this.misses++; return undefined; }
    this.hits++;
    const name = matchers.find((m) => m.name === '__name__' && m.type === '=');
    const candidates: Iterable<HeadSeries> = name ? (this.byName.get(name.value) ?? []) : this.series.values();
    const keep = matcherFilter(matchers.filter((m) => m !== name));
    const out: SeriesSamples[] = [];
    for (const s of candidates) {
      if (!keep(s.labels)) continue;
      const lo = s.upperBound(fromMs), hi = s.upperBound(toMs);
      if (hi <= lo) continue;
      // Copies: the evaluator keeps these while later inserts may shift the head's columns.
      out.push({ labels: s.labels, ...s.copy(lo, hi) });
    }
    return out;
  }

  /** After samples are taken in: starts over beyond maxSeries, else drops the oldest beyond maxSamples. */
  private keepWithinBounds(): void {
    if (this.series.size > this.maxSeries) this.startOver();
    else if (this.samples > this.maxSamples) this.reclaim();
  }

  /** Drops the oldest quarter of samples by time (estimated from an even sample of all times). */
  private reclaim(): void {
    this.reclaims++;
    const stride = Math.max(1, Math.floor(this.samples / 20_000));
    const probe: number[] = [];
    let k = 0;
    for (const s of this.series.values()) {
      for (let i = (stride - (k % stride)) % stride; i < s.length; i += stride) probe.push(s.time(i));
      k += s.length;
    }
    probe.sort((a, b) => a - b);
    const cutoff = probe[Math.floor(probe.length / 4)] ?? this.newestSeen;
    this.forgetThrough(Math.max(cutoff, this.completeAfter + 1));
  }

  /** Too many series to index: keep nothing, and answer only for times after the newest seen. */
  private startOver(): void {
    this.reclaims++;
    for (const s of this.series.values()) s.live = false;
    this.series.clear();
    this.byName.clear();
    this.samples = 0;
    this.completeAfter = Math.max(this.completeAfter, this.newestSeen);
  }

  private remove(fp: bigint, s: HeadSeries): void {
    s.live = false;
    this.series.delete(fp);
    const named = this.byName.get(s.metricName);
    named?.delete(s);
    if (named?.size === 0) this.byName.delete(s.metricName);
  }
}

function labelsOf(id: SeriesIdentity): Labels {
  const labels: Labels = { __name__: id.metricName };
  for (const [k, v] of id.labels) labels[k] = v;
  return labels;
}
