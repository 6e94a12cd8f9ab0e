// Evaluates a parsed expression at a series of instants. Data for every selector is fetched once
// for the whole query span (matchers and time range pushed down to storage), then each step is
// computed in memory, so a range query costs one storage read per selector regardless of its
// number of steps. Time semantics follow Prometheus 2.x: selector windows are closed
// [t - range, t], an instant selector takes the newest sample within 5 minutes, stale markers end
// a series, and subquery steps are aligned to multiples of their step since the epoch.
import type { LabelMatcher } from '../label-matcher.ts';
import type { AtModifier, Call, Expr, MatrixSelector, Subquery, VectorSelector } from '../promql/ast.ts';
import { aggregate } from './aggregation.ts';
import { scalarBinary, vectorBinary, vectorScalarBinary } from './binary.ts';
import { histogramQuantile } from './histogram-quantile.ts';
import { compareByLabelValues } from './label-value-order.ts';
import { labelJoin, labelReplace, mapValues, mathFunctions, roundTo, timeFunctions } from './instant-functions.ts';
import { compareLabelSets, labelsKey, withoutName, type Labels } from './labels.ts';
import { pureIncrease, priorSampleLookbackMs } from './pure-increase.ts';
import { planReads, type SelectorRequest } from './selector-plan.ts';
import { keepsMetricName, rangeFunctions } from './range-functions.ts';
import { isStaleMarker, PromqlEvalError, type InstantSample, type InstantVector, type RangeSeries, type Value } from './values.ts';

/** How far back an instant selector looks for the latest sample (Prometheus' default). */
export const lookbackDeltaMs = 5 * 60_000;
/** Step of subqueries written without one (Prometheus' default evaluation interval). */
export const defaultSubqueryStepMs = 60_000;

/** One series as storage returns it: `labels` include __name__; samples ascending, one per timestamp. */
export interface SeriesSamples {
  labels: Labels;
  timestamps: ArrayLike<number>;
  values: ArrayLike<number>;
  /**
   * Timestamps whose value is a Prometheus stale marker (present in `values` as a NaN). Storage
   * reports them because a NaN's payload does not survive every path into a JS number; when
   * absent, markers are recognised from the values' bits.
   */
  staleAt?: readonly number[];
}

export interface SeriesSource {
  /** Series matching all matchers with samples in (fromMs, toMs]. */
  selectSeries(matchers: readonly LabelMatcher[], fromMs: number, toMs: number): Promise<SeriesSamples[]>;
  /** Several selectSeries at once, when the source can do that cheaper. */
  selectSeriesMany?(requests: readonly { matchers: readonly LabelMatcher[]; fromMs: number; toMs: number }[]): Promise<SeriesSamples[][]>;
}

/** A selector's series with stale markers removed (they only end a series' visibility). */
interface LoadedSeries {
  labels: Labels;
  /** labels without __name__, what most functions return. */
  nameless: Labels;
  timestamps: Float64Array;
  values: Float64Array;
  staleAt: number[];
  /** drops[i]: how many values in [1, i] are below their predecessor (built on first use). */
  drops?: Int32Array;
}

/**
 * Where each series' window was at the previous evaluation of one selector: a range query moves
 * forward step by step, so windows advance from there instead of being searched for again.
 */
interface Cursor { startMs: number; endMs: number; lo: Int32Array; hi: Int32Array }

/** A selector's loaded series, and whether they stay distinct once __name__ is dropped. */
interface SelectorData { series: LoadedSeries[]; namelessUnique: boolean }

export class Evaluator {
  private readonly data = new Map<VectorSelector, SelectorData>();
  private readonly subqueryCache = new Map<Subquery, Map<number, Value>>();
  private readonly cursors = new Map<VectorSelector, Cursor>();

  private constructor(private readonly root: Expr, private readonly startMs: number, private readonly endMs: number) {}

