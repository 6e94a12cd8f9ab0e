// The PromQL engine's read path: matchers are resolved on the series table (labels once per series
// and day), and the samples of the matching fingerprints come back as flat RowBinary rows
// (fingerprint, time, value) in storage order, so neither side builds or parses JSON and the engine
// aggregates nothing. As the only writer (chDB), the reader caches which fingerprints the matchers
// resolve to until new series rows are stored, and a query's selectors then cost one samples read
// in all; otherwise the series table is read as a subquery of the samples read. Label sets are not
// read with the samples: a series' labels never change (its fingerprint is their hash), so they
// are cached by fingerprint and fetched only for series this process has not seen yet. Every
// request value is a bound parameter, never SQL text.
import type { ClickHouseDriver } from '../storage/clickhouse/driver.ts';
import { seriesDaysPredicate } from '../storage/clickhouse/metrics-store.ts';
import { isStaleMarkerAt } from '../storage/clickhouse/row-binary.ts';
import { metricsSeriesSamplesTable, metricsSeriesTable } from '../storage/clickhouse/schema.ts';
import type { QueryParams } from '../storage/clickhouse/session.ts';
import type { SeriesSamples, SeriesSource } from './engine/evaluator.ts';
import { anchoredRegex, type LabelMatcher } from './label-matcher.ts';
import type { CachedWindow, StoredSampleCache } from './sample-cache.ts';
import type { SampleHead } from './sample-head.ts';

/** Bytes per RowBinary row: UInt64 fingerprint, Float64 milliseconds, Float64 value (after a UInt8 selector index when several are read at once). */
const rowBytes = 24;
/** Selector indexes travel as UInt8, 255 meaning "none". */
const maxSelectorsPerRead = 200;
const dayMs = 86_400_000;
/**
 * Settings of the resolved-series samples read (chDB), measured with bench/promql-range.ts
 * NO_HEAD=1: a few hundred KB of RowBinary gain nothing from parallel formatting threads, which
 * were started and stopped for every read; and PREWHERE (the fingerprint and range filter first,
 * the other columns after) cost more than it saved, the primary key having already narrowed each
 * part to the selected series' granules. Neither changes results.
 */
const sampleReadSettings = 'SETTINGS output_format_parallel_formatting = 0, optimize_move_to_prewhere = 0';

export interface SeriesReaderOptions {
  /** Label sets kept in memory (the oldest are dropped beyond this). Default 200k. */
  maxCachedSeries?: number;
  /** Recent samples in memory: selectors it can answer exactly skip storage (see sample-head.ts). */
  head?: SampleHead;
  /** Resolves once every acknowledged write is readable (MetricsStore.settled); awaited before each read. */
  settled?: () => Promise<void>;
  /**
   * Changes whenever series rows are stored (MetricsStore.seriesGeneration). Given only when this
   * process is the only writer: then which series a selector matches is cached until it changes,
   * and sample reads name the fingerprints instead of querying the series table again.
   */
  seriesGeneration?: () => number;
  /**
   * Decoded samples of earlier storage reads, per series and window (see sample-cache.ts). Used
   * only with seriesGeneration (this process the only writer), and only exact when the store's
   * observer invalidates it for every batch stored.
   */
  cache?: StoredSampleCache;
}

export interface SeriesReaderStats { cachedSeries: number; evictedSeries: number; labelFetches: number }

export class ClickHouseSeriesReader implements SeriesSource {
  private readonly labelsByFingerprint = new Map<string, Record<string, string>>();
  private readonly maxCached: number;
  private evicted = 0;
  private labelFetches = 0;
  /** Regexes ClickHouse has already compiled once (see checkRegexes); bounded like the label cache. */
  private readonly checkedRegexes = new Set<string>();
  private readonly head: SampleHead | undefined;
  private readonly settled: (() => Promise<void>) | undefined;
  private readonly seriesGeneration: (() => number) | undefined;
  private readonly cache: StoredSampleCache | undefined;
  /** Fingerprints (decimal) a selector's matchers resolved to over a span of days, with the generation they are valid for. */
  private readonly resolved = new Map<string, { generation: number; fingerprints: string[] }>();

  constructor(private readonly db: ClickHouseDriver, opts: SeriesReaderOptions = {}) {
    this.maxCached = opts.maxCachedSeries ?? 200_000;
    this.head = opts.head;
    this.settled = opts.settled;
    this.seriesGeneration = opts.seriesGeneration;
    this.cache = opts.cache;
  }

