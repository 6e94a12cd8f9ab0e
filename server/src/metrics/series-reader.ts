// The PromQL engine's read path: samples of the series a selector matches, fetched from ClickHouse
// as flat RowBinary rows (fingerprint, time, value) in storage order, so neither side builds or
// parses JSON and the engine aggregates nothing. Label sets are not read with the samples: a
// series' labels never change (its fingerprint is their hash), so they are cached by fingerprint
// and fetched only for series this process has not seen yet. Every request value is a bound
// parameter, never SQL text.
import type { ClickHouseDriver } from '../storage/clickhouse/driver.ts';
import { metricsSamplesTable } from '../storage/clickhouse/schema.ts';
import type { QueryParams } from '../storage/clickhouse/session.ts';
import type { SeriesSamples, SeriesSource } from './engine/evaluator.ts';
import { anchoredRegex, type LabelMatcher } from './label-matcher.ts';

/** Bytes per RowBinary row: UInt64 fingerprint, Float64 milliseconds, Float64 value. */
const rowBytes = 24;
/** Prometheus' staleness marker, as the two 32-bit halves of its Float64 bits. */
const staleHi = 0x7ff00000, staleLo = 0x00000002;

export interface SeriesReaderOptions {
  /** Label sets kept in memory (the oldest are dropped beyond this). Default 200k. */
  maxCachedSeries?: number;
}

export interface SeriesReaderStats { cachedSeries: number; evictedSeries: number; labelFetches: number }

export class ClickHouseSeriesReader implements SeriesSource {
  private readonly labelsByFingerprint = new Map<string, Record<string, string>>();
  private readonly maxCached: number;
  private evicted = 0;
  private labelFetches = 0;
  /** Regexes ClickHouse has already compiled once (see checkRegexes); bounded like the label cache. */
  private readonly checkedRegexes = new Set<string>();

  constructor(private readonly db: ClickHouseDriver, opts: SeriesReaderOptions = {}) {
    this.maxCached = opts.maxCachedSeries ?? 200_000;
  }

  stats(): SeriesReaderStats {
    return { cachedSeries: this.labelsByFingerprint.size, evictedSeries: this.evicted, labelFetches: this.labelFetches };
  }

  /** Series matching all matchers with samples in (fromMs, toMs], samples ascending by time. */
  async selectSeries(matchers: readonly LabelMatcher[], fromMs: number, toMs: number): Promise<SeriesSamples[]> {
    const params: QueryParams = { from: fromMs, to: toMs };
    const where = whereClause(matchers, params);
    await this.checkRegexes(matchers, params);
    // ORDER BY the table's sorting key lets ClickHouse stream parts in order instead of sorting.
    const bytes = await this.db.rowBinary(`SELECT fingerprint, toFloat64(toUnixTimestamp64Milli(ts)), value
      FROM ${metricsSamplesTable} WHERE ${where}
      ORDER BY metric_name, fingerprint, ts`, params);
    const decoded = decodeSampleRows(bytes);
    const missing = decoded.filter((s) => !this.labelsByFingerprint.has(s.fingerprint)).map((s) => s.fingerprint);
    if (missing.length > 0) await this.fetchLabels(where, params, missing);
    const out: SeriesSamples[] = [];
    for (const s of decoded) {
      const labels = this.labelsByFingerprint.get(s.fingerprint);
      // Only when the cache dropped a just-fetched entry (more new series than it holds): fetch it alone.
      out.push({ labels: labels ?? await this.fetchOne(where, params, s.fingerprint), timestamps: s.timestamps, values: s.values, staleAt: s.staleAt });
    }
    return out;
  }

  private async fetchLabels(where: string, params: QueryParams, fingerprints: string[]): Promise<void> {
    this.labelFetches++;
    const rows = await this.db.rows(`SELECT toString(fingerprint), metric_name, labels FROM ${metricsSamplesTable}
      WHERE ${where} AND fingerprint IN (SELECT arrayJoin(arrayMap(x -> toUInt64(x), {fps:Array(String)})))
      LIMIT 1 BY fingerprint`, { ...params, fps: fingerprints });
    for (const [fp, name, labels] of rows) this.remember(fp as string, { __name__: name as string, ...(labels as Record<string, string>) });
  }