  /** Loads every selector's samples needed to evaluate `root` at instants within [startMs, endMs]. */
  static async prepare(source: SeriesSource, root: Expr, startMs: number, endMs: number): Promise<Evaluator> {
    const ev = new Evaluator(root, startMs, endMs);
    const requests: SelectorRequest<VectorSelector>[] = [];
    ev.walk(root, startMs, endMs, (selector, fromMs, toMs) => { requests.push({ selector, matchers: selector.matchers, fromMs, toMs }); });
    const plan = planReads(requests);
    const reads = new Map<SelectorRequest<VectorSelector>, Promise<LoadedSeries[]>>();
    const toRead = plan.flatMap((p) => (p.kind === 'read' ? [p.request] : []));
    // Storage windows are left-open; ours are closed.
    if (toRead.length > 1 && source.selectSeriesMany) {
      const all = source.selectSeriesMany(toRead.map((r) => ({ matchers: r.matchers, fromMs: r.fromMs - 1, toMs: r.toMs })));
      toRead.forEach((r, i) => reads.set(r, all.then((a) => a[i]!.map(load).sort(byLabels))));
    } else {
      for (const r of toRead) reads.set(r, source.selectSeries(r.matchers, r.fromMs - 1, r.toMs).then((s) => s.map(load).sort(byLabels)));
    }
    await Promise.all(plan.map(async (p) => {
      const all = await reads.get(p.kind === 'read' ? p.request : p.from)!;
      const series = p.kind === 'read' ? all : all.filter((s) => p.keep(s.labels));
      ev.data.set(p.request.selector, { series, namelessUnique: distinctWithoutName(series) });
    }));
    return ev;
  }

  evalAt(t: number): Value {
    return this.eval(this.root, t);
  }

  private atTime(at: AtModifier | undefined, t: number): number {
    if (!at) return t;
    return at.kind === 'time' ? at.ms : at.kind === 'start' ? this.startMs : this.endMs;
  }

  private eval(e: Expr, t: number): Value {
    switch (e.kind) {
      case 'number': return { type: 'scalar', value: e.value };
      case 'string': return { type: 'string', value: e.value };
      case 'paren': return this.eval(e.expr, t);
      case 'vector': return { type: 'vector', samples: this.instant(e, t) };
      case 'matrix': return { type: 'matrix', series: this.range(e, t) };
      case 'subquery': return { type: 'matrix', series: this.subquery(e, t) };
      case 'unary': {
        const v = this.eval(e.expr, t);
        if (e.op === '+') return v;
        if (v.type === 'scalar') return { type: 'scalar', value: -v.value };
        return { type: 'vector', samples: checkUnique((v as InstantVector).samples.map((s) => ({ labels: withoutName(s.labels), value: -s.value }))) };
      }
      case 'call': return this.call(e, t);
      case 'aggregation': {
        const inner = (this.eval(e.expr, t) as InstantVector).samples;
        const p = e.param ? this.eval(e.param, t) : undefined;
        const param = p?.type === 'scalar' || p?.type === 'string' ? p.value : undefined;
        return { type: 'vector', samples: aggregate(e, inner, param) };
      }
      case 'binary': {
        const l = this.eval(e.lhs, t), r = this.eval(e.rhs, t);
        if (l.type === 'scalar' && r.type === 'scalar') return { type: 'scalar', value: scalarBinary(e, l.value, r.value) };
        if (l.type === 'vector' && r.type === 'scalar') return { type: 'vector', samples: checkUnique(vectorScalarBinary(e, l.samples, r.value, false)) };
        if (l.type === 'scalar' && r.type === 'vector') return { type: 'vector', samples: checkUnique(vectorScalarBinary(e, r.samples, l.value, true)) };
        return { type: 'vector', samples: checkUnique(vectorBinary(e, (l as InstantVector).samples, (r as InstantVector).samples)) };
      }
    }
  }