  stats(): SeriesReaderStats {
    return { cachedSeries: this.labelsByFingerprint.size, evictedSeries: this.evicted, labelFetches: this.labelFetches };
  }

  /** Series matching all matchers with samples in (fromMs, toMs], samples ascending by time. */
  async selectSeries(matchers: readonly LabelMatcher[], fromMs: number, toMs: number): Promise<SeriesSamples[]> {
    return (await this.selectSeriesMany([{ matchers, fromMs, toMs }]))[0]!;
  }

  /**
   * Several selectors in one storage query: every query has a fixed cost, and chDB runs bound
   * queries one at a time anyway. Each row carries the index of the selector it matched (a row
   * matching two selectors comes twice).
   */
  async selectSeriesMany(requests: readonly SeriesRequest[]): Promise<SeriesSamples[][]> {
    if (this.settled) await this.settled();
    if (!this.head) return this.readStorage(requests);
    const out: SeriesSamples[][] = [];
    const fromStorage: number[] = [];
    requests.forEach((r, i) => {
      const held = this.head!.select(r.matchers, r.fromMs, r.toMs);
      if (held) out[i] = held; else fromStorage.push(i);
    });
    if (fromStorage.length > 0) {
      const read = await this.readStorage(fromStorage.map((i) => requests[i]!));
      fromStorage.forEach((i, k) => { out[i] = read[k]!; });
    }
    return out;
  }

  private async readStorage(requests: readonly SeriesRequest[]): Promise<SeriesSamples[][]> {
    if (requests.length === 0) return [];
    if (requests.length > maxSelectorsPerRead) {
      const out: SeriesSamples[][] = [];
      for (let i = 0; i < requests.length; i += maxSelectorsPerRead) out.push(...await this.readStorage(requests.slice(i, i + maxSelectorsPerRead)));
      return out;
    }
    const params: QueryParams = {};
    const inSeries = this.db.cluster ? 'GLOBAL IN' : 'IN'; // a subquery over a Distributed table must be sent to the shards whole
    const clauses = requests.map((r, j) => selectorClauses(r.matchers, params, `s${j}_`, r.fromMs, r.toMs));
    await this.checkRegexes(requests.flatMap((r, j) => r.matchers.map((m, i) => [m, `s${j}_v${i}`] as const)), params);
    if (this.seriesGeneration) {
      // Name the series: the series table is then read only when its rows have changed.
      const fingerprints = await this.resolveSeries(requests, clauses.map((c) => c.series), params);
      checkFingerprints(fingerprints);
      if (this.cache) return this.readThroughCache(this.cache, requests, clauses, fingerprints, params);
      return this.readResolved(requests, clauses, fingerprints, params);
    }
    const wheres = clauses.map((c) => `${c.samples} AND fingerprint ${inSeries} (SELECT fingerprint FROM ${metricsSeriesTable} WHERE ${c.series})`);
    const many = requests.length > 1;
    const where = many ? wheres.map((w) => `(${w})`).join(' OR ') : wheres[0]!;
    // No ORDER BY: decodeSampleRows groups and orders rows for less than ClickHouse's sort costs.
    const bytes = await this.db.rowBinary(`${many
      ? `SELECT sel, fingerprint, toFloat64(toUnixTimestamp64Milli(ts)), value FROM ${metricsSeriesSamplesTable}
        ARRAY JOIN arrayFilter(x -> x != 255, [${wheres.map((w, j) => `if(${w}, ${j}, 255)`).join(', ')}]) AS sel
        WHERE ${where}`
      : `SELECT fingerprint, toFloat64(toUnixTimestamp64Milli(ts)), value FROM ${metricsSeriesSamplesTable} WHERE ${where}`}`, params);
    return this.withLabels(requests.length, decodeSampleRows(bytes, many));
  }