  private async fetchOne(where: string, params: QueryParams, fingerprint: string): Promise<Record<string, string>> {
    await this.fetchLabels(where, params, [fingerprint]);
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
  private async checkRegexes(matchers: readonly LabelMatcher[], params: QueryParams): Promise<void> {
    const fresh = matchers.flatMap((m, i) => (m.type === '=~' || m.type === '!~') && !this.checkedRegexes.has(m.value) ? [[i, m.value] as const] : []);
    if (fresh.length === 0) return;
    const used: QueryParams = {};
    for (const [i] of fresh) used[`v${i}`] = params[`v${i}`]!;
    await this.db.rows(`SELECT ${fresh.map(([i]) => `match('', {v${i}:String})`).join(', ')}`, used);
    if (this.checkedRegexes.size > 10_000) this.checkedRegexes.clear();
    for (const [, re] of fresh) this.checkedRegexes.add(re);
  }
}

/** The time range and one bound predicate per matcher. */
function whereClause(matchers: readonly LabelMatcher[], params: QueryParams): string {
  const terms = ['ts > fromUnixTimestamp64Milli({from:Int64})', 'ts <= fromUnixTimestamp64Milli({to:Int64})'];
  matchers.forEach((m, i) => {
    const v = `{v${i}:String}`;
    let column: string;
    if (m.name === '__name__') {
      column = 'metric_name';
    } else {
      params[`k${i}`] = m.name;
      column = `labels[{k${i}:String}]`; // a missing key reads as '', as a missing label does in PromQL
    }
    const regex = m.type === '=~' || m.type === '!~';
    params[`v${i}`] = regex ? anchoredRegex(m.value) : m.value;
    terms.push(m.type === '=' ? `${column} = ${v}` : m.type === '!=' ? `${column} != ${v}` : m.type === '=~' ? `match(${column}, ${v})` : `NOT match(${column}, ${v})`);
  });
  return terms.join(' AND ');
}

export interface DecodedSeries {
  /** The fingerprint as a decimal string (ClickHouse's toString of the UInt64). */
  fingerprint: string;
  timestamps: Float64Array;
  values: Float64Array;
  /** Timestamps whose value is a stale marker (they are in `values` too, as NaN). */
  staleAt: number[];
}

/**
 * Splits RowBinary rows (fingerprint UInt64, ms Float64, value Float64), ordered by series then
 * time, into per-series columns. A sample sent twice for one timestamp keeps the last copy read.
 * Stale markers are recognised from the value's bits here, before the value becomes a JS number.
 */
export function decodeSampleRows(bytes: Uint8Array): DecodedSeries[] {
  if (bytes.length % rowBytes !== 0) throw new Error(`sample rows: ${bytes.length} bytes is not a whole number of ${rowBytes}-byte rows`);
  const n = bytes.length / rowBytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ts = new Float64Array(n), vs = new Float64Array(n);
  const out: DecodedSeries[] = [];
  let start = 0, len = 0, lo = -1, hi = -1;
  let stale: number[] = [];
  const close = (): void => {
    if (len === 0) return;
    out.push({ fingerprint: fingerprintString(hi, lo), timestamps: ts.subarray(start, start + len), values: vs.subarray(start, start + len), staleAt: stale });
    start += len;
    len = 0;
    stale = [];
  };
  for (let i = 0, p = 0; i < n; i++, p += rowBytes) {
    const fpLo = view.getUint32(p, true), fpHi = view.getUint32(p + 4, true);
    if (fpLo !== lo || fpHi !== hi) { close(); lo = fpLo; hi = fpHi; }
    const t = view.getFloat64(p + 8, true);
    const isStale = view.getUint32(p + 20, true) === staleHi && view.getUint32(p + 16, true) === staleLo;
    let at = start + len;
    if (len > 0 && ts[at - 1] === t) {
      at--; // a re-sent sample replaces the earlier one
      if (stale.length > 0 && stale[stale.length - 1] === t) stale.pop();
    } else len++;
    ts[at] = t;
    vs[at] = isStale ? NaN : view.getFloat64(p + 16, true);
    if (isStale) stale.push(t);
  }
  close();
  return out;
}

function fingerprintString(hi: number, lo: number): string {
  if (hi < 0x200000) return String(hi * 0x1_0000_0000 + lo); // below 2^53: exact as a double
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}