  private call(e: Call, t: number): Value {
    const f = e.func;
    const rangeFn = rangeFunctions[f];
    if (rangeFn) {
      const mIdx = f === 'quantile_over_time' ? 1 : 0;
      const scalarArgs = e.args.length === 1 ? noScalars : e.args.flatMap((a, i) => (i === mIdx ? [] : [this.scalar(a, t)]));
      const arg = unparen(e.args[mIdx]!);
      const keepName = keepsMetricName.has(f);
      const out: InstantSample[] = [];
      if (arg.kind === 'matrix') {
        // The hot path of range queries: windows are index ranges over the loaded columns.
        const d = this.data.get(arg.selector);
        const endMs = this.atTime(arg.selector.at, t) - arg.selector.offsetMs, startMs = endMs - arg.rangeMs;
        const w = { timestamps: [] as ArrayLike<number>, values: [] as ArrayLike<number>, lo: 0, hi: 0, mayHaveResets: true, startMs, endMs, evalMs: t };
        const counter = f === 'rate' || f === 'increase';
        const series = d?.series ?? [];
        const c = this.windows(arg.selector, series, startMs, endMs);
        for (let i = 0; i < series.length; i++) {
          const lo = c.lo[i]!, hi = c.hi[i]!;
          if (hi <= lo) continue;
          const s = series[i]!;
          w.timestamps = s.timestamps; w.values = s.values; w.lo = lo; w.hi = hi;
          if (counter) { const d = s.drops ??= dropCounts(s.values); w.mayHaveResets = d[hi - 1]! !== d[lo]!; }
          const v = rangeFn(w, scalarArgs);
          if (v !== undefined) out.push({ labels: keepName ? s.labels : s.nameless, value: v });
        }
        return { type: 'vector', samples: keepName || d?.namelessUnique ? out : checkUnique(out) };
      }
      const { series, startMs, endMs } = this.window(arg, t);
      for (const s of series) {
        const v = rangeFn({ timestamps: s.timestamps, values: s.values, lo: s.lo, hi: s.hi, mayHaveResets: true, startMs, endMs, evalMs: t }, scalarArgs);
        if (v !== undefined) out.push({ labels: keepName ? s.labels : withoutName(s.labels), value: v });
      }
      return { type: 'vector', samples: checkUnique(out) };
    }
    switch (f) {
      case 'increase_pure': {
        const m = unparen(e.args[0]!);
        if (m.kind !== 'matrix') throw new PromqlEvalError('increase_pure() needs a range vector selector');
        const out: InstantSample[] = [];
        for (const s of this.rangeWithPrior(m, t)) out.push({ labels: withoutName(s.labels), value: pureIncrease(s.prior, s.values, s.lo, s.hi) });
        return { type: 'vector', samples: checkUnique(out) };
      }
      case 'absent_over_time': {
        const arg = unparen(e.args[0]!);
        if (this.window(arg, t).series.length > 0) return { type: 'vector', samples: [] };
        return { type: 'vector', samples: [{ labels: absentLabels(arg.kind === 'matrix' ? arg.selector : undefined), value: 1 }] };
      }
      case 'absent': {
        if (this.vector(e.args[0]!, t).length > 0) return { type: 'vector', samples: [] };
        const arg = unparen(e.args[0]!);
        return { type: 'vector', samples: [{ labels: absentLabels(arg.kind === 'vector' ? arg : undefined), value: 1 }] };
      }
      case 'histogram_quantile': return { type: 'vector', samples: checkUnique(histogramQuantile(this.scalar(e.args[0]!, t), this.vector(e.args[1]!, t))) };
      case 'label_replace': {
        const [dst, repl, src, re] = e.args.slice(1).map((a) => this.str(a, t)) as [string, string, string, string];
        return { type: 'vector', samples: checkUnique(labelReplace(this.vector(e.args[0]!, t), dst, repl, src, re)) };
      }
      case 'label_join': {
        const [dst, sep, ...srcs] = e.args.slice(1).map((a) => this.str(a, t)) as [string, string, ...string[]];
        return { type: 'vector', samples: checkUnique(labelJoin(this.vector(e.args[0]!, t), dst, sep, srcs)) };
      }
      case 'clamp': {
        const v = this.vector(e.args[0]!, t), lo = this.scalar(e.args[1]!, t), hi = this.scalar(e.args[2]!, t);
        if (hi < lo) return { type: 'vector', samples: [] };
        return { type: 'vector', samples: checkUnique(mapValues(v, (x) => goMax(lo, goMin(hi, x)))) };
      }
      case 'clamp_min': { const lo = this.scalar(e.args[1]!, t); return { type: 'vector', samples: checkUnique(mapValues(this.vector(e.args[0]!, t), (x) => goMax(lo, x))) }; }
      case 'clamp_max': { const hi = this.scalar(e.args[1]!, t); return { type: 'vector', samples: checkUnique(mapValues(this.vector(e.args[0]!, t), (x) => goMin(hi, x))) }; }
      case 'round': {
        const to = e.args[1] ? this.scalar(e.args[1], t) : 1;
        return { type: 'vector', samples: checkUnique(mapValues(this.vector(e.args[0]!, t), (x) => roundTo(x, to))) };
      }
      case 'scalar': { const v = this.vector(e.args[0]!, t); return { type: 'scalar', value: v.length === 1 ? v[0]!.value : NaN }; }
      case 'vector': return { type: 'vector', samples: [{ labels: {}, value: this.scalar(e.args[0]!, t) }] };
      case 'time': return { type: 'scalar', value: t / 1000 };
      case 'pi': return { type: 'scalar', value: Math.PI };
      case 'timestamp': {
        // Straight from a selector, the sample's own time; otherwise the evaluation time.
        const v = this.vector(e.args[0]!, t);
        return { type: 'vector', samples: checkUnique(v.map((s) => ({ labels: withoutName(s.labels), value: (s.ts ?? t) / 1000 }))) };
      }
      case 'sort': case 'sort_desc': {
        const v = [...this.vector(e.args[0]!, t)];
        const dir = f === 'sort' ? 1 : -1;
        v.sort((a, b) => (Number.isNaN(a.value) ? 1 : Number.isNaN(b.value) ? -1 : dir * (a.value - b.value)));
        return { type: 'vector', samples: v };
      }
      case 'sort_by_label': case 'sort_by_label_desc': {
        const names = e.args.slice(1).map((a) => this.str(a, t));
        const dir = f === 'sort_by_label' ? 1 : -1;
        return { type: 'vector', samples: [...this.vector(e.args[0]!, t)].sort((a, b) => dir * compareByLabelValues(a.labels, b.labels, names)) };
      }
    }
    const math = mathFunctions[f];
    if (math) return { type: 'vector', samples: checkUnique(mapValues(this.vector(e.args[0]!, t), math)) };
    const tf = timeFunctions[f];
    if (tf) {
      const input = e.args[0] ? this.vector(e.args[0], t) : [{ labels: {}, value: t / 1000 }];
      return { type: 'vector', samples: checkUnique(mapValues(input, (x) => (Number.isFinite(x) ? tf(new Date(Math.trunc(x) * 1000)) : NaN))) };
    }
    throw new PromqlEvalError(`function ${JSON.stringify(f)} is not supported`);
  }

