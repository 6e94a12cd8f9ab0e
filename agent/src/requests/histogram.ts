// A cumulative latency histogram with Prometheus' default buckets, which Coroot's agent uses
// for every *_duration_seconds_total family (le values printed as Go prints floats).
import type { Labels, MetricSample } from '../export/metric-family.ts';

export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export class LatencyHistogram {
  /** counts[i]: observations <= DEFAULT_BUCKETS[i] (not yet cumulative); the last slot is +Inf only. */
  private readonly counts = new Float64Array(DEFAULT_BUCKETS.length + 1);
  private sum = 0;
  private count = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < DEFAULT_BUCKETS.length && seconds > DEFAULT_BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }

  samples(labels: Labels): MetricSample[] {
    const out: MetricSample[] = [];
    let cumulative = 0;
    for (let i = 0; i < DEFAULT_BUCKETS.length; i++) {
      cumulative += this.counts[i]!;
      out.push({ labels: { ...labels, le: String(DEFAULT_BUCKETS[i]) }, value: cumulative, suffix: '_bucket' });
    }
    out.push({ labels: { ...labels, le: '+Inf' }, value: this.count, suffix: '_bucket' });
    out.push({ labels, value: this.sum, suffix: '_sum' });
    out.push({ labels, value: this.count, suffix: '_count' });
    return out;
  }
}
