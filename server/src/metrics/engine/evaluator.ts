// Evaluates a parsed expression at a series of instants. Data for every selector is fetched once
// for the whole query span, then each step is computed in memory, so a range query costs one
// storage read per selector regardless of its number of steps.
import type { StoredSeries } from '../../storage/clickhouse/metrics-store.ts';
import type { LabelMatcher } from '../label-matcher.ts';
import type { Expr, MatrixSelector, VectorSelector } from '../promql/ast.ts';
import { extrapolatedIncrease } from './extrapolated-rate.ts';
import { pureIncrease, priorSampleLookbackMs } from './pure-increase.ts';
import { groupingLabels, labelsKey, withoutName, type Labels } from './labels.ts';
import { PromqlEvalError, type InstantSample, type InstantVector, type RangeSeries, type Value } from './values.ts';

/** How far back an instant selector looks for the latest sample (Prometheus' default). */
export const lookbackDeltaMs = 5 * 60_000;

export interface SeriesSource {
  selectSeries(matchers: readonly LabelMatcher[], fromMs: number, toMs: number): Promise<StoredSeries[]>;
}

export class Evaluator {
  private readonly data = new Map<VectorSelector, StoredSeries[]>();

  private constructor(private readonly root: Expr) {}

  /** Loads every selector's samples needed to evaluate `root` at instants within [startMs, endMs]. */
  static async prepare(source: SeriesSource, root: Expr, startMs: number, endMs: number): Promise<Evaluator> {
    const ev = new Evaluator(root);
    const loads: Promise<void>[] = [];
    walkSelectors(root, (sel, windowMs) => {
      loads.push(source.selectSeries(sel.matchers, startMs - windowMs, endMs).then((s) => { ev.data.set(sel, s); }));
    });
    await Promise.all(loads);
    return ev;
  }

  evalAt(t: number): Value {
    return this.eval(this.root, t);
  }

  private eval(e: Expr, t: number): Value {
    switch (e.kind) {
      case 'number': return { type: 'scalar', value: e.value };
      case 'paren': return this.eval(e.expr, t);
      case 'vector': return this.instant(e, t);
      case 'matrix': return { type: 'matrix', series: this.range(e, t) };
      case 'call': {
        const m = e.arg.kind === 'paren' ? unparen(e.arg) : e.arg;
        if (m.kind !== 'matrix') throw new PromqlEvalError(`${e.func}() needs a range vector selector`);
        const out: InstantSample[] = [];
        if (e.func === 'increase_pure') {
          for (const s of this.rangeWithPrior(m, t)) {
            out.push({ labels: withoutName(s.labels), value: pureIncrease(s.prior, s.values) });
          }
          return { type: 'vector', samples: checkUnique(out) };
        }
        for (const s of this.range(m, t)) {
          const v = extrapolatedIncrease(s.timestamps, s.values, t - m.rangeMs, t, e.func === 'rate');
          if (v !== undefined) out.push({ labels: withoutName(s.labels), value: v });
        }
        return { type: 'vector', samples: checkUnique(out) };
      }
      case 'aggregation': {
        const inner = this.eval(e.expr, t) as InstantVector;
        const groups = new Map<string, InstantSample>();
        for (const s of inner.samples) {
          const labels = groupingLabels(s.labels, e.grouping, e.without);
          const key = labelsKey(labels);
          const g = groups.get(key);
          if (g) g.value += s.value; else groups.set(key, { labels, value: s.value });
        }
        return { type: 'vector', samples: [...groups.values()] };
      }
      case 'binary': {
        const l = this.eval(e.lhs, t), r = this.eval(e.rhs, t);
        const f = arithmetic[e.op];
        if (l.type === 'scalar' && r.type === 'scalar') return { type: 'scalar', value: f(l.value, r.value) };
        if (l.type === 'vector' && r.type === 'scalar') {
          return { type: 'vector', samples: checkUnique(l.samples.map((s) => ({ labels: withoutName(s.labels), value: f(s.value, r.value) }))) };
        }
        if (l.type === 'scalar' && r.type === 'vector') {
          return { type: 'vector', samples: checkUnique(r.samples.map((s) => ({ labels: withoutName(s.labels), value: f(l.value, s.value) }))) };
        }
        throw new PromqlEvalError('binary operations between two vectors are not supported yet');
      }
    }
  }

