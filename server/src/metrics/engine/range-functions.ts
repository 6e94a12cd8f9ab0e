// Functions of a range vector: each maps one series' samples in the window to a value (or none).
// A window is an index range [lo, hi) over the series' whole loaded columns, so evaluating a range
// query step by step never copies samples: consecutive steps just move lo and hi.
import { extrapolatedIncrease } from './extrapolated-rate.ts';
import { kahanAdd, quantileOf } from './numeric.ts';
import { PromqlEvalError } from './values.ts';

export interface Window {
  timestamps: ArrayLike<number>;
  values: ArrayLike<number>;
  /** The samples in the window are those at indexes [lo, hi), at least one. */
  lo: number;
  hi: number;
  /** False when no value in [lo, hi) is below the one before it (known from a prefix count). */
  mayHaveResets: boolean;
  /** The window [startMs, endMs] the samples were taken from. */
  startMs: number;
  endMs: number;
  /** The evaluation instant (predict_linear projects from it). */
  evalMs: number;
}

/** `scalars` are the function's scalar arguments in order (φ, the prediction horizon, sf and tf). */
export type RangeFunction = (w: Window, scalars: readonly number[]) => number | undefined;

export const rangeFunctions: Record<string, RangeFunction> = {
  rate: (w) => extrapolatedIncrease(w.timestamps, w.values, w.startMs, w.endMs, true, true, w.lo, w.hi, w.mayHaveResets),
  increase: (w) => extrapolatedIncrease(w.timestamps, w.values, w.startMs, w.endMs, false, true, w.lo, w.hi, w.mayHaveResets),
  delta: (w) => extrapolatedIncrease(w.timestamps, w.values, w.startMs, w.endMs, false, false, w.lo, w.hi),
  irate: (w) => instantDelta(w, true),
  idelta: (w) => instantDelta(w, false),
  deriv: (w) => (w.hi - w.lo < 2 ? undefined : linearRegression(w, w.timestamps[w.lo]!)[0]),
  predict_linear: (w, [horizon]) => {
    if (w.hi - w.lo < 2) return undefined;
    const [slope, intercept] = linearRegression(w, w.evalMs);
    return slope * horizon! + intercept;
  },
  holt_winters: (w, [sf, tf]) => doubleExponentialSmoothing(w, sf!, tf!),
  double_exponential_smoothing: (w, [sf, tf]) => doubleExponentialSmoothing(w, sf!, tf!),
  changes: (w) => {
    let n = 0;
    for (let i = w.lo + 1; i < w.hi; i++) {
      const a = w.values[i - 1]!, b = w.values[i]!;
      if (a !== b && !(Number.isNaN(a) && Number.isNaN(b))) n++;
    }
    return n;
  },
  resets: (w) => {
    let n = 0;
    for (let i = w.lo + 1; i < w.hi; i++) if (w.values[i]! < w.values[i - 1]!) n++;
    return n;
  },
  avg_over_time: (w) => {
    let mean = 0, c = 0, count = 0;
    for (let i = w.lo; i < w.hi; i++) {
      const v = w.values[i]!;
      count++;
      if (!Number.isFinite(mean) && !Number.isNaN(mean)) {
        // An infinite mean stays as it is unless a NaN or the opposite infinity arrives.
        if (!Number.isFinite(v) && !Number.isNaN(v) && (mean > 0) === (v > 0)) continue;
        if (Number.isFinite(v)) continue;
      }
      // Neumaier compensation, inline (kahanAdd's tuple would allocate per sample).
      const inc = v / count - mean / count, sum = mean + inc;
      c += Math.abs(mean) >= Math.abs(inc) ? (mean - sum) + inc : (inc - sum) + mean;
      mean = sum;
    }
    return !Number.isFinite(mean) && !Number.isNaN(mean) ? mean : mean + c;
  },
  min_over_time: (w) => {
    let m = w.values[w.lo]!;
    for (let i = w.lo; i < w.hi; i++) { const v = w.values[i]!; if (v < m || Number.isNaN(m)) m = v; }
    return m;
  },
  max_over_time: (w) => {
    let m = w.values[w.lo]!;
    for (let i = w.lo; i < w.hi; i++) { const v = w.values[i]!; if (v > m || Number.isNaN(m)) m = v; }
    return m;
  },
  sum_over_time: (w) => {
    let s = 0, c = 0;
    for (let i = w.lo; i < w.hi; i++) {
      const v = w.values[i]!, t = s + v;
      c += Math.abs(s) >= Math.abs(v) ? (s - t) + v : (v - t) + s;
      s = t;
    }
    return Number.isFinite(s) ? s + c : s;
  },
  count_over_time: (w) => w.hi - w.lo,
  last_over_time: (w) => w.values[w.hi - 1],
  present_over_time: () => 1,
  quantile_over_time: (w, [q]) => quantileOf(q!, windowValues(w)),
  stddev_over_time: (w) => Math.sqrt(variance(w)),
  stdvar_over_time: (w) => variance(w),
  // Prometheus 3 (experimental functions)
  first_over_time: (w) => w.values[w.lo],
  mad_over_time: (w) => {
    // the median of the absolute deviations from the median
    const values = windowValues(w);
    const median = quantileOf(0.5, values);
    for (let i = 0; i < values.length; i++) values[i] = Math.abs(values[i]! - median);
    return quantileOf(0.5, values);
  },
  ts_of_first_over_time: (w) => w.timestamps[w.lo]! / 1000,
  ts_of_last_over_time: (w) => w.timestamps[w.hi - 1]! / 1000,
  // the last sample holding the extreme (>=, <=), where max_over_time and min_over_time keep the first
  ts_of_max_over_time: (w) => timestampOfExtreme(w, (v, m) => v >= m),
  ts_of_min_over_time: (w) => timestampOfExtreme(w, (v, m) => v <= m),
};

