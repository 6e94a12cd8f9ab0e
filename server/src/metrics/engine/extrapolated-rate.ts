// rate(), increase() and delta() with Prometheus 2.x extrapolation, written from its documented
// behaviour: a counter's increase over the window is last - first plus every value lost to a
// reset, then stretched towards the window edges if the samples reach (close to) them. The window
// is closed, [rangeStart, rangeEnd], as in Prometheus 2.

/**
 * @param timestamps sample times in ms inside [rangeStart, rangeEnd], ascending
 * @returns undefined when fewer than two samples exist (Prometheus returns no point then)
 */
export function extrapolatedIncrease(
  timestamps: readonly number[], values: readonly number[],
  rangeStartMs: number, rangeEndMs: number, isRate: boolean, isCounter = true,
): number | undefined {
  const n = timestamps.length;
  if (n < 2) return undefined;
  const firstT = timestamps[0]!, lastT = timestamps[n - 1]!;
  const firstV = values[0]!;
  let result = values[n - 1]! - firstV;
  if (isCounter) {
    // A drop means the counter restarted from zero: everything counted before the drop was lost
    // from "last - first", so add the pre-reset value back.
    let prev = 0;
    for (let i = 0; i < n; i++) {
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