  private vector(e: Expr, t: number): InstantSample[] { return (this.eval(e, t) as InstantVector).samples; }
  private scalar(e: Expr, t: number): number {
    const v = this.eval(e, t);
    return v.type === 'scalar' ? v.value : NaN;
  }
  private str(e: Expr, t: number): string {
    const v = this.eval(e, t);
    return v.type === 'string' ? v.value : '';
  }

  /** The series and window [startMs, endMs] a range function reads at evaluation time t. */
  private window(arg: Expr, t: number): { series: RangeSeries[]; startMs: number; endMs: number } {
    if (arg.kind === 'matrix') {
      const end = this.atTime(arg.selector.at, t) - arg.selector.offsetMs;
      return { series: this.range(arg, t), startMs: end - arg.rangeMs, endMs: end };
    }
    if (arg.kind === 'subquery') {
      const end = this.atTime(arg.at, t) - arg.offsetMs;
      return { series: this.subquery(arg, t), startMs: end - arg.rangeMs, endMs: end };
    }
    throw new PromqlEvalError('expected a range vector');
  }

  /** Newest sample in [ref - lookback, ref] of each series, unless it is a stale marker. */
  private instant(sel: VectorSelector, t: number): InstantSample[] {
    const ref = this.atTime(sel.at, t) - sel.offsetMs;
    const out: InstantSample[] = [];
    const series = this.data.get(sel)?.series ?? [];
    const c = this.windows(sel, series, ref - lookbackDeltaMs, ref);
    for (let k = 0; k < series.length; k++) {
      const s = series[k]!;
      const i = c.hi[k]! - 1;
      if (i < 0) continue;
      const ts = s.timestamps[i]!;
      if (ts < ref - lookbackDeltaMs) continue;
      if (s.staleAt.length > 0 && staleBetween(s.staleAt, ts, ref)) continue;
      out.push({ labels: s.labels, value: s.values[i]!, ts });
    }
    return out;
  }

