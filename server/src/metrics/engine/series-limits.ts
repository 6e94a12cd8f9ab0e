// limitk and limit_ratio (Prometheus 3): a subset of the input series, each kept whole (labels,
// metric name and value unchanged). Both choose by labels alone, never by value, so a range query
// keeps showing the same series from step to step instead of flickering between them.
import { formatSampleValue } from './format.ts';
import { labelSetHashFraction } from './label-hash.ts';
import { compareLabelSets } from './labels.ts';
import { PromqlEvalError, type InstantSample } from './values.ts';

/**
 * limitk's k as Prometheus 3 takes it: truncated toward zero; NaN or beyond int64 is an error.
 * Below 1 the result is empty (the caller checks).
 */
export function limitCount(param: number): number {
  if (!(Math.abs(param) <= 2 ** 63)) throw new PromqlEvalError(`Scalar value ${formatSampleValue(param)} overflows int64`);
  return Math.trunc(param);
}

/**
 * The first k of one group's samples in label-set order. Prometheus 3 keeps the first k series in
 * the order they reach the aggregation, which for a selector is this order; we sort whatever the
 * inner expression is, so the choice never depends on how it happened to order its output. A
 * series once chosen stays chosen at later steps unless a series ordered before it appears.
 */
export function firstInLabelOrder(samples: InstantSample[], k: number): InstantSample[] {
  if (samples.length <= k) return samples;
  return [...samples].sort((a, b) => compareLabelSets(a.labels, b.labels)).slice(0, k);
}

/**
 * limit_ratio(r): each series is kept or not on its own, by where its label-set hash falls in
 * [0, 1] (see label-hash.ts): below r for r >= 0; at or above 1 + r for r < 0, the complement of
 * limit_ratio(1 + r), so limit_ratio(0.3, v) and limit_ratio(-0.7, v) split v in two. Grouping
 * therefore changes nothing. A ratio outside [-1, 1] is clamped to it, as Prometheus 3 does (it
 * also adds a warning to the answer; our API has no warnings, so the clamp is silent); NaN is an
 * error.
 */
export function limitRatio(samples: InstantSample[], param: number): InstantSample[] {
  if (Number.isNaN(param)) throw new PromqlEvalError('Ratio value is NaN in limit_ratio');
  const r = Math.max(-1, Math.min(1, param));
  if (r === 0) return [];
  return samples.filter((s) => {
    const f = labelSetHashFraction(s.labels);
    return r > 0 ? f < r : f >= 1 + r;
  });
}
