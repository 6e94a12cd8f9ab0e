// increase_pure(): the exact increase of a counter over a window, as MetricsQL defines it.
// Unlike PromQL's increase() it does not extrapolate, and a series that has no sample before
// the window counts from zero, so a connection counter that appears with value 40 during the
// window contributes 40, not nothing. The service map shows counts people can check.

/** How far before the window a previous sample is looked for; older ones mean the series is new. */
export const priorSampleLookbackMs = 60 * 60_000;

/**
 * @param prior value of the last sample before the window, or undefined for a new series
 * @param values samples in time order; those at [lo, hi) are inside the window
 */
export function pureIncrease(prior: number | undefined, values: ArrayLike<number>, lo = 0, hi = values.length): number {
  let total = 0;
  let prev = prior ?? 0;
  for (let i = lo; i < hi; i++) {
    const v = values[i]!;
    // A drop is a counter reset: the counter restarted from zero and reached v.
    total += v >= prev ? v - prev : v;
    prev = v;
  }
  return total;
}