  /** Samples in [ref - range, ref] of each series; series with none are left out. */
  private range(m: MatrixSelector, t: number): RangeSeries[] {
    const ref = this.atTime(m.selector.at, t) - m.selector.offsetMs;
    const out: RangeSeries[] = [];
    for (const s of this.data.get(m.selector)?.series ?? []) {
      const hi = lastIndexAtOrBefore(s.timestamps, ref) + 1;
      const lo = lastIndexAtOrBefore(s.timestamps, ref - m.rangeMs - 1, hi) + 1;
      if (hi > lo) out.push({ labels: s.labels, timestamps: s.timestamps, values: s.values, lo, hi });
    }
    return out;
  }

  /**
   * Index ranges [lo, hi) of each series' samples within [startMs, endMs]. Moving forward (the
   * usual case) the previous ranges advance; otherwise they are searched for.
   */
  private windows(sel: VectorSelector, series: readonly LoadedSeries[], startMs: number, endMs: number): Cursor {
    let c = this.cursors.get(sel);
    if (!c || c.lo.length !== series.length) {
      c = { startMs: -Infinity, endMs: -Infinity, lo: new Int32Array(series.length), hi: new Int32Array(series.length) };
      this.cursors.set(sel, c);
    }
    const forward = startMs >= c.startMs && endMs >= c.endMs;
    for (let i = 0; i < series.length; i++) {
      const ts = series[i]!.timestamps;
      let lo: number, hi: number;
      if (forward) {
        hi = c.hi[i]!;
        while (hi < ts.length && ts[hi]! <= endMs) hi++;
        lo = c.lo[i]!;
        while (lo < hi && ts[lo]! < startMs) lo++;
      } else {
        hi = lastIndexAtOrBefore(ts, endMs) + 1;
        lo = lastIndexAtOrBefore(ts, startMs - 1, hi) + 1;
      }
      c.lo[i] = lo;
      c.hi[i] = hi;
    }
    c.startMs = startMs;
    c.endMs = endMs;
    return c;
  }

