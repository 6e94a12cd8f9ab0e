// rate(), increase() and delta() with Prometheus 2.x extrapolation, written from its documented
// behaviour: a counter's increase over the window is last - first plus every value lost to a
// reset, then stretched towards the window edges if the samples reach (close to) them. The window
// is closed, [rangeStart, rangeEnd], as in Prometheus 2.

/**
 * @param timestamps sample times in ms, ascending; those at indexes [lo, hi) lie inside [rangeStart, rangeEnd]
 * @param mayHaveResets false when the caller knows no value in [lo, hi) is below its predecessor
 * @returns undefined when fewer than two samples exist (Prometheus returns no point then)
 */
export function extrapolatedIncrease(
  timestamps: ArrayLike<number>, values: ArrayLike<number>,
  rangeStartMs: number, rangeEndMs: number, isRate: boolean, isCounter = true,
  lo = 0, hi = timestamps.length, mayHaveResets = true,
): number | undefined {
  const n = hi - lo;
  if (n < 2) return undefined;
  const firstT = timestamps[lo]!, lastT = timestamps[hi - 1]!;
  const firstV = values[lo]!;
  let result = values[hi - 1]! - firstV;
  if (isCounter && mayHaveResets) {
    // A drop means the counter restarted from zero: everything counted before the drop was lost
    // from "last - first", so add the pre-reset value back.
    let prev = 0;
    for (let i = lo; i < hi; i++) {
      const v = values[i]!;
      if (v < prev) result += prev;
      prev = v;
    }
  }

  let toStart = (firstT - rangeStartMs) / 1000;
  const toEnd = (rangeEndMs - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const avgStep = sampledInterval / (n - 1);
  // A counter cannot have been below zero: never extrapolate further back than where the line
  // through the samples would cross zero.
  if (isCounter && result > 0 && firstV >= 0) {
    const toZero = sampledInterval * (firstV / result);
    if (toZero < toStart) toStart = toZero;
  }
  // Samples "close" (within 110% of the average spacing) to an edge are assumed to continue up to
  // it; otherwise the series likely starts/ends inside the window, so extend by half a step only.
  const threshold = avgStep * 1.1;
  let interval = sampledInterval;
  interval += toStart < threshold ? toStart : avgStep / 2;
  interval += toEnd < threshold ? toEnd : avgStep / 2;
  result *= interval / sampledInterval;
  if (isRate) result /= (rangeEndMs - rangeStartMs) / 1000;
  return result;
}
