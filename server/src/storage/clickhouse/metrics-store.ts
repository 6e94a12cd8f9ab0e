// Reads and writes samples. Input arrives already validated (ingest/ checks it at the HTTP edge);
// every value that came from a request is bound as a query parameter, never formatted into SQL.
import type { MetricMetadata } from '@rootsight/common';
import { anchoredRegex, type LabelMatcher } from '../../metrics/label-matcher.ts';
import { metricsMetadataTable, metricsSeriesSamplesTable, metricsSeriesTable } from './schema.ts';
import { seriesFingerprint } from './series-fingerprint.ts';
import type { ClickHouseDriver } from './driver.ts';
import { RowBinaryWriter } from './row-binary.ts';
import type { QueryParams } from './session.ts';

/** One series as stored: `labels` includes __name__; samples sorted by time, one per timestamp. */
export interface StoredSeries {
  labels: Record<string, string>;
  timestamps: number[];
  values: number[];
  /**
   * Timestamps (ascending) whose stored value is a Prometheus stale marker. Those samples are also
   * in timestamps/values, as NaN: a JS number[] cannot carry the marker's NaN payload (V8
   * canonicalises NaNs in double arrays), so this list is how a reader tells them apart.
   */
  staleAt?: number[];
}

/** A validated sample ready to store: labels sorted, without __name__. */
export interface SampleRow { metricName: string; labels: Record<string, string>; timestampMs: number; value: number }

/**
 * A series as ingest encodes it, once per distinct label set (write-request-rows caches these across
 * requests): its fingerprint and the bytes of its rows in both metrics tables.
 */
export class SeriesIdentity {
  /** Days (since the epoch) whose metrics_series row is known to be stored; bounded, newest last. */
  writtenDays: number[] = [];

  constructor(
    readonly metricName: string,
    /** Sorted by name, without __name__ and empty values. */
    readonly labels: readonly (readonly [string, string])[],
    readonly fingerprint: bigint,
    /** RowBinary (metric_name, fingerprint): the head of every sample row of this series. */
    readonly sampleKey: Uint8Array,
    /** RowBinary (metric_name, fingerprint, labels): a metrics_series row after its day. */
    readonly seriesRow: Uint8Array,
  ) {}
}

/**
 * Validated samples in columns, as the remote-write decoder produces them. Values are raw bits so
 * stale markers (a NaN payload) reach storage exactly; series are encoded once per series, not
 * once per sample.
 */
export interface SampleBatch {
  /** Per distinct series. */
  series: SeriesIdentity[];
  length: number;
  /** Per sample: index into `series`. */
  seriesIndex: Uint32Array;
  timestampsMs: Float64Array;
  /** 8 bytes per sample: the Float64 value exactly as received (little-endian). */
  valueBytes: Uint8Array;
}

/** A series whose metrics_series row for `day` may not be stored yet. */
export interface SeriesDay { series: SeriesIdentity; day: number }

/** Columns of a metrics_series_samples RowBinary payload. */
export const sampleColumns = ['metric_name', 'fingerprint', 'ts', 'value'] as const;
/** Columns of a metrics_series RowBinary payload. */
export const seriesColumns = ['day', 'metric_name', 'fingerprint', 'labels'] as const;

const dayMs = 86_400_000;
/** Written days remembered per series: enough for a backfill that interleaves a few days. */
const maxWrittenDays = 4;

/** A series' identity and row bytes; `labels` sorted by name, no __name__, no empty values. */
export function encodeSeriesIdentity(metricName: string, labels: readonly (readonly [string, string])[]): SeriesIdentity {
  const fingerprint = seriesFingerprint(metricName, labels);
  const w = new RowBinaryWriter(64 + metricName.length * 3 + labels.length * 48);
  w.string(metricName);
  w.bigU64(fingerprint);
  const keyEnd = w.pos;
  w.varint(labels.length);
  for (const [k, v] of labels) { w.string(k); w.string(v); }
  const row = Uint8Array.prototype.slice.call(w.view());
  return new SeriesIdentity(metricName, labels, fingerprint, row.subarray(0, keyEnd), row);
}

/**
 * Appends a batch to a metrics_series_samples RowBinary payload. Returns the (series, day) pairs
 * whose series row is not known to be stored yet; insertEncodedSamples writes those first.
 */
