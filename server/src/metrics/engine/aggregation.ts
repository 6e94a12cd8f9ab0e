// sum, avg, min, max, count, group, stddev, stdvar, topk, bottomk, quantile, count_values,
// limitk, limit_ratio — by/without — over one instant vector.
import type { Aggregation } from '../promql/ast.ts';
import { derive, groupingLabels, labelsKey, type Labels } from './labels.ts';
import { formatSampleValue } from './format.ts';
import { quantileOf } from './numeric.ts';
import { firstInLabelOrder, limitCount, limitRatio } from './series-limits.ts';
import { PromqlEvalError, type InstantSample } from './values.ts';

interface Group { labels: Labels; count: number; value: number; mean: number; samples: InstantSample[] }

/** `param` is the evaluated k / φ / ratio (number) or count_values' label name (string). */
export function aggregate(e: Aggregation, input: InstantSample[], param: number | string | undefined): InstantSample[] {
  if (e.op === 'count_values') return countValues(e, input, param as string);
  // Each series is kept or dropped on its own: groups do not matter.
  if (e.op === 'limit_ratio') return limitRatio(input, param as number);
  // Checked even when there is nothing to aggregate, as Prometheus does.
  const limit = e.op === 'limitk' ? limitCount(param as number) : 0;
  if (e.op === 'limitk' && limit < 1) return [];
  // Groups are numbered once per aggregation node (the same label objects recur at every step of
  // a range query), so a step indexes an array instead of hashing a key string per sample.
  const ids = groupIds(e);
  const byId: (Group | undefined)[] = [];
  const groups: Group[] = [];
  for (const s of input) {
    let id = ids.bySeries.get(s.labels);
    if (id === undefined) {
      const { labels, key } = derive(e, s.labels, (l) => groupingLabels(l, e.grouping, e.without));
      id = ids.byKey.get(key);
      if (id === undefined) { id = ids.labels.length; ids.byKey.set(key, id); ids.labels.push(labels); }
      ids.bySeries.set(s.labels, id);
    }
    let g = byId[id];
    if (!g) {
      g = { labels: ids.labels[id]!, count: 0, value: s.value, mean: s.value, samples: [] };
      byId[id] = g;
      groups.push(g);
      if (e.op === 'stddev' || e.op === 'stdvar') { g.value = 0; g.mean = 0; }
      if (e.op === 'avg') g.mean = 0;
      if (e.op === 'sum') g.value = 0;
    }
    g.count++;
    add(e.op, g, s);
  }
  const out: InstantSample[] = [];
  for (const g of groups) {
    switch (e.op) {
      case 'sum': case 'min': case 'max': out.push({ labels: g.labels, value: g.value }); break;
      case 'avg': out.push({ labels: g.labels, value: g.mean }); break;
      case 'count': out.push({ labels: g.labels, value: g.count }); break;
      case 'group': out.push({ labels: g.labels, value: 1 }); break;
      case 'stdvar': out.push({ labels: g.labels, value: g.value / g.count }); break;
      case 'stddev': out.push({ labels: g.labels, value: Math.sqrt(g.value / g.count) }); break;
      case 'quantile': out.push({ labels: g.labels, value: quantileOf(param as number, g.samples.map((s) => s.value)) }); break;
      case 'topk': case 'bottomk': out.push(...selectK(g.samples, param as number, e.op === 'topk')); break;
      case 'limitk': out.push(...firstInLabelOrder(g.samples, limit)); break;
    }
  }
  return out;
}

interface GroupIds { bySeries: WeakMap<Labels, number>; byKey: Map<string, number>; labels: Labels[] }
const groupIdsByNode = new WeakMap<Aggregation, GroupIds>();

function groupIds(e: Aggregation): GroupIds {
  let g = groupIdsByNode.get(e);
  if (!g) { g = { bySeries: new WeakMap(), byKey: new Map(), labels: [] }; groupIdsByNode.set(e, g); }
  return g;
}

function add(op: Aggregation['op'], g: Group, s: InstantSample): void {
  const v = s.value;
  switch (op) {
    case 'sum': g.value += v; break;
    case 'min': if (g.value > v || Number.isNaN(g.value)) g.value = v; break;
    case 'max': if (g.value < v || Number.isNaN(g.value)) g.value = v; break;
    case 'avg': {
      // Running mean (avoids overflowing a running sum); an infinite mean stays unless NaN or the
      // opposite infinity arrives.
      if (!Number.isFinite(g.mean) && !Number.isNaN(g.mean)) {
        if (!Number.isFinite(v) && !Number.isNaN(v) && (g.mean > 0) === (v > 0)) break;
        if (Number.isFinite(v)) break;
      }
      g.mean += v / g.count - g.mean / g.count;
      break;
    }
    case 'stddev': case 'stdvar': {
      const delta = v - g.mean;
      g.mean += delta / g.count;
      g.value += delta * (v - g.mean);
      break;
    }
    case 'quantile': case 'topk': case 'bottomk': case 'limitk': g.samples.push(s); break;
    default: break;
  }
}

/** The k largest (topk) or smallest samples; NaN ranks below every number either way. */
function selectK(samples: InstantSample[], kParam: number, top: boolean): InstantSample[] {
  const k = Math.trunc(kParam);
  if (!(k >= 1)) return [];
  const cmp = (a: InstantSample, b: InstantSample): number => {
    const an = Number.isNaN(a.value), bn = Number.isNaN(b.value);
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
    return top ? b.value - a.value : a.value - b.value;
  };
  return [...samples].sort(cmp).slice(0, k);
}

function countValues(e: Aggregation, input: InstantSample[], label: string): InstantSample[] {
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label)) throw new PromqlEvalError(`invalid label name ${JSON.stringify(label)}`);
  const groups = new Map<string, InstantSample>();
  const grouping = e.without ? e.grouping : [...e.grouping, label];
  for (const s of input) {
    const withValue: Labels = { ...s.labels, [label]: formatSampleValue(s.value) };
    const labels = groupingLabels(withValue, grouping, e.without);
    const key = labelsKey(labels);
    const g = groups.get(key);
    if (g) g.value++; else groups.set(key, { labels, value: 1 });
  }
  return [...groups.values()];
}
