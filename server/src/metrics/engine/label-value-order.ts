// The order of sort_by_label() and sort_by_label_desc() (Prometheus 3): by the values of the given
// labels in natural order, then by the whole label set, so the order is total and repeatable.
import { compareLabelSets, type Labels } from './labels.ts';

/** Ascending order of two series by the values of `names` in turn (a missing label is ""). */
export function compareByLabelValues(a: Labels, b: Labels, names: readonly string[]): number {
  for (const n of names) {
    const c = naturalCompare(a[n] ?? '', b[n] ?? '');
    if (c !== 0) return c;
  }
  return compareLabelSets(a, b);
}

/**
 * Natural order: strings split into runs of ASCII digits and runs of anything else, compared run by
 * run; two digit runs by their numeric value (of any length), other runs as plain strings. So
 * "node2" < "node10", and "a" < "a1" < "b". Prometheus 3 orders the same way, except that its
 * comparison is not consistent for a missing label (we sort "" first, as the shortest string) or
 * for numbers written with leading zeros ("07" vs "7", equal in value; we fall back to plain string
 * order so that the sort stays total), and it compares digit runs too long for an int64 as strings.
 */
export function naturalCompare(a: string, b: string): number {
  if (a === b) return 0;
  const ra = runs(a), rb = runs(b);
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i]!, y = rb[i]!;
    if (x === y) continue;
    if (isDigit(x.charCodeAt(0)) && isDigit(y.charCodeAt(0))) {
      const c = compareDigitRuns(x, y);
      if (c !== 0) return c;
    } else {
      return x < y ? -1 : 1;
    }
  }
  if (ra.length !== rb.length) return ra.length - rb.length;
  return a < b ? -1 : 1;
}

function runs(s: string): string[] {
  return s.match(/\d+|\D+/g) ?? [];
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** Numeric order of two runs of digits without converting them (they may exceed any integer type). */
function compareDigitRuns(x: string, y: string): number {
  const tx = x.replace(/^0+/, ''), ty = y.replace(/^0+/, '');
  if (tx.length !== ty.length) return tx.length - ty.length;
  return tx < ty ? -1 : tx > ty ? 1 : 0;
}
