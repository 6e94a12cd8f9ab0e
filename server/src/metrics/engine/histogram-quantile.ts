// histogram_quantile(φ, buckets): the φ-quantile from cumulative `le` buckets, interpolating
// linearly inside the bucket the rank falls in, as Prometheus does for classic histograms.
import { derive, withoutName, type Labels } from './labels.ts';
import { parseGoFloat } from './numeric.ts';
import type { InstantSample } from './values.ts';

interface Bucket { upper: number; count: number }

export function histogramQuantile(q: number, input: InstantSample[]): InstantSample[] {
  const groups = new Map<string, { labels: Labels; buckets: Bucket[] }>();
  for (const s of input) {
    const upper = upperBound(s.labels);
    if (upper === undefined) continue;
    const { labels: rest, key } = derive(histogramQuantile, s.labels, (l) => {
      const { le: _, ...r } = withoutName(l);
      return r;
    });
    let g = groups.get(key);
    if (!g) { g = { labels: rest, buckets: [] }; groups.set(key, g); }
    g.buckets.push({ upper, count: s.value });
  }
  return [...groups.values()].map((g) => ({ labels: g.labels, value: bucketQuantile(q, g.buckets) }));
}

const upperBounds = new WeakMap<Labels, number | undefined>();

/** The bucket's `le` as a number (undefined when missing or not a number), parsed once per label set. */
function upperBound(l: Labels): number | undefined {
  if (upperBounds.has(l)) return upperBounds.get(l);
  const le = l.le;
  const v = le === undefined ? undefined : parseGoFloat(le);
  upperBounds.set(l, v);
  return v;
}

export function bucketQuantile(q: number, input: Bucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...input].sort((a, b) => a.upper - b.upper);
  if (sorted.length === 0 || sorted[sorted.length - 1]!.upper !== Infinity) return NaN;
  // Buckets with the same bound (e.g. le="1" and le="1.0") are one bucket.
  const buckets: Bucket[] = [];
  for (const b of sorted) {
    const last = buckets[buckets.length - 1];
    if (last && last.upper === b.upper) last.count += b.count; else buckets.push({ ...b });
  }
  // Rates of separately scraped buckets can be slightly non-monotonic; force them to be.
  let max = -Infinity;
  for (const b of buckets) { if (b.count > max) max = b.count; else if (b.count < max) b.count = max; }
  if (buckets.length < 2) return NaN;
  const total = buckets[buckets.length - 1]!.count;
  if (total === 0) return NaN;
  let rank = q * total;
  let i = 0;
  while (i < buckets.length - 1 && !(buckets[i]!.count >= rank)) i++;
  if (i === buckets.length - 1) return buckets[buckets.length - 2]!.upper;
  if (i === 0 && buckets[0]!.upper <= 0) return buckets[0]!.upper;
  let start = 0;
  const end = buckets[i]!.upper;
  let count = buckets[i]!.count;
  if (i > 0) {
    start = buckets[i - 1]!.upper;
    count -= buckets[i - 1]!.count;
    rank -= buckets[i - 1]!.count;
  }
  return start + (end - start) * (rank / count);
}
