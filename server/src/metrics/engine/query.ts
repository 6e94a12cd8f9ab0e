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
      // sort() and sort_desc() order the result themselves.
      result: (expr.kind === 'call' && (expr.func === 'sort' || expr.func === 'sort_desc') ? v.samples : v.samples.sort((a, b) => compareLabels(a.labels, b.labels))).map((s) => ({ metric: s.labels, value: [ts, formatSampleValue(s.value)] as PromPoint })),
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

export async function rangeQuery(source: SeriesSource, query: string, startMs: number, endMs: number, stepMs: number): Promise<RangeResult> {
  const expr = parsePromql(query);
  const t = typeOf(expr);
  if (t === 'matrix' || t === 'string') throw new PromqlEvalError(`invalid expression type "${t === 'matrix' ? 'range vector' : 'string'}" for range query, must be Scalar or instant Vector`);
  const ev = await Evaluator.prepare(source, expr, startMs, endMs);
  const series = new Map<string, { metric: Labels; values: PromPoint[] }>();
  for (let ts = startMs; ts <= endMs; ts += stepMs) {
    const v = ev.evalAt(ts);
    const samples = v.type === 'scalar' ? [{ labels: {}, value: v.value }] : v.type === 'vector' ? v.samples : [];
    for (const s of samples) {
      const key = labelsKey(s.labels);
      let out = series.get(key);
      if (!out) { out = { metric: s.labels, values: [] }; series.set(key, out); }
      out.values.push([ts / 1000, formatSampleValue(s.value)]);
    }
  }
  return { resultType: 'matrix', result: [...series.values()].sort((a, b) => compareLabels(a.metric, b.metric)) };
}

function matrixPoints(s: RangeSeries): PromPoint[] {
  const out: PromPoint[] = [];
  for (let i = s.lo; i < s.hi; i++) out.push([s.timestamps[i]! / 1000, formatSampleValue(s.values[i]!)]);
  return out;
}

export { formatSampleValue } from './format.ts';