export function encodeSampleBatch(batch: SampleBatch, w: RowBinaryWriter): SeriesDay[] {
  const { series, seriesIndex, timestampsMs, valueBytes } = batch;
  const unwritten: SeriesDay[] = [];
  // Series already listed for a day, when a series' samples come in more than one run.
  let listed: Map<number, Set<SeriesIdentity>> | undefined;
  let lastSeries = -1, lastDay = NaN;
  for (let i = 0; i < batch.length; i++) {
    const si = seriesIndex[i]!;
    const id = series[si]!;
    const key = id.sampleKey;
    w.reserve(key.length + 16);
    const buf = w.buf;
    buf.set(key, w.pos);
    let p = w.pos + key.length;
    const ts = timestampsMs[i]!;
    // Validated ≥ 2000-01-01, so a non-negative Int64 in two 32-bit halves.
    buf.writeUInt32LE(ts % 0x1_0000_0000, p);
    buf.writeUInt32LE(Math.floor(ts / 0x1_0000_0000), p + 4);
    p += 8;
    const v = i * 8;
    for (let j = 0; j < 8; j++) buf[p + j] = valueBytes[v + j]!;
    w.pos = p + 8;
    // A series' samples are adjacent and mostly within one day: check once per run.
    const day = Math.floor(ts / dayMs);
    if (si === lastSeries && day === lastDay) continue;
    lastSeries = si; lastDay = day;
    if (id.writtenDays.includes(day)) continue;
    listed ??= new Map();
    let ids = listed.get(day);
    if (!ids) listed.set(day, ids = new Set());
    if (ids.has(id)) continue;
    ids.add(id);
    unwritten.push({ series: id, day });
  }
  return unwritten;
}

/** Told about every sample batch once storage holds it, or once writing it failed (see metrics/sample-head.ts). */
export interface StoredSamplesObserver {
  add(batch: SampleBatch): void;
  writeFailed(batch: SampleBatch): void;
}

export class MetricsStore {
  constructor(private readonly db: ClickHouseDriver, private readonly observer?: StoredSamplesObserver) {}

  /** Time of the newest stored sample (ms; 0 when there is none). */
  async newestSampleMs(): Promise<number> {
    const [[ms]] = await this.db.rows(`SELECT toUnixTimestamp64Milli(max(ts)) FROM ${metricsSeriesSamplesTable}`) as [[number | string]];
    return Number(ms);
  }

  /**
   * Writes an encoded samples payload (see encodeSampleBatch), after the series rows it needs. Series
   * rows go first so that a reader never sees samples without their labels; a series is marked
   * written only once its row is stored. `batches` are the same samples as columns, for the observer.
   */
  async insertEncodedSamples(payload: Uint8Array, seriesDays: readonly SeriesDay[] = [], batches: readonly SampleBatch[] = []): Promise<void> {
    try {
      await this.insertSeriesAndSamples(payload, seriesDays);
    } catch (e) {
      if (this.observer) for (const b of batches) this.observer.writeFailed(b);
      throw e;
    }
    if (this.observer) for (const b of batches) this.observer.add(b);
  }

  private async insertSeriesAndSamples(payload: Uint8Array, seriesDays: readonly SeriesDay[]): Promise<void> {
    const needed = seriesDays.filter((s) => !s.series.writtenDays.includes(s.day));
    if (needed.length > 0) {
      const w = new RowBinaryWriter(needed.reduce((a, s) => a + s.series.seriesRow.length + 2, 0));
      const seen = new Set<string>();
      for (const { series, day } of needed) {
        const k = `${series.fingerprint}:${day}`;
        if (seen.has(k)) continue;
        seen.add(k);
        w.reserve(2);
        w.buf.writeUInt16LE(day, w.pos); // Date: days since the epoch
        w.pos += 2;
        w.bytes(series.seriesRow);
      }
      await this.db.insertRowBinary(metricsSeriesTable, seriesColumns, w.view());
      for (const { series, day } of needed) {
        if (series.writtenDays.includes(day)) continue;
        if (series.writtenDays.length >= maxWrittenDays) series.writtenDays.shift();
        series.writtenDays.push(day);
      }
    }
    if (payload.length > 0) await this.db.insertRowBinary(metricsSeriesSamplesTable, sampleColumns, payload);
  }

  async insertSampleBatch(batch: SampleBatch): Promise<void> {
    const w = new RowBinaryWriter(Math.max(1024, batch.length * 40));
    const seriesDays = encodeSampleBatch(batch, w);
    await this.insertEncodedSamples(w.view(), seriesDays, [batch]);
  }

