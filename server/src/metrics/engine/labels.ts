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
