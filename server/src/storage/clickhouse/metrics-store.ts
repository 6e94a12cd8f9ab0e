// Reads and writes samples. Input arrives already validated (ingest/ checks it at the HTTP edge);
// every value that came from a request is bound as a query parameter, never formatted into SQL.
import type { MetricMetadata } from '@rootsight/common';
import { anchoredRegex, type LabelMatcher } from '../../metrics/label-matcher.ts';
import { metricsMetadataTable, metricsSamplesTable } from './schema.ts';
import type { ClickHouseDriver } from './driver.ts';
import { RowBinaryWriter, staleMarkerBits } from './row-binary.ts';
import { parseFloatCell, type QueryParams } from './session.ts';

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
 * Validated samples in columns, as the remote-write decoder produces them. Values are raw bits so
 * stale markers (a NaN payload) reach storage exactly; series identities are encoded once per
 * series by encodeSeriesIdentity, not once per sample.
 */
export interface SampleBatch {
  /** Per distinct series: metric name + sorted labels, from encodeSeriesIdentity. */
  series: Uint8Array[];
  length: number;
  /** Per sample: index into `series`. */
  seriesIndex: Uint32Array;
  timestampsMs: Float64Array;
  /** 8 bytes per sample: the Float64 value exactly as received (little-endian). */
  valueBytes: Uint8Array;
}

/** Columns of a metrics_samples RowBinary payload (fingerprint is computed by ClickHouse). */
export const sampleColumns = ['metric_name', 'labels', 'ts', 'value'] as const;

/** The (metric_name, labels) part of a sample row; `labels` sorted by name, no __name__, no empty values. */
export function encodeSeriesIdentity(metricName: string, labels: readonly (readonly [string, string])[]): Uint8Array {
  const w = new RowBinaryWriter(64 + metricName.length * 3 + labels.length * 48);
  w.string(metricName);
  w.varint(labels.length);
  for (const [k, v] of labels) { w.string(k); w.string(v); }
  return Uint8Array.prototype.slice.call(w.view());
}

/** Appends a batch to a metrics_samples RowBinary payload. */
export function encodeSampleBatch(batch: SampleBatch, w: RowBinaryWriter): void {
  const { series, seriesIndex, timestampsMs, valueBytes } = batch;
  for (let i = 0; i < batch.length; i++) {
    const id = series[seriesIndex[i]!]!;
    w.reserve(id.length + 16);
    const buf = w.buf;
    buf.set(id, w.pos);
    let p = w.pos + id.length;
    const ts = timestampsMs[i]!;
    // Validated ≥ 2000-01-01, so a non-negative Int64 in two 32-bit halves.
    buf.writeUInt32LE(ts % 0x1_0000_0000, p);
    buf.writeUInt32LE(Math.floor(ts / 0x1_0000_0000), p + 4);
    p += 8;
    const v = i * 8;
    for (let j = 0; j < 8; j++) buf[p + j] = valueBytes[v + j]!;
    w.pos = p + 8;
  }
}

export class MetricsStore {
  constructor(private readonly db: ClickHouseDriver) {}

  /** Writes an already encoded metrics_samples payload (see encodeSampleBatch). */
  async insertEncodedSamples(payload: Uint8Array): Promise<void> {
    await this.db.insertRowBinary(metricsSamplesTable, sampleColumns, payload);
  }

  async insertSampleBatch(batch: SampleBatch): Promise<void> {
    const w = new RowBinaryWriter(Math.max(1024, batch.length * 40));
    encodeSampleBatch(batch, w);
    await this.insertEncodedSamples(w.view());
  }

  async insertSamples(rows: readonly SampleRow[]): Promise<void> {
    if (rows.length === 0) return;
    const w = new RowBinaryWriter(Math.max(1024, rows.length * 64));
    for (const r of rows) {
      w.string(r.metricName);
      w.stringMap(r.labels);
      w.i64(r.timestampMs); // DateTime64(3): milliseconds
      w.f64(r.value);
    }
    await this.insertEncodedSamples(w.view());
  }

  async insertMetadata(items: readonly MetricMetadata[], nowMs: number): Promise<void> {
    await this.db.insertJsonRows(metricsMetadataTable, items.map((m) => ({
      metric_family_name: m.family, type: m.type, help: m.help, unit: m.unit, updated_at: nowMs,
    })));
  }

  /** Series matching all matchers with samples in (fromMs, toMs] — PromQL's left-open windows. */
  async selectSeries(matchers: readonly LabelMatcher[], fromMs: number, toMs: number): Promise<StoredSeries[]> {
    const params: QueryParams = { from: fromMs, to: toMs };
    const where = matchers.map((m, i) => matcherPredicate(m, i, params));
    await this.checkRegexes(matchers, params);
    const sql = `SELECT metric_name, any(labels), arraySort(groupArray((toUnixTimestamp64Milli(ts), value))),
        arraySort(groupArrayIf(toUnixTimestamp64Milli(ts), reinterpretAsUInt64(value) = ${staleMarkerBits}))
      FROM ${metricsSamplesTable}
      WHERE ts > fromUnixTimestamp64Milli({from:Int64}) AND ts <= fromUnixTimestamp64Milli({to:Int64})
        ${where.map((w) => `AND ${w}`).join(' ')}
      GROUP BY metric_name, fingerprint
      SETTINGS output_format_json_quote_denormals = 1, output_format_json_quote_64bit_integers = 0`;
    const rows = await this.db.rows(sql, params);
    return rows.map(([name, labels, samples, staleAt]) => toSeries(name as string, labels as Record<string, string>, samples as [number, unknown][], staleAt as number[]));
  }

  /** Label sets (with __name__) of series matching all matchers with samples in (fromMs, toMs]; no samples read. */
  async selectLabelSets(matchers: readonly LabelMatcher[], fromMs: number, toMs: number): Promise<Record<string, string>[]> {
    const params: QueryParams = { from: fromMs, to: toMs };
    const where = matchers.map((m, i) => matcherPredicate(m, i, params));
    await this.checkRegexes(matchers, params);
    const sql = `SELECT metric_name, any(labels)
      FROM ${metricsSamplesTable}
      WHERE ts > fromUnixTimestamp64Milli({from:Int64}) AND ts <= fromUnixTimestamp64Milli({to:Int64})
        ${where.map((w) => `AND ${w}`).join(' ')}
      GROUP BY metric_name, fingerprint`;
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

function toSeries(name: string, labels: Record<string, string>, samples: [number, unknown][], staleTs: number[]): StoredSeries {
  const s: StoredSeries = { labels: { __name__: name, ...labels }, timestamps: [], values: [], staleAt: [] };
  for (const [t, raw] of samples) {
    const v = parseFloatCell(raw);
    const n = s.timestamps.length;
    // A re-sent sample for the same timestamp replaces the earlier one rather than duplicating it.
    if (n > 0 && s.timestamps[n - 1] === t) { s.values[n - 1] = v; continue; }
    s.timestamps.push(t);
    s.values.push(v);
  }
  if (staleTs.length > 0) {
    // A timestamp counts as stale when the value kept for it (the last) is NaN and a marker was stored there.
    const marked = new Set(staleTs);
    for (let i = 0; i < s.timestamps.length; i++) if (Number.isNaN(s.values[i]) && marked.has(s.timestamps[i]!)) s.staleAt!.push(s.timestamps[i]!);
  }
  return s;
}
