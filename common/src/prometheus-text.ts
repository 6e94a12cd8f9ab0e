// Prometheus text exposition format 0.0.4, as promtool check metrics reads it. The agent's
// /metrics and the server's own /metrics both render through here.

export type MetricFamilyType = 'counter' | 'gauge' | 'histogram';

export interface MetricSample {
  labels: Record<string, string>;
  value: number;
  /** Histogram series: appended to the family name (`_bucket` with an `le` label, `_sum`, `_count`). */
  suffix?: '_bucket' | '_sum' | '_count';
}

/** One metric name's HELP, TYPE and samples, computed from live state at collection time. */
export interface MetricFamily {
  name: string;
  help: string;
  type: MetricFamilyType;
  samples: MetricSample[];
}

export const PROMETHEUS_TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Empty label values are left out: in Prometheus an empty label is the same as an absent one. */
export function formatLabels(labels: Record<string, string>): string {
  const parts: string[] = [];
  for (const name of Object.keys(labels).sort()) {
    const value = labels[name]!;
    if (value === '') continue;
    parts.push(`${name}="${escapeLabelValue(value)}"`);
  }
  return parts.length ? `{${parts.join(',')}}` : '';
}

export function renderPrometheusText(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (f.samples.length === 0) continue;
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    // Identical label sets would make the exposition invalid; the last value wins.
    const seen = new Map<string, string>();
    for (const s of f.samples) seen.set(`${f.name}${s.suffix ?? ''}${formatLabels(s.labels)}`, formatValue(s.value));
    for (const [series, value] of seen) out.push(`${series} ${value}`);
  }
  return out.length ? out.join('\n') + '\n' : '';
}