/** Functions whose result keeps the metric name. */
export const keepsMetricName: ReadonlySet<string> = new Set(['last_over_time', 'first_over_time']);

/**
 * Seconds of the sample that `better` picks as the window's extreme; a NaN so far is always
 * replaced. min_over_time and max_over_time keep their own loops: through one shared comparator
 * they ran 7× slower (2.3 -> 16 ms for 2M samples: the comparator call turned polymorphic).
 */
function timestampOfExtreme(w: Window, better: (v: number, m: number) => boolean): number {
  let m = w.values[w.lo]!, t = w.timestamps[w.lo]!;
  for (let i = w.lo; i < w.hi; i++) {
    const v = w.values[i]!;
    if (better(v, m) || Number.isNaN(m)) { m = v; t = w.timestamps[i]!; }
  }
  return t / 1000;
}

function windowValues(w: Window): number[] {
  const out = new Array<number>(w.hi - w.lo);
  for (let i = w.lo; i < w.hi; i++) out[i - w.lo] = w.values[i]!;
  return out;
}

function instantDelta(w: Window, isRate: boolean): number | undefined {
  const n = w.hi;
  if (n - w.lo < 2) return undefined;
  const last = w.values[n - 1]!, prev = w.values[n - 2]!;
  const dt = w.timestamps[n - 1]! - w.timestamps[n - 2]!;
  if (dt === 0) return undefined;
  // irate treats a drop as a counter reset: the counter restarted from zero.
  const d = isRate && last < prev ? last : last - prev;
  return isRate ? d / (dt / 1000) : d;
}

/**
 * holt_winters as Prometheus 2 defines it, and double_exponential_smoothing, Prometheus 3's name
 * for the same computation with the same checks and messages: the level starts at the first value
 * and the trend at the first difference; each later sample moves the level by the smoothing factor
 * and the trend by the trend factor. The result is the last smoothed level. The factors are
 * checked before the sample count, so a bad factor is an error even for a window of one sample (as
 * in Prometheus); a NaN factor passes the check there too and makes the result NaN.
 */
function doubleExponentialSmoothing(w: Window, sf: number, tf: number): number | undefined {
  if (sf <= 0 || sf >= 1) throw new PromqlEvalError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${goFixed6(sf)}`);
  if (tf <= 0 || tf >= 1) throw new PromqlEvalError(`invalid trend factor. Expected: 0 < tf < 1, got: ${goFixed6(tf)}`);
  if (w.hi - w.lo < 2) return undefined;
  let previousLevel = 0, level = w.values[w.lo]!;
  let trend = w.values[w.lo + 1]! - w.values[w.lo]!;
  for (let i = w.lo + 1; i < w.hi; i++) {
    // The first step keeps the initial trend: there is no earlier level to take a difference from.
    if (i > w.lo + 1) trend = tf * (level - previousLevel) + (1 - tf) * trend;
    const next = sf * w.values[i]! + (1 - sf) * (level + trend);
    previousLevel = level;
    level = next;
  }
  return level;
}

/** Go's %f: six decimals; infinities as +Inf / -Inf. */
function goFixed6(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  return x.toFixed(6);
}

function variance(w: Window): number {
  let count = 0, mean = 0, cMean = 0, aux = 0, cAux = 0;
  for (let i = w.lo; i < w.hi; i++) {
    const v = w.values[i]!;
    count++;
    const delta = v - (mean + cMean);
    [mean, cMean] = kahanAdd(delta / count, mean, cMean);
    [aux, cAux] = kahanAdd(delta * (v - (mean + cMean)), aux, cAux);
  }
  return (aux + cAux) / count;
}

/** Least-squares slope and intercept, with x = seconds since interceptMs. */
function linearRegression(w: Window, interceptMs: number): [number, number] {
  let n = 0, sumX = 0, cX = 0, sumY = 0, cY = 0, sumXY = 0, cXY = 0, sumX2 = 0, cX2 = 0;
  const initY = w.values[w.lo]!;
  let constY = true;
  for (let i = w.lo; i < w.hi; i++) {
    const y = w.values[i]!;
    if (constY && i > w.lo && y !== initY) constY = false;
    n++;
    const x = (w.timestamps[i]! - interceptMs) / 1000;
    [sumX, cX] = kahanAdd(x, sumX, cX);
    [sumY, cY] = kahanAdd(y, sumY, cY);
    [sumXY, cXY] = kahanAdd(x * y, sumXY, cXY);
    [sumX2, cX2] = kahanAdd(x * x, sumX2, cX2);
  }
  if (constY) {
    if (!Number.isFinite(initY) && !Number.isNaN(initY)) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX; sumY += cY; sumXY += cXY; sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return [slope, sumY / n - (slope * sumX) / n];
}