  /** The inner expression evaluated at every multiple of the step inside [ref - range, ref]. */
  private subquery(sq: Subquery, t: number): RangeSeries[] {
    const step = sq.stepMs || defaultSubqueryStepMs;
    const ref = this.atTime(sq.at, t) - sq.offsetMs;
    let cache = this.subqueryCache.get(sq);
    if (!cache) { cache = new Map(); this.subqueryCache.set(sq, cache); }
    const bySeries = new Map<string, { labels: Labels; timestamps: number[]; values: number[] }>();
    for (let ts = Math.ceil((ref - sq.rangeMs) / step) * step; ts <= ref; ts += step) {
      let v = cache.get(ts);
      if (!v) { v = this.eval(sq.expr, ts); cache.set(ts, v); }
      const samples = v.type === 'scalar' ? [{ labels: {}, value: v.value }] : v.type === 'vector' ? v.samples : [];
      for (const s of samples) {
        const k = labelsKey(s.labels);
        let r = bySeries.get(k);
        if (!r) { r = { labels: s.labels, timestamps: [], values: [] }; bySeries.set(k, r); }
        r.timestamps.push(ts);
        r.values.push(s.value);
      }
    }
    return [...bySeries.values()].map((r) => ({ ...r, lo: 0, hi: r.timestamps.length }));
  }

  /** Like range(), plus the value of the last sample before the window (within priorSampleLookbackMs), if any. */
  private rangeWithPrior(m: MatrixSelector, t: number): Array<RangeSeries & { prior: number | undefined }> {
    const ref = this.atTime(m.selector.at, t) - m.selector.offsetMs;
    const out: Array<RangeSeries & { prior: number | undefined }> = [];
    for (const s of this.data.get(m.selector)?.series ?? []) {
      const hi = lastIndexAtOrBefore(s.timestamps, ref);
      const before = lastIndexAtOrBefore(s.timestamps, ref - m.rangeMs);
      if (hi <= before) continue;
      const prior = before >= 0 && s.timestamps[before]! > ref - m.rangeMs - priorSampleLookbackMs ? s.values[before]! : undefined;
      out.push({ labels: s.labels, timestamps: s.timestamps, values: s.values, lo: before + 1, hi: hi + 1, prior });
    }
    return out;
  }

  /** Calls fn for each selector with the time span [from, to] its data must cover. */
  private walk(e: Expr, from: number, to: number, fn: (sel: VectorSelector, fromMs: number, toMs: number) => void): void {
    const span = (at: AtModifier | undefined, offsetMs: number): [number, number] => {
      if (at) { const a = this.atTime(at, from) - offsetMs; return [a, a]; }
      return [from - offsetMs, to - offsetMs];
    };
    switch (e.kind) {
      case 'vector': { const [a, b] = span(e.at, e.offsetMs); fn(e, a - lookbackDeltaMs, b); break; }
      case 'matrix': { const [a, b] = span(e.selector.at, e.selector.offsetMs); fn(e.selector, a - e.rangeMs, b); break; }
      case 'subquery': { const [a, b] = span(e.at, e.offsetMs); this.walk(e.expr, a - e.rangeMs, b, fn); break; }
      case 'call':
        if (e.func === 'increase_pure' && unparen(e.args[0]!).kind === 'matrix') {
          const m = unparen(e.args[0]!) as MatrixSelector;
          const [a, b] = span(m.selector.at, m.selector.offsetMs);
          fn(m.selector, a - m.rangeMs - priorSampleLookbackMs, b);
        } else for (const a of e.args) this.walk(a, from, to, fn);
        break;
      case 'aggregation': if (e.param) this.walk(e.param, from, to, fn); this.walk(e.expr, from, to, fn); break;
      case 'paren': case 'unary': this.walk(e.expr, from, to, fn); break;
      case 'binary': this.walk(e.lhs, from, to, fn); this.walk(e.rhs, from, to, fn); break;
      case 'number': case 'string': break;
    }
  }
}

/** The scalar arguments of a range function that has none (shared, never written). */
const noScalars: readonly number[] = [];

/**
 * Prometheus hands series to functions and aggregations in label order; keeping the same order
 * makes floating-point sums identical, not just close.
 */
function byLabels(a: LoadedSeries, b: LoadedSeries): number {
  return compareLabelSets(a.labels, b.labels);
}

