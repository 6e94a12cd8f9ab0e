// Binary operators between scalars and instant vectors, with on/ignoring, group_left/group_right
// and bool, following Prometheus' matching rules.
import type { Binary, BinaryOp, VectorMatching } from '../promql/ast.ts';
import { comparisonOps } from '../promql/ast.ts';
import { cachedMatchingKey, labelsKey, withoutName, type Labels } from './labels.ts';
import { goPow } from './numeric.ts';
import { PromqlEvalError, type InstantSample } from './values.ts';

// atan2 keeps the metric name, as in Prometheus.
const arithmeticOps = new Set(['+', '-', '*', '/', '%', '^']);

/** Returns [value, keep]: comparisons keep the left value when true. */
export function applyOp(op: BinaryOp, l: number, r: number): [number, boolean] {
  switch (op) {
    case '+': return [l + r, true];
    case '-': return [l - r, true];
    case '*': return [l * r, true];
    case '/': return [l / r, true];
    case '%': return [l % r, true];
    case '^': return [goPow(l, r), true];
    case 'atan2': return [Math.atan2(l, r), true];
    case '==': return [l, l === r];
    case '!=': return [l, l !== r];
    case '>': return [l, l > r];
    case '<': return [l, l < r];
    case '>=': return [l, l >= r];
    case '<=': return [l, l <= r];
    default: throw new PromqlEvalError(`operator ${op} not allowed for scalar operations`);
  }
}

export function scalarBinary(e: Binary, l: number, r: number): number {
  const [v, keep] = applyOp(e.op, l, r);
  return comparisonOps.has(e.op) ? (keep ? 1 : 0) : v;
}

/** vector op scalar (scalarOnLeft = false) or scalar op vector. */
export function vectorScalarBinary(e: Binary, samples: InstantSample[], scalar: number, scalarOnLeft: boolean): InstantSample[] {
  const out: InstantSample[] = [];
  const isComparison = comparisonOps.has(e.op);
  const dropName = arithmeticOps.has(e.op) || e.returnBool;
  for (const s of samples) {
    const [l, r] = scalarOnLeft ? [scalar, s.value] : [s.value, scalar];
    let [value, keep] = applyOp(e.op, l, r);
    // A comparison keeps the vector element's value even when the scalar is on the left.
    if (isComparison && scalarOnLeft) value = r;
    if (e.returnBool) { value = keep ? 1 : 0; keep = true; }
    if (keep) out.push({ labels: dropName ? withoutName(s.labels) : s.labels, value });
  }
  return out;
}

export function vectorBinary(e: Binary, lhs: InstantSample[], rhs: InstantSample[]): InstantSample[] {
  const m = e.matching!;
  switch (e.op) {
    case 'and': {
      const right = new Set(rhs.map((s) => cachedMatchingKey(m, s.labels)));
      return lhs.filter((s) => right.has(cachedMatchingKey(m, s.labels)));
    }
    case 'unless': {
      const right = new Set(rhs.map((s) => cachedMatchingKey(m, s.labels)));
      return lhs.filter((s) => !right.has(cachedMatchingKey(m, s.labels)));
    }
    case 'or': {
      const left = new Set(lhs.map((s) => cachedMatchingKey(m, s.labels)));
      return [...lhs, ...rhs.filter((s) => !left.has(cachedMatchingKey(m, s.labels)))];
    }
    default: return matchedBinary(e, m, lhs, rhs);
  }
}

function matchedBinary(e: Binary, m: VectorMatching, lhsIn: InstantSample[], rhsIn: InstantSample[]): InstantSample[] {
  // Work as many-to-one: for one-to-many swap the sides, and swap values back when computing.
  const swapped = m.card === 'one-to-many';
  const [many, one] = swapped ? [rhsIn, lhsIn] : [lhsIn, rhsIn];
  const oneBySig = new Map<string, InstantSample>();
  for (const s of one) {
    const sig = cachedMatchingKey(m, s.labels);
    const dup = oneBySig.get(sig);
    if (dup) {
      throw new PromqlEvalError(`found duplicate series for the match group ${describeMatch(s.labels, m)} on the ${swapped ? 'left' : 'right'} hand-side of the operation: [${describe(s.labels)}, ${describe(dup.labels)}];many-to-many matching not allowed: matching labels must be unique on one side`);
    }
    oneBySig.set(sig, s);
  }
  const dropName = arithmeticOps.has(e.op);
  const matched = new Map<string, Set<string> | null>();
  const out: InstantSample[] = [];
  for (const s of many) {
    const sig = cachedMatchingKey(m, s.labels);
    const o = oneBySig.get(sig);
    if (!o) continue;
    const [l, r] = swapped ? [o.value, s.value] : [s.value, o.value];
    let [value, keep] = applyOp(e.op, l, r);
    if (e.returnBool) { value = keep ? 1 : 0; keep = true; }
    if (!keep) continue;
    let labels = cachedResultLabels(s.labels, o.labels, m, dropName);
    if (e.returnBool) labels = withoutName(labels);
    if (m.card === 'one-to-one') {
      if (matched.has(sig)) throw new PromqlEvalError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      matched.set(sig, null);
    } else {
      let seen = matched.get(sig);
      if (!seen) { seen = new Set(); matched.set(sig, seen); }
      const k = labelsKey(labels);
      if (seen.has(k)) throw new PromqlEvalError('multiple matches for labels: grouping labels must ensure unique results');
      seen.add(k);
    }
    out.push({ labels, value });
  }
  return out;
}

const resultCache = new WeakMap<VectorMatching, { keep: WeakMap<Labels, WeakMap<Labels, Labels>>; drop: WeakMap<Labels, WeakMap<Labels, Labels>> }>();

/**
 * resultLabels, memoised per matching spec and pair of input label objects: the same pairs recur
 * at every step of a range query, and a stable result object keeps labelsKey's cache warm.
 */
function cachedResultLabels(many: Labels, one: Labels, m: VectorMatching, dropName: boolean): Labels {
  let c = resultCache.get(m);
  if (!c) { c = { keep: new WeakMap(), drop: new WeakMap() }; resultCache.set(m, c); }
  const byMany = dropName ? c.drop : c.keep;
  let byOne = byMany.get(many);
  if (!byOne) { byOne = new WeakMap(); byMany.set(many, byOne); }
  let out = byOne.get(one);
  if (!out) { out = resultLabels(many, one, m, dropName); byOne.set(one, out); }
  return out;
}

function resultLabels(many: Labels, one: Labels, m: VectorMatching, dropName: boolean): Labels {
  let out: Labels = { ...many };
  if (dropName) delete out.__name__;
  if (m.card === 'one-to-one') {
    if (m.on) {
      const kept: Labels = {};
      for (const k of m.labels) if (out[k] !== undefined) kept[k] = out[k]!;
      out = kept;
    } else {
      for (const k of m.labels) delete out[k];
      // ignoring(...) matching never carries the metric name of an arithmetic result
    }
  }
  for (const k of m.include) {
    const v = one[k];
    if (v !== undefined && v !== '') out[k] = v; else delete out[k];
  }
  return out;
}

function describe(l: Labels): string {
  return `{${Object.keys(l).sort().map((k) => `${k}=${JSON.stringify(l[k])}`).join(', ')}}`;
}

function describeMatch(l: Labels, m: VectorMatching): string {
  const out: Labels = {};
  for (const k of Object.keys(l)) {
    if (m.on ? m.labels.includes(k) : !m.labels.includes(k) && k !== '__name__') out[k] = l[k]!;
  }
  return describe(out);
}