  /**
   * The samples of already resolved series: one scan for every selector, rows without a selector
   * column. Which selectors a row answers follows from its fingerprint and time, so it is worked out
   * here instead of by the engine (an ARRAY JOIN evaluating every selector's predicate per row),
   * and a series two selectors share comes once.
   */
  private async readResolved(requests: readonly SeriesRequest[], clauses: readonly SelectorClauses[], fingerprints: readonly string[][], params: QueryParams): Promise<SeriesSamples[][]> {
    const selectorsOf = new Map<string, number[]>();
    fingerprints.forEach((fps, j) => {
      for (const f of fps) {
        const js = selectorsOf.get(f);
        if (js) js.push(j); else selectorsOf.set(f, [j]);
      }
    });
    // A selector that names only its metric wants (nearly) every series of that metric: the key
    // narrows the read by name already, and without the set the engine reads ~7% faster (bench
    // NO_HEAD=1, interleaved). Such selectors over the same range share one term,
    // `range AND metric_name IN (…)`, cheaper to filter by than one OR branch each (~9% for two).
    // Rows are kept by the resolved fingerprints below either way, so results are the same.
    const wheres: string[] = [];
    const byRange = new Map<string, number[]>();
    requests.forEach((r, j) => {
      if (fingerprints[j]!.length === 0) return;
      const c = clauses[j]!;
      if (namesOnlyItsMetric(r.matchers) && c.name) {
        const key = `${r.fromMs}:${r.toMs}`;
        const js = byRange.get(key);
        if (js) js.push(j); else byRange.set(key, [j]);
      } else {
        wheres.push(`(${c.samples} AND fingerprint IN (${fingerprints[j]!.join(', ')}))`);
      }
    });
    for (const js of byRange.values()) {
      wheres.push(js.length === 1 ? `(${clauses[js[0]!]!.samples})` : `(${clauses[js[0]!]!.range} AND metric_name IN (${js.map((j) => clauses[j]!.name).join(', ')}))`);
    }
    if (wheres.length === 0) return requests.map(() => []);
    const decoded: DecodedSeries[] = [];
    for (const s of await this.readSampleRows(wheres, params)) {
      for (const j of selectorsOf.get(s.fingerprint) ?? []) {
        const part = sliceToRange(s, requests[j]!);
        if (part) decoded.push({ ...part, selector: j });
      }
    }
    return this.withLabels(requests.length, decoded);
  }

  /**
   * The samples of resolved series through the cache: each series' windows over each request's
   * range come from the cache where held; the rest are read in one scan, over whole windows (from
   * the request's first missing window through its last, for the series missing any), and kept.
   */
  private async readThroughCache(cache: StoredSampleCache, requests: readonly SeriesRequest[], clauses: readonly SelectorClauses[], fingerprints: readonly string[][], params: QueryParams): Promise<SeriesSamples[][]> {
    /** Cached or read whole, per fingerprint and window. */
    const got = new Map<string, Map<number, CachedWindow>>();
    const spans = requests.map((r) => [cache.firstWindowAfter(r.fromMs), cache.windowOf(r.toMs)] as const);
    const misses: { j: number; fps: string[]; first: number; last: number }[] = [];
    const wheres: string[] = [];
    requests.forEach((r, j) => {
      const [a, b] = spans[j]!;
      if (fingerprints[j]!.length === 0 || r.toMs <= r.fromMs) return;
      let first = Infinity, last = -Infinity;
      const fps: string[] = [];
      for (const f of fingerprints[j]!) {
        let windows = got.get(f);
        if (!windows) { windows = new Map(); got.set(f, windows); }
        let missing = false;
        for (let w = a; w <= b; w++) {
          if (windows.has(w)) continue;
          const c = cache.get(f, w);
          if (c) { windows.set(w, c); continue; }
          missing = true;
          if (w < first) first = w;
          if (w > last) last = w;
        }
        if (missing) fps.push(f);
      }
      if (fps.length > 0) {
        misses.push({ j, fps, first, last });
        params[`s${j}_wf`] = cache.windowStart(first);
        params[`s${j}_wt`] = cache.windowStart(last + 1);
        const range = `ts > fromUnixTimestamp64Milli({s${j}_wf:Int64}) AND ts <= fromUnixTimestamp64Milli({s${j}_wt:Int64})`;
        const name = clauses[j]!.name;
        // As in readResolved: a selector naming only its metric reads it whole, without the set.
        wheres.push(name && namesOnlyItsMetric(r.matchers) && fps.length === fingerprints[j]!.length
          ? `(${range} AND metric_name = ${name})`
          : `(${range}${name ? ` AND metric_name = ${name}` : ''} AND fingerprint IN (${fps.join(', ')}))`);
      }
    });
    if (misses.length > 0) {
      const ticket = cache.beginRead(Math.min(...misses.map((m) => m.first)), Math.max(...misses.map((m) => m.last)));
      try {
        const read = new Map<string, DecodedSeries>();
        for (const s of await this.readSampleRows(wheres, params)) read.set(s.fingerprint, s);
        for (const { fps, first, last } of misses) {
          for (const f of fps) {
            const windows = got.get(f)!;
            const s = read.get(f);
            // The read may hold rows of this series outside [first, last] (another request's): skipped.
            let i = s ? firstAbove(s.timestamps, cache.windowStart(first)) : 0;
            for (let w = first; w <= last; w++) {
              const end = s ? firstAbove(s.timestamps, cache.windowStart(w + 1)) : 0;
              if (!windows.has(w)) {
                const data = s ? windowOf(s, i, end) : emptyWindow;
                windows.set(w, data);
                cache.put(ticket, f, w, data);
              }
              i = end;
            }
          }
        }
      } finally {
        cache.endRead(ticket);
      }
    }
    const decoded: DecodedSeries[] = [];
    requests.forEach((r, j) => {
      const [a, b] = spans[j]!;
      if (r.toMs <= r.fromMs) return;
      for (const f of fingerprints[j]!) {
        const windows = got.get(f)!;
        const parts: [CachedWindow, number, number][] = [];
        for (let w = a; w <= b; w++) {
          const c = windows.get(w)!;
          parts.push([c, w === a ? firstAbove(c.timestamps, r.fromMs) : 0, w === b ? firstAbove(c.timestamps, r.toMs) : c.timestamps.length]);
        }
        const part = joinParts(parts, r);
        if (part) decoded.push({ selector: j, fingerprint: f, ...part });
      }
    });
    return this.withLabels(requests.length, decoded);
  }