/** Drops stale markers from the samples into staleAt: a marker is not a value, it ends the series. */
function load(s: SeriesSamples): LoadedSeries {
  const n = s.timestamps.length;
  let isStale: (i: number) => boolean;
  if (s.staleAt !== undefined) {
    if (s.staleAt.length === 0) return { labels: s.labels, nameless: withoutName(s.labels), timestamps: floats(s.timestamps), values: floats(s.values), staleAt: [] };
    const marked = new Set(s.staleAt);
    isStale = (i) => Number.isNaN(s.values[i]!) && marked.has(s.timestamps[i]!);
  } else {
    let any = false;
    for (let i = 0; i < n; i++) if (Number.isNaN(s.values[i]!) && isStaleMarker(s.values[i]!)) { any = true; break; }
    if (!any) return { labels: s.labels, nameless: withoutName(s.labels), timestamps: floats(s.timestamps), values: floats(s.values), staleAt: [] };
    isStale = (i) => isStaleMarker(s.values[i]!);
  }
  const timestamps: number[] = [], values: number[] = [], staleAt: number[] = [];
  for (let i = 0; i < n; i++) {
    if (isStale(i)) staleAt.push(s.timestamps[i]!);
    else { timestamps.push(s.timestamps[i]!); values.push(s.values[i]!); }
  }
  return { labels: s.labels, nameless: withoutName(s.labels), timestamps: Float64Array.from(timestamps), values: Float64Array.from(values), staleAt };
}

function dropCounts(values: Float64Array): Int32Array {
  const d = new Int32Array(values.length);
  for (let i = 1; i < values.length; i++) d[i] = d[i - 1]! + (values[i]! < values[i - 1]! ? 1 : 0);
  return d;
}

/** One array type for all loaded columns keeps the hot loops monomorphic. */
function floats(a: ArrayLike<number>): Float64Array {
  return a instanceof Float64Array ? a : Float64Array.from(a);
}

/** Whether dropping __name__ keeps the series distinct (then no subset can collide either). */
function distinctWithoutName(series: readonly LoadedSeries[]): boolean {
  if (series.length < 2) return true;
  const seen = new Set<string>();
  for (const s of series) {
    const k = labelsKey(withoutName(s.labels));
    if (seen.has(k)) return false;
    seen.add(k);
  }
  return true;
}

/** Whether a stale marker lies in (sampleTs, ref]: the series ended after its last sample. */
function staleBetween(staleAt: number[], sampleTs: number, ref: number): boolean {
  const i = lastIndexAtOrBefore(staleAt, ref);
  return i >= 0 && staleAt[i]! > sampleTs;
}

function goMax(a: number, b: number): number { return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b); }
function goMin(a: number, b: number): number { return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b); }

function unparen(e: Expr): Expr {
  while (e.kind === 'paren') e = e.expr;
  return e;
}

/** absent()'s result labels: the selector's equality matchers, minus labels matched more than once. */
function absentLabels(sel: VectorSelector | undefined): Labels {
  if (!sel) return {};
  const out: Labels = {};
  const drop = new Set<string>();
  for (const m of sel.matchers) {
    if (m.name === '__name__') continue;
    if (m.type === '=' && out[m.name] === undefined && !drop.has(m.name)) out[m.name] = m.value;
    else drop.add(m.name);
  }
  for (const d of drop) delete out[d];
  for (const k of Object.keys(out)) if (out[k] === '') delete out[k];
  return out;
}

/** Index of the last timestamp <= t among the first `end` ones, or -1. */
function lastIndexAtOrBefore(ts: ArrayLike<number>, t: number, end = ts.length): number {
  let lo = 0, hi = end - 1, ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid]! <= t) { ans = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return ans;
}

/** Dropping __name__ can make two series identical; Prometheus refuses to guess which one wins. */
function checkUnique(samples: InstantSample[]): InstantSample[] {
  if (samples.length < 2) return samples;
  const seen = new Set<string>();
  for (const s of samples) {
    const k = labelsKey(s.labels);
    if (seen.has(k)) throw new PromqlEvalError('vector cannot contain metrics with the same labelset');
    seen.add(k);
  }
  return samples;
}

export type { Labels };
