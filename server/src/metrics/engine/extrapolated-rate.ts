// rate() and increase() with Prometheus' (3.x) extrapolation, written from its documented
// behaviour: a counter's increase over the window is last - first plus every value lost to a
// reset, then stretched to cover the whole window if the samples reach (close to) its edges.

/**
 * @param timestamps sample times in ms inside (rangeStart, rangeEnd], ascending
 * @returns undefined when fewer than two samples exist (Prometheus returns no point then)
 */
export function extrapolatedIncrease(
  timestamps: readonly number[], values: readonly number[],
  rangeStartMs: number, rangeEndMs: number, isRate: boolean,
): number | undefined {
  const n = timestamps.length;
  if (n < 2) return undefined;
  const firstT = timestamps[0]!, lastT = timestamps[n - 1]!;
  const firstV = values[0]!;
  let result = values[n - 1]! - firstV;
  // A drop means the counter restarted from zero: everything counted before the drop was lost
  // from "last - first", so add the pre-reset value back.
  let prev = firstV;
  for (let i = 1; i < n; i++) {
    const v = values[i]!;
    if (v < prev) result += prev;
    prev = v;
  }

  const sampledInterval = (lastT - firstT) / 1000;
  const avgStep = sampledInterval / (n - 1);
  // Samples "close" (within 110% of the average spacing) to an edge are assumed to continue up to
  // it; otherwise the series likely starts/ends inside the window, so extend by half a step only.
  const threshold = avgStep * 1.1;
  let toStart = (firstT - rangeStartMs) / 1000;
  let toEnd = (rangeEndMs - lastT) / 1000;
  if (toStart >= threshold) toStart = avgStep / 2;
  // A counter cannot have been below zero: never extrapolate further back than where the line
  // through the samples would cross zero.
  if (result > 0 && firstV >= 0) {
    const toZero = sampledInterval * (firstV / result);
    if (toZero < toStart) toStart = toZero;
  }
  if (toEnd >= threshold) toEnd = avgStep / 2;

  let factor = (sampledInterval + toStart + toEnd) / sampledInterval;
  if (isRate) factor /= (rangeEndMs - rangeStartMs) / 1000;
  return result * factor;
}
