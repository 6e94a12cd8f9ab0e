// Turns a decoded WriteRequest into storable rows, rejecting what Prometheus would reject.
// Validation happens here, once, so storage can trust what it gets.
import type { TimeSeries, WriteRequest } from '@rootsight/common';
import type { SampleRow } from '../storage/clickhouse/metrics-store.ts';

export class InvalidSamplesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidSamplesError';
  }
}

/** Oldest sample accepted (2000-01-01). Earlier values are almost surely seconds sent as ms, or garbage. */
export const minTimestampMs = Date.UTC(2000, 0, 1);
/** How far ahead of our clock a sample may be; more means a broken clock or unit. */
export const maxFutureMs = 60 * 60_000;

const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function writeRequestRows(req: WriteRequest, nowMs: number): SampleRow[] {
  const rows: SampleRow[] = [];
  const maxTs = nowMs + maxFutureMs;
  req.timeseries.forEach((ts, i) => {
    const { metricName, labels } = seriesLabels(ts, i);
    for (const s of ts.samples) {
      if (!Number.isSafeInteger(s.timestampMs) || s.timestampMs < minTimestampMs || s.timestampMs > maxTs) {
        throw new InvalidSamplesError(`series ${describe(metricName, labels)}: sample timestamp ${s.timestampMs} ms is out of range; expected milliseconds since the epoch between ${new Date(minTimestampMs).toISOString()} and one hour from now`);
      }
      // NaN (including Prometheus stale markers, which the decoder cannot tell apart from other
      // NaNs) is stored as a plain NaN value.
      rows.push({ metricName, labels, timestampMs: s.timestampMs, value: s.value });
    }
  });
  return rows;
}

function seriesLabels(ts: TimeSeries, index: number): { metricName: string; labels: Record<string, string> } {
  let metricName = '';
  const pairs: [string, string][] = [];
  const seen = new Set<string>();
  for (const l of ts.labels) {
    if (seen.has(l.name)) throw new InvalidSamplesError(`series #${index}: label "${l.name}" appears twice`);
    seen.add(l.name);
    if (l.name === '__name__') { metricName = l.value; continue; }
    if (!labelNamePattern.test(l.name)) throw new InvalidSamplesError(`series #${index}: invalid label name "${l.name}"; label names must match [a-zA-Z_][a-zA-Z0-9_]*`);
    // An empty value means "no such label" in Prometheus' data model.
    if (l.value !== '') pairs.push([l.name, l.value]);
  }
  if (metricName === '') throw new InvalidSamplesError(`series #${index}: missing metric name (label __name__)`);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { metricName, labels: Object.fromEntries(pairs) };
}

function describe(name: string, labels: Record<string, string>): string {
  return `${name}{${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
}
