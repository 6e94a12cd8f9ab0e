// Label sets as the engine passes them around: plain objects, compared through a canonical key.

export type Labels = Record<string, string>;

/** A canonical string for a label set: sorted names, so insertion order never matters. */
export function labelsKey(l: Labels): string {
  return JSON.stringify(Object.keys(l).sort().map((k) => [k, l[k]]));
}

export function withoutName(l: Labels): Labels {
  const { __name__: _, ...rest } = l;
  return rest;
}

/** Labels kept by `sum by (...)` / `sum without (...)`. */
export function groupingLabels(l: Labels, grouping: readonly string[], without: boolean): Labels {
  const out: Labels = {};
  if (without) {
    const drop = new Set([...grouping, '__name__']);
    for (const [k, v] of Object.entries(l)) if (!drop.has(k)) out[k] = v;
  } else {
    for (const k of grouping) if (l[k] !== undefined && l[k] !== '') out[k] = l[k];
  }
  return out;
}

export function compareLabels(a: Labels, b: Labels): number {
  const ka = labelsKey(a), kb = labelsKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