  /** Latest sample in (t - lookback, t] of each series. */
  private instant(sel: VectorSelector, t: number): InstantVector {
    const out: InstantSample[] = [];
    for (const s of this.data.get(sel) ?? []) {
      const i = lastIndexAtOrBefore(s.timestamps, t);
      if (i >= 0 && s.timestamps[i]! > t - lookbackDeltaMs) out.push({ labels: s.labels, value: s.values[i]! });
    }
    return { type: 'vector', samples: out };
  }

  /** Samples in (t - range, t] of each series; series with none are left out. */
  private range(m: MatrixSelector, t: number): RangeSeries[] {
    const out: RangeSeries[] = [];
    for (const s of this.data.get(m.selector) ?? []) {
      const hi = lastIndexAtOrBefore(s.timestamps, t);
      const lo = lastIndexAtOrBefore(s.timestamps, t - m.rangeMs) + 1;
      if (hi >= lo) out.push({ labels: s.labels, timestamps: s.timestamps.slice(lo, hi + 1), values: s.values.slice(lo, hi + 1) });
    }
    return out;
  }

  /** Like range(), plus the value of the last sample before the window (within priorSampleLookbackMs), if any. */
  private rangeWithPrior(m: MatrixSelector, t: number): Array<RangeSeries & { prior: number | undefined }> {
    const out: Array<RangeSeries & { prior: number | undefined }> = [];
    for (const s of this.data.get(m.selector) ?? []) {
      const hi = lastIndexAtOrBefore(s.timestamps, t);
      const before = lastIndexAtOrBefore(s.timestamps, t - m.rangeMs);
      if (hi <= before) continue;
      const prior = before >= 0 && s.timestamps[before]! > t - m.rangeMs - priorSampleLookbackMs ? s.values[before]! : undefined;
      out.push({ labels: s.labels, timestamps: s.timestamps.slice(before + 1, hi + 1), values: s.values.slice(before + 1, hi + 1), prior });
    }
    return out;
  }
}

const arithmetic: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b, '-': (a, b) => a - b, '*': (a, b) => a * b, '/': (a, b) => a / b,
};

function unparen(e: Expr): Expr {
  while (e.kind === 'paren') e = e.expr;
  return e;
}

/** Calls fn for each selector with how far before the first instant its data must reach. */
function walkSelectors(e: Expr, fn: (sel: VectorSelector, windowMs: number) => void): void {
  switch (e.kind) {
    case 'vector': fn(e, lookbackDeltaMs); break;
    case 'matrix': fn(e.selector, e.rangeMs); break;
    case 'call':
      if (e.func === 'increase_pure' && e.arg.kind === 'matrix') fn(e.arg.selector, e.arg.rangeMs + priorSampleLookbackMs);
      else walkSelectors(e.arg, fn);
      break;
    case 'aggregation': case 'paren': walkSelectors(e.expr, fn); break;
    case 'binary': walkSelectors(e.lhs, fn); walkSelectors(e.rhs, fn); break;
    case 'number': break;
  }
}

/** Index of the last timestamp <= t, or -1. */
function lastIndexAtOrBefore(ts: readonly number[], t: number): number {
  let lo = 0, hi = ts.length - 1, ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid]! <= t) { ans = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return ans;
}

/** Dropping __name__ can make two series identical; Prometheus refuses to guess which one wins. */
function checkUnique(samples: InstantSample[]): InstantSample[] {
  const seen = new Set<string>();
  for (const s of samples) {
    const k = labelsKey(s.labels);
    if (seen.has(k)) throw new PromqlEvalError('vector cannot contain metrics with the same labelset');
    seen.add(k);
  }
  return samples;
}

export type { Labels };