  async insertSamples(rows: readonly SampleRow[]): Promise<void> {
    if (rows.length === 0) return;
    const ids = new Map<string, number>();
    const batch: SampleBatch = {
      series: [], length: rows.length, seriesIndex: new Uint32Array(rows.length),
      timestampsMs: new Float64Array(rows.length), valueBytes: new Uint8Array(rows.length * 8),
    };
    const values = new DataView(batch.valueBytes.buffer);
    rows.forEach((r, i) => {
      const labels = Object.entries(r.labels).filter(([, v]) => v !== '').sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const key = JSON.stringify([r.metricName, labels]);
      let si = ids.get(key);
      if (si === undefined) {
        si = batch.series.push(encodeSeriesIdentity(r.metricName, labels)) - 1;
        ids.set(key, si);
      }
      batch.seriesIndex[i] = si;
      batch.timestampsMs[i] = r.timestampMs;
      values.setFloat64(i * 8, r.value, true);
    });
    await this.insertSampleBatch(batch);
  }

  async insertMetadata(items: readonly MetricMetadata[], nowMs: number): Promise<void> {
    await this.db.insertJsonRows(metricsMetadataTable, items.map((m) => ({
      metric_family_name: m.family, type: m.type, help: m.help, unit: m.unit, updated_at: nowMs,
    })));
  }

  /** Label sets (with __name__) of series matching all matchers with samples in (fromMs, toMs]; no samples read. */
  async selectLabelSets(matchers: readonly LabelMatcher[], fromMs: number, toMs: number): Promise<Record<string, string>[]> {
    const params: QueryParams = { from: fromMs, to: toMs };
    const where = matchers.map((m, i) => matcherPredicate(m, i, params));
    await this.checkRegexes(matchers, params);
    const name = matchers.find((m) => m.name === '__name__' && m.type === '=');
    const range = 'ts > fromUnixTimestamp64Milli({from:Int64}) AND ts <= fromUnixTimestamp64Milli({to:Int64})';
    const sql = `SELECT metric_name, labels FROM ${metricsSeriesTable}
      WHERE ${seriesDaysPredicate('from', 'to')} ${where.map((w) => `AND ${w}`).join(' ')}
        AND fingerprint ${this.db.cluster ? 'GLOBAL IN' : 'IN'} (SELECT fingerprint FROM ${metricsSeriesSamplesTable} WHERE ${range}${name ? ` AND metric_name = {v${matchers.indexOf(name)}:String}` : ''})
      LIMIT 1 BY fingerprint`;
    const rows = await this.db.rows(sql, params);
    return rows.map(([name, labels]) => ({ __name__: name as string, ...(labels as Record<string, string>) }));
  }

  /**
   * ClickHouse compiles a regex only when some row reaches it, so a broken pattern over an empty
   * range would silently match nothing. Compile each one against a constant to surface the error.
   */
  private async checkRegexes(matchers: readonly LabelMatcher[], params: QueryParams): Promise<void> {
    const probes = matchers.flatMap((m, i) => (m.type === '=~' || m.type === '!~' ? [`match('', {v${i}:String})`] : []));
    if (probes.length === 0) return;
    const used = Object.fromEntries(Object.entries(params).filter(([k]) => k.startsWith('v')));
    await this.db.rows(`SELECT ${probes.join(', ')}`, used);
  }

  /** Latest known type/help per metric family. */
  async metadata(): Promise<MetricMetadata[]> {
    const rows = await this.db.rows(`SELECT metric_family_name, argMax(type, updated_at), argMax(help, updated_at), argMax(unit, updated_at)
      FROM ${metricsMetadataTable} GROUP BY metric_family_name ORDER BY metric_family_name`);
    return rows.map(([family, type, help, unit]) => ({ family, type, help, unit }) as MetricMetadata);
  }
}

/**
 * The metrics_series days that can hold series with samples in (from, to]; parameter names of
 * the two Int64 bounds.
 */
export function seriesDaysPredicate(from: string, to: string): string {
  return `day >= toDate(fromUnixTimestamp64Milli({${from}:Int64})) AND day <= toDate(fromUnixTimestamp64Milli({${to}:Int64}))`;
}

/** Builds one WHERE term; the label name and value are both bound parameters. */
function matcherPredicate(m: LabelMatcher, i: number, params: QueryParams): string {
  const v = `{v${i}:String}`;
  let column: string;
  if (m.name === '__name__') {
    column = 'metric_name';
  } else {
    params[`k${i}`] = m.name;
    column = `labels[{k${i}:String}]`; // a missing key reads as '', as a missing label does in PromQL
  }
  switch (m.type) {
    case '=': params[`v${i}`] = m.value; return `${column} = ${v}`;
    case '!=': params[`v${i}`] = m.value; return `${column} != ${v}`;
    case '=~': params[`v${i}`] = anchoredRegex(m.value); return `match(${column}, ${v})`;
    case '!~': params[`v${i}`] = anchoredRegex(m.value); return `NOT match(${column}, ${v})`;
  }
}
