// Instant and range queries: parse, load, evaluate, and shape results as Prometheus' API does.
import { parsePromql } from '../promql/parser.ts';
import { typeOf } from '../promql/ast.ts';
import { Evaluator, type SeriesSource } from './evaluator.ts';
import { compareLabels, labelsKey, type Labels } from './labels.ts';
import { PromqlEvalError, type RangeSeries } from './values.ts';
import { formatSampleValue } from './format.ts';

/** A point as Prometheus serialises it: [unix seconds, value as string]. */
export type PromPoint = [number, string];

export type InstantResult =
  | { resultType: 'scalar'; result: PromPoint }
  | { resultType: 'string'; result: [number, string] }
  | { resultType: 'vector'; result: { metric: Labels; value: PromPoint }[] }
  | { resultType: 'matrix'; result: { metric: Labels; values: PromPoint[] }[] };

export interface RangeResult { resultType: 'matrix'; result: { metric: Labels; values: PromPoint[] }[] }

/** Functions whose order an instant query's answer keeps (a range query's series are always in label order). */
const orderingFunctions: ReadonlySet<string> = new Set(['sort', 'sort_desc', 'sort_by_label', 'sort_by_label_desc']);

/** Prometheus refuses range queries with more points per series than this. */
export const maxPointsPerSeries = 11_000;

export async function instantQuery(source: SeriesSource, query: string, timeMs: number): Promise<InstantResult> {
  const expr = parsePromql(query);
  const ev = await Evaluator.prepare(source, expr, timeMs, timeMs);
  const v = ev.evalAt(timeMs);
  const ts = timeMs / 1000;
  switch (v.type) {
    case 'scalar': return { resultType: 'scalar', result: [ts, formatSampleValue(v.value)] };
    case 'string': return { resultType: 'string', result: [ts, v.value] };
    case 'vector': return {
      resultType: 'vector',
      // sort(), sort_desc(), sort_by_label() and sort_by_label_desc() order the result themselves.
      result: (expr.kind === 'call' && orderingFunctions.has(expr.func) ? v.samples : v.samples.sort((a, b) => compareLabels(a.labels, b.labels))).map((s) => ({ metric: s.labels, value: [ts, formatSampleValue(s.value)] as PromPoint })),
    };
    case 'matrix': return {
      resultType: 'matrix',
      result: v.series.sort((a, b) => compareLabels(a.labels, b.labels)).map((s) => ({
        metric: s.labels,
        values: matrixPoints(s),
      })),
    };
  }
}

/** A range query's series before formatting: step times (ms) and values. */
export interface RawRangeSeries { metric: Labels; times: number[]; values: number[] }

export async function rangeQuery(source: SeriesSource, query: string, startMs: number, endMs: number, stepMs: number): Promise<RangeResult> {
  const raw = await rangeQueryRaw(source, query, startMs, endMs, stepMs);
  return {
    resultType: 'matrix',
    result: raw.map((s) => ({ metric: s.metric, values: s.times.map((t, i) => [t / 1000, formatSampleValue(s.values[i]!)] as PromPoint) })),
  };
}

/**
 * The same answer as rangeQuery, already serialised as the API's `data` JSON. Results run to
 * hundreds of kilobytes; writing them directly skips building an array per point and the
 * serialiser's generic walk over them.
 */
export async function rangeQueryJson(source: SeriesSource, query: string, startMs: number, endMs: number, stepMs: number): Promise<string> {
  const raw = await rangeQueryRaw(source, query, startMs, endMs, stepMs);
  const parts: string[] = ['{"resultType":"matrix","result":['];
  raw.forEach((s, k) => {
    parts.push(k === 0 ? '{"metric":' : ',{"metric":', JSON.stringify(s.metric), ',"values":[');
    for (let i = 0; i < s.times.length; i++) {
      // Formatted values never need JSON escaping: digits, '.', '-', 'e', NaN, +Inf, -Inf.
      parts.push(`${i === 0 ? '' : ','}[${s.times[i]! / 1000},"${formatSampleValue(s.values[i]!)}"]`);
    }
    parts.push(']}');
  });
  parts.push(']}');
  return parts.join('');
}

async function rangeQueryRaw(source: SeriesSource, query: string, startMs: number, endMs: number, stepMs: number): Promise<RawRangeSeries[]> {
  const expr = parsePromql(query);
  const t = typeOf(expr);
  if (t === 'matrix' || t === 'string') throw new PromqlEvalError(`invalid expression type "${t === 'matrix' ? 'range vector' : 'string'}" for range query, must be Scalar or instant Vector`);
  const ev = await Evaluator.prepare(source, expr, startMs, endMs);
  // Output series keyed by label object first (the same objects recur at every step), by the
  // canonical key only for a label set not seen before.
  const byObject = new Map<Labels, RawRangeSeries>();
  const byKey = new Map<string, RawRangeSeries>();
  const scalarLabels: Labels = {};
  for (let ts = startMs; ts <= endMs; ts += stepMs) {
    const v = ev.evalAt(ts);
    const samples = v.type === 'scalar' ? [{ labels: scalarLabels, value: v.value }] : v.type === 'vector' ? v.samples : [];
    for (const s of samples) {
      let out = byObject.get(s.labels);
      if (!out) {
        const key = labelsKey(s.labels);
        out = byKey.get(key);
        if (!out) { out = { metric: s.labels, times: [], values: [] }; byKey.set(key, out); }
        byObject.set(s.labels, out);
      }
      out.times.push(ts);
      out.values.push(s.value);
    }
  }
  return [...byKey.values()].sort((a, b) => compareLabels(a.metric, b.metric));
}

function matrixPoints(s: RangeSeries): PromPoint[] {
  const out: PromPoint[] = [];
  for (let i = s.lo; i < s.hi; i++) out.push([s.timestamps[i]! / 1000, formatSampleValue(s.values[i]!)]);
  return out;
}

export { formatSampleValue } from './format.ts';