  /** The sample rows matching any of `wheres`, one scan, decoded per series (fingerprint, time order). */
  private async readSampleRows(wheres: readonly string[], params: QueryParams): Promise<DecodedSeries[]> {
    // No ORDER BY: decodeSampleRows groups and orders rows for less than ClickHouse's sort costs.
    const bytes = await this.db.rowBinary(`SELECT fingerprint, toFloat64(toUnixTimestamp64Milli(ts)), value
      FROM ${metricsSeriesSamplesTable} WHERE ${wheres.join(' OR ')} ${sampleReadSettings}`, params);
    return decodeSampleRows(bytes);
  }

  /** Attaches each decoded series' label set (fetching those not cached) and groups them by selector. */
  private async withLabels(selectors: number, decoded: readonly DecodedSeries[]): Promise<SeriesSamples[][]> {
    const missing = [...new Set(decoded.filter((s) => !this.labelsByFingerprint.has(s.fingerprint)).map((s) => s.fingerprint))];
    if (missing.length > 0) await this.fetchLabels(missing);
    const out: SeriesSamples[][] = Array.from({ length: selectors }, () => []);
    for (const s of decoded) {
      const labels = this.labelsByFingerprint.get(s.fingerprint);
      // Only when the cache dropped a just-fetched entry (more new series than it holds): fetch it alone.
      out[s.selector]!.push({ labels: labels ?? await this.fetchOne(s.fingerprint), timestamps: s.timestamps, values: s.values, staleAt: s.staleAt });
    }
    return out;
  }

  /**
   * The fingerprints each request's matchers select on the series table over its days: cached
   * per (matchers, days) while the series generation is unchanged, the rest in one query.
   */
  private async resolveSeries(requests: readonly SeriesRequest[], seriesWheres: readonly string[], params: QueryParams): Promise<string[][]> {
    const generation = this.seriesGeneration!();
    const keys = requests.map((r) => JSON.stringify([Math.floor(r.fromMs / dayMs), Math.floor(r.toMs / dayMs), r.matchers.map((m) => [m.name, m.type, m.value])]));
    const out: string[][] = keys.map((k) => { const c = this.resolved.get(k); return c && c.generation === generation ? c.fingerprints : undefined; }) as string[][];
    const missing = out.flatMap((f, j) => (f === undefined ? [j] : []));
    if (missing.length === 0) return out;
    const seriesWhere = (j: number) => seriesWheres[j]!;
    const rows = await this.db.rows(`SELECT sel, groupUniqArray(toString(fingerprint)) FROM ${metricsSeriesTable}
      ARRAY JOIN arrayFilter(x -> x != 65535, [${missing.map((j) => `if(${seriesWhere(j)}, ${j}, 65535)`).join(', ')}]) AS sel
      WHERE ${missing.map((j) => `(${seriesWhere(j)})`).join(' OR ')} GROUP BY sel`, params);
    for (const j of missing) out[j] = [];
    for (const [sel, fps] of rows) out[Number(sel)] = fps as string[];
    if (this.resolved.size > 10_000) this.resolved.clear();
    for (const j of missing) this.resolved.set(keys[j]!, { generation, fingerprints: out[j]! });
    return out;
  }

