// Reads and writes samples. Input arrives already validated (ingest/ checks it at the HTTP edge);
// every value that came from a request is bound as a query parameter, never formatted into SQL.
import type { MetricMetadata } from '@rootsight/common';
import { anchoredRegex, type LabelMatcher } from '../../metrics/label-matcher.ts';
import { metricsMetadataTable, metricsSamplesTable } from './schema.ts';
import type { ClickHouseDriver } from './driver.ts';
import { parseFloatCell, type QueryParams } from './session.ts';

/** One series as stored: `labels` includes __name__; samples sorted by time, one per timestamp. */
export interface StoredSeries {
  labels: Record<string, string>;
  timestamps: number[];
  values: number[];
}

/** A validated sample ready to store: labels sorted, without __name__. */
export interface SampleRow { metricName: string; labels: Record<string, string>; timestampMs: number; value: number }

export class MetricsStore {
  constructor(private readonly db: ClickHouseDriver) {}

  async insertSamples(rows: readonly SampleRow[]): Promise<void> {
    await this.db.insertJsonRows(metricsSamplesTable, rows.map((r) => ({
      metric_name: r.metricName,
      labels: r.labels,
      ts: r.timestampMs, // DateTime64(3) takes an integer as milliseconds
      value: jsonFloat(r.value),
    })));
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
    const sql = `SELECT metric_name, any(labels), arraySort(groupArray((toUnixTimestamp64Milli(ts), value)))
      FROM ${metricsSamplesTable}
      WHERE ts > fromUnixTimestamp64Milli({from:Int64}) AND ts <= fromUnixTimestamp64Milli({to:Int64})
        ${where.map((w) => `AND ${w}`).join(' ')}
      GROUP BY metric_name, fingerprint
      SETTINGS output_format_json_quote_denormals = 1, output_format_json_quote_64bit_integers = 0`;
    const rows = await this.db.rows(sql, params);
    return rows.map(([name, labels, samples]) => toSeries(name as string, labels as Record<string, string>, samples as [number, unknown][]));
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

function toSeries(name: string, labels: Record<string, string>, samples: [number, unknown][]): StoredSeries {
  const s: StoredSeries = { labels: { __name__: name, ...labels }, timestamps: [], values: [] };
  for (const [t, raw] of samples) {
    const v = parseFloatCell(raw);
    const n = s.timestamps.length;
    // A re-sent sample for the same timestamp replaces the earlier one rather than duplicating it.
    if (n > 0 && s.timestamps[n - 1] === t) { s.values[n - 1] = v; continue; }
    s.timestamps.push(t);
    s.values.push(v);
  }
  return s;
}

/** JSON has no NaN/Infinity; ClickHouse's JSON reader accepts these strings for Float64. */
function jsonFloat(v: number): number | string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return v;
}
