// Label sets as the engine passes them around: plain objects, compared through a canonical key.
// Label objects coming from storage are reused at every step, so derived forms are memoised.

export type Labels = Record<string, string>;

const keyCache = new WeakMap<Labels, string>();
const nameless = new WeakMap<Labels, Labels>();

/** A canonical string for a label set: sorted names, so insertion order never matters. Empty values do not count. */
export function labelsKey(l: Labels): string {
  let k = keyCache.get(l);
  if (k === undefined) {
    const names = Object.keys(l).filter((n) => l[n] !== '').sort();
    k = JSON.stringify(names.map((n) => [n, l[n]]));
    keyCache.set(l, k);
  }
  return k;
}

export function withoutName(l: Labels): Labels {
  if (l.__name__ === undefined) return l;
  let out = nameless.get(l);
  if (!out) {
    const { __name__: _, ...rest } = l;
    out = rest;
    nameless.set(l, out);
  }
  return out;
}

const derived = new WeakMap<object, WeakMap<Labels, { labels: Labels; key: string }>>();

/**
 * Memoises a label set derived from `l` under `spec` (an AST node or other stable object): the
 * same input label objects recur at every step of a range query, so grouping and matching
 * signatures are computed once per series instead of once per step.
 */
export function derive(spec: object, l: Labels, f: (l: Labels) => Labels): { labels: Labels; key: string } {
  let m = derived.get(spec);
  if (!m) { m = new WeakMap(); derived.set(spec, m); }
  let d = m.get(l);
  if (!d) { const labels = f(l); d = { labels, key: labelsKey(labels) }; m.set(l, d); }
  return d;
}

const matchKeys = new WeakMap<object, WeakMap<Labels, string>>();

/** matchingKey, memoised per matching spec and label object. */
export function cachedMatchingKey(spec: { labels: readonly string[]; on: boolean }, l: Labels): string {
  let m = matchKeys.get(spec);
  if (!m) { m = new WeakMap(); matchKeys.set(spec, m); }
  let k = m.get(l);
  if (k === undefined) { k = matchingKey(l, spec.labels, spec.on); m.set(l, k); }
  return k;
}

/** Labels kept by `by (...)` / `without (...)`; `without` also drops the metric name. */
export function groupingLabels(l: Labels, grouping: readonly string[], without: boolean): Labels {
  const out: Labels = {};
  if (without) {
    for (const k in l) if (k !== '__name__' && !grouping.includes(k) && l[k] !== '') out[k] = l[k]!;
  } else {
    for (const k of grouping) if (l[k] !== undefined && l[k] !== '') out[k] = l[k]!;
  }
  return out;
}

/** The matching signature of `on (...)` / `ignoring (...)` (ignoring always ignores the name too). */
export function matchingKey(l: Labels, labels: readonly string[], on: boolean): string {
  const parts: string[] = [];
  if (on) {
    for (const k of [...labels].sort()) parts.push(k, l[k] ?? '');
  } else {
    for (const k of Object.keys(l).sort()) if (k !== '__name__' && !labels.includes(k) && l[k] !== '') parts.push(k, l[k]!);
  }
  return JSON.stringify(parts);
}

export function compareLabels(a: Labels, b: Labels): number {
  const ka = labelsKey(a), kb = labelsKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

const sortedNames = new WeakMap<Labels, string[]>();

/**
 * Prometheus' order of label sets: label by label in name order, name before value, a set that
 * runs out first sorts first. Series from a selector reach functions and aggregations in this order
 * there. Empty values do not count.
 */
export function compareLabelSets(a: Labels, b: Labels): number {
  const na = namesInOrder(a), nb = namesInOrder(b);
  for (let i = 0; i < Math.min(na.length, nb.length); i++) {
    const x = na[i]!, y = nb[i]!;
    if (x !== y) return x < y ? -1 : 1;
    const vx = a[x]!, vy = b[y]!;
    if (vx !== vy) return vx < vy ? -1 : 1;
  }
  return na.length - nb.length;
}

/** The names of a label set's non-empty labels, sorted; memoised per label object (never modify the result). */
export function namesInOrder(l: Labels): readonly string[] {
  let n = sortedNames.get(l);
  if (!n) { n = Object.keys(l).filter((k) => l[k] !== '').sort(); sortedNames.set(l, n); }
  return n;
}