  private async fetchLabels(fingerprints: string[]): Promise<void> {
    this.labelFetches++;
    const rows = await this.db.rows(`SELECT toString(fingerprint), metric_name, labels FROM ${metricsSeriesTable}
      WHERE fingerprint IN (SELECT arrayJoin(arrayMap(x -> toUInt64(x), {fps:Array(String)})))
      LIMIT 1 BY fingerprint`, { fps: fingerprints });
    for (const [fp, name, labels] of rows) this.remember(fp as string, { __name__: name as string, ...(labels as Record<string, string>) });
  }

  private async fetchOne(fingerprint: string): Promise<Record<string, string>> {
    await this.fetchLabels([fingerprint]);
    const l = this.labelsByFingerprint.get(fingerprint);
    if (!l) throw new Error(`series ${fingerprint} vanished between reading its samples and its labels`);
    return l;
  }

  private remember(fingerprint: string, labels: Record<string, string>): void {
    if (this.labelsByFingerprint.size >= this.maxCached) {
      // Drop the oldest tenth at once, so a full cache does not pay one eviction per insert.
      let n = Math.max(1, Math.floor(this.maxCached / 10));
      for (const k of this.labelsByFingerprint.keys()) {
        this.labelsByFingerprint.delete(k);
        this.evicted++;
        if (--n === 0) break;
      }
    }
    this.labelsByFingerprint.set(fingerprint, labels);
  }

  /**
   * ClickHouse compiles a regex only when some row reaches it, so a broken pattern over an empty
   * range would silently match nothing. Compile each new one against a constant to surface the error.
   */
  private async checkRegexes(matchers: readonly (readonly [LabelMatcher, string])[], params: QueryParams): Promise<void> {
    const fresh = matchers.filter(([m]) => (m.type === '=~' || m.type === '!~') && !this.checkedRegexes.has(m.value));
    if (fresh.length === 0) return;
    const used: QueryParams = {};
    for (const [, name] of fresh) used[name] = params[name]!;
    await this.db.rows(`SELECT ${fresh.map(([, name]) => `match('', {${name}:String})`).join(', ')}`, used);
    if (this.checkedRegexes.size > 10_000) this.checkedRegexes.clear();
    for (const [m] of fresh) this.checkedRegexes.add(m.value);
  }
}

/**
 * A selector as two bound predicates, parameter names starting with `prefix`: on the samples table,
 * the time range (fromMs, toMs] (and an exact metric name, which narrows its primary key); on the
 * series table, the days of that range and every matcher.
 */
function selectorClauses(matchers: readonly LabelMatcher[], params: QueryParams, prefix: string, fromMs: number, toMs: number): SelectorClauses {
  params[`${prefix}from`] = fromMs;
  params[`${prefix}to`] = toMs;
  const range = `ts > fromUnixTimestamp64Milli({${prefix}from:Int64}) AND ts <= fromUnixTimestamp64Milli({${prefix}to:Int64})`;
  const sampleTerms = [range];
  const seriesTerms = [seriesDaysPredicate(`${prefix}from`, `${prefix}to`)];
  let name: string | undefined;
  matchers.forEach((m, i) => {
    const v = `{${prefix}v${i}:String}`;
    let column: string;
    if (m.name === '__name__') {
      column = 'metric_name';
      if (m.type === '=') { sampleTerms.push(`metric_name = ${v}`); name = v; }
    } else {
      params[`${prefix}k${i}`] = m.name;
      column = `labels[{${prefix}k${i}:String}]`; // a missing key reads as '', as a missing label does in PromQL
    }
    const regex = m.type === '=~' || m.type === '!~';
    params[`${prefix}v${i}`] = regex ? anchoredRegex(m.value) : m.value;
    seriesTerms.push(m.type === '=' ? `${column} = ${v}` : m.type === '!=' ? `${column} != ${v}` : m.type === '=~' ? `match(${column}, ${v})` : `NOT match(${column}, ${v})`);
  });
  return { samples: sampleTerms.join(' AND '), series: seriesTerms.join(' AND '), range, name };
}

interface SelectorClauses {
  /** On the samples table: the time range, and the metric name when the selector names it exactly. */
  samples: string;
  /** On the series table: the days of the range and every matcher. */
  series: string;
  /** The time range alone. */
  range: string;
  /** The bound placeholder of the exact metric name, when there is one. */
  name: string | undefined;
}

/** Whether the matchers are just `__name__="…"`. */
function namesOnlyItsMetric(matchers: readonly LabelMatcher[]): boolean {
  return matchers.length === 1 && matchers[0]!.name === '__name__' && matchers[0]!.type === '=';
}

/** The part of a decoded series (ascending times) in the request's (fromMs, toMs]; undefined when empty. */
function sliceToRange(s: DecodedSeries, r: SeriesRequest): DecodedSeries | undefined {
  const lo = firstAbove(s.timestamps, r.fromMs), hi = firstAbove(s.timestamps, r.toMs);
  if (lo >= hi) return undefined;
  if (lo === 0 && hi === s.timestamps.length) return s;
  return {
    ...s,
    timestamps: s.timestamps.subarray(lo, hi),
    values: s.values.subarray(lo, hi),
    staleAt: s.staleAt.filter((t) => t > r.fromMs && t <= r.toMs),
  };
}

/** Index of the first element greater than `t` in ascending `xs` (xs.length when none is). */
function firstAbove(xs: Float64Array, t: number): number {
  let lo = 0, hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! > t) hi = mid; else lo = mid + 1;
  }
  return lo;
}

/**
 * Rejects anything but the decimal digits of a UInt64: fingerprints are ClickHouse's own values
 * read back, not request input, and are written into reads as a literal set (cheaper for the
 * engine than a bound array).
 */
function checkFingerprints(fingerprints: readonly string[][]): void {
  for (const fps of fingerprints) for (const f of fps) if (!/^\d{1,20}$/.test(f)) throw new Error('series table returned a fingerprint that is not a UInt64');
}

const emptyWindow: CachedWindow = { timestamps: new Float64Array(0), values: new Float64Array(0), staleAt: [] };

/** Rows [from, to) of a decoded series as a window of its own (copied: the read's buffer is not kept alive by the cache). */
function windowOf(s: DecodedSeries, from: number, to: number): CachedWindow {
  if (from >= to) return emptyWindow;
  const timestamps = s.timestamps.slice(from, to);
  const lo = timestamps[0]!, hi = timestamps[timestamps.length - 1]!;
  return { timestamps, values: s.values.slice(from, to), staleAt: s.staleAt.filter((t) => t >= lo && t <= hi) };
}

/** A series' samples in the request's (fromMs, toMs] from row ranges [lo, hi) of its windows, in time order; undefined when none. */
function joinParts(all: readonly (readonly [CachedWindow, number, number])[], r: SeriesRequest): Omit<DecodedSeries, 'selector' | 'fingerprint'> | undefined {
  const parts = all.filter(([, lo, hi]) => hi > lo);
  const n = parts.reduce((x, [, lo, hi]) => x + hi - lo, 0);
  if (n === 0) return undefined;
  const inRange = (t: number) => t > r.fromMs && t <= r.toMs;
  if (parts.length === 1) {
    // Views of the cached arrays: entries are never changed in place, only dropped.
    const [c, lo, hi] = parts[0]!;
    return { timestamps: c.timestamps.subarray(lo, hi), values: c.values.subarray(lo, hi), staleAt: c.staleAt.filter(inRange) };
  }
  const timestamps = new Float64Array(n), values = new Float64Array(n);
  const staleAt: number[] = [];
  let at = 0;
  for (const [c, lo, hi] of parts) {
    timestamps.set(c.timestamps.subarray(lo, hi), at);
    values.set(c.values.subarray(lo, hi), at);
    at += hi - lo;
    for (const t of c.staleAt) if (inRange(t)) staleAt.push(t);
  }
  return { timestamps, values, staleAt };
}

export interface SeriesRequest { matchers: readonly LabelMatcher[]; fromMs: number; toMs: number }

export interface DecodedSeries {
  /** Which selector of a batched read the series answers (0 for a single one). */
  selector: number;
  /** The fingerprint as a decimal string (ClickHouse's toString of the UInt64). */
  fingerprint: string;
  timestamps: Float64Array;
  values: Float64Array;
  /** Timestamps whose value is a stale marker (they are in `values` too, as NaN). */
  staleAt: number[];
}

/**
 * Splits RowBinary rows (fingerprint UInt64, ms Float64, value Float64) into per-series columns
 * sorted by time. Rows come in runs of one series (storage order within a part), but parts and
 * parallel reads interleave, so runs are collected per fingerprint and a series whose runs are out
 * of order is sorted here; asking ClickHouse to sort costs more than that. A sample sent twice for
 * one timestamp keeps the copy read last. Stale markers are recognised from the value's bits here,
 * before the value becomes a JS number.
 */
export function decodeSampleRows(bytes: Uint8Array, selectorColumn = false): DecodedSeries[] {
  const size = rowBytes + (selectorColumn ? 1 : 0), at0 = selectorColumn ? 1 : 0;
  if (bytes.length % size !== 0) throw new Error(`sample rows: ${bytes.length} bytes is not a whole number of ${size}-byte rows`);
  const n = bytes.length / size;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Pass 1: runs of consecutive rows with one fingerprint, grouped by series in first-seen order.
  interface Pending { sel: number; hi: number; lo: number; runs: number[]; rows: number }
  const byKey = new Map<string, Pending>();
  const order: Pending[] = [];
  let cur: Pending | undefined;
  let runStart = 0;
  for (let i = 0; i <= n; i++) {
    const off = i * size;
    const sel = i < n && selectorColumn ? view.getUint8(off) : 0;
    const lo = i < n ? view.getUint32(off + at0, true) : -1, hi = i < n ? view.getUint32(off + at0 + 4, true) : -1;
    if (cur && cur.lo === lo && cur.hi === hi && cur.sel === sel) continue;
    if (cur) { cur.runs.push(runStart, i); cur.rows += i - runStart; }
    if (i === n) break;
    const key = `${sel}:${hi}:${lo}`;
    cur = byKey.get(key);
    if (!cur) { cur = { sel, hi, lo, runs: [], rows: 0 }; byKey.set(key, cur); order.push(cur); }
    runStart = i;
  }
  // Pass 2: columns per series, sorted by time, duplicates and stale markers resolved.
  const ts = new Float64Array(n), vs = new Float64Array(n);
  const stale = new Uint8Array(n);
  const out: DecodedSeries[] = [];
  let start = 0;
  for (const p of order) {
    let len = 0, sorted = true;
    for (let r = 0; r < p.runs.length; r += 2) {
      for (let i = p.runs[r]!; i < p.runs[r + 1]!; i++) {
        const at = start + len++;
        const off = i * size + at0;
        ts[at] = view.getFloat64(off + 8, true);
        const isStale = isStaleMarkerAt(view, off + 16);
        stale[at] = isStale ? 1 : 0;
        vs[at] = isStale ? NaN : view.getFloat64(off + 16, true);
        if (len > 1 && ts[at]! < ts[at - 1]!) sorted = false;
      }
    }
    if (!sorted) sortByTime(ts, vs, stale, start, start + len);
    // Drop all but the last copy of a repeated timestamp.
    let w = start;
    for (let i = start; i < start + len; i++) {
      if (w > start && ts[w - 1] === ts[i]) w--;
      ts[w] = ts[i]!; vs[w] = vs[i]!; stale[w] = stale[i]!;
      w++;
    }
    const staleAt: number[] = [];
    for (let i = start; i < w; i++) if (stale[i] === 1) staleAt.push(ts[i]!);
    out.push({ selector: p.sel, fingerprint: fingerprintString(p.hi, p.lo), timestamps: ts.subarray(start, w), values: vs.subarray(start, w), staleAt });
    start += len; // the unused tail after deduplication stays unused
  }
  return out;
}

/** Stable sort of rows [from, to) by time (order among equal times kept: the last read wins). */
function sortByTime(ts: Float64Array, vs: Float64Array, stale: Uint8Array, from: number, to: number): void {
  const idx = Array.from({ length: to - from }, (_, k) => from + k);
  idx.sort((a, b) => ts[a]! - ts[b]! || a - b);
  const t = idx.map((i) => ts[i]!), v = idx.map((i) => vs[i]!), s = idx.map((i) => stale[i]!);
  for (let k = 0; k < idx.length; k++) { ts[from + k] = t[k]!; vs[from + k] = v[k]!; stale[from + k] = s[k]!; }
}

function fingerprintString(hi: number, lo: number): string {
  if (hi < 0x200000) return String(hi * 0x1_0000_0000 + lo); // below 2^53: exact as a double
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}
