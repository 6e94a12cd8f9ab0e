// Which selectors of one query need their own storage read. Queries often select one metric twice,
// once narrowed (errors / total: `x{status=~"5.."}` and `x`): when one selector's matchers are
// another's plus a few that JavaScript can evaluate exactly as ClickHouse does, the narrower one is
// filtered from the wider one's series in memory instead of read again. Identical selectors share
// one read.
import { anchoredRegex, type LabelMatcher } from '../label-matcher.ts';
import type { Labels } from './labels.ts';

export interface SelectorRequest<S> { selector: S; matchers: readonly LabelMatcher[]; fromMs: number; toMs: number }

/** A request either read from storage or filtered from another request's read. */
export type PlannedRead<S> =
  | { kind: 'read'; request: SelectorRequest<S> }
  | { kind: 'filter'; request: SelectorRequest<S>; from: SelectorRequest<S>; keep: (l: Labels) => boolean };

export function planReads<S>(requests: readonly SelectorRequest<S>[]): PlannedRead<S>[] {
  const sets = requests.map((r) => new Set(r.matchers.map(matcherKey)));
  const keys = requests.map((r, i) => `${r.fromMs}:${r.toMs}:${[...sets[i]!].sort().join('\u0000')}`);
  const firstWithKey = new Map<string, number>();
  keys.forEach((k, i) => { if (!firstWithKey.has(k)) firstWithKey.set(k, i); });
  // Candidate sources of i: requests (first of their key) over the same span whose matchers are a
  // strict subset of i's, the extra ones all evaluable here.
  const extras = (i: number, j: number): LabelMatcher[] | undefined => {
    if (i === j || requests[i]!.fromMs !== requests[j]!.fromMs || requests[i]!.toMs !== requests[j]!.toMs) return undefined;
    if (sets[j]!.size >= sets[i]!.size) return undefined;
    for (const k of sets[j]!) if (!sets[i]!.has(k)) return undefined;
    const extra = requests[i]!.matchers.filter((m) => !sets[j]!.has(matcherKey(m)));
    return extra.every(evaluableHere) ? extra : undefined;
  };
  const roots = requests.map((_, i) => firstWithKey.get(keys[i]!) === i && !requests.some((_, j) => firstWithKey.get(keys[j]!) === j && extras(i, j)));
  const plans = requests.map((request, i): PlannedRead<S> | undefined => {
    if (firstWithKey.get(keys[i]!) !== i) return undefined; // a duplicate: planned below like its first
    if (roots[i]) return { kind: 'read', request };
    let best = -1;
    let bestExtra: LabelMatcher[] = [];
    requests.forEach((_, j) => {
      if (!roots[j]) return;
      const e = extras(i, j);
      if (e && (best < 0 || sets[j]!.size > sets[best]!.size)) { best = j; bestExtra = e; }
    });
    if (best < 0) return { kind: 'read', request };
    return { kind: 'filter', request, from: requests[best]!, keep: matcherFilter(bestExtra) };
  });
  return requests.map((request, i) => {
    const first = firstWithKey.get(keys[i]!)!;
    if (first === i) return plans[i]!;
    const p = plans[first]!;
    // The same selector again: share the first one's read, or filter from the same read as it does.
    return p.kind === 'read' ? { kind: 'filter', request, from: p.request, keep: () => true } : { ...p, request };
  });
}

function matcherKey(m: LabelMatcher): string {
  return `${m.name}\u0001${m.type}\u0001${m.value}`;
}

/**
 * Patterns made only of characters on which ClickHouse's RE2 and JavaScript's RegExp agree:
 * literals, . | * + ? and groups. No backslashes, classes, counted repetition, flags or
 * look-around. ClickHouse matches with `.` also matching a newline, hence the s flag (and u, so
 * `.` is one code point, as in RE2).
 */
const portableRegex = /^[A-Za-z0-9_.*+?|(),:/\- ]*$/;
const regexFlags = 'su';

/** Whether JavaScript evaluates this matcher exactly as ClickHouse does (see portableRegex). */
export function evaluableHere(m: LabelMatcher): boolean {
  if (m.type === '=' || m.type === '!=') return true;
  if (!portableRegex.test(m.value) || /\(\?/.test(m.value)) return false;
  try { new RegExp(anchoredRegex(m.value), regexFlags); return true; } catch { return false; }
}

/** A predicate over label sets for matchers that are all evaluableHere; a missing label reads as ''. */
export function matcherFilter(matchers: readonly LabelMatcher[]): (l: Labels) => boolean {
  const tests = matchers.map((m): ((l: Labels) => boolean) => {
    const get = (l: Labels): string => l[m.name] ?? ''; // a missing label reads as '', as in SQL
    switch (m.type) {
      case '=': return (l) => get(l) === m.value;
      case '!=': return (l) => get(l) !== m.value;
      case '=~': { const re = new RegExp(anchoredRegex(m.value), regexFlags); return (l) => re.test(get(l)); }
      case '!~': { const re = new RegExp(anchoredRegex(m.value), regexFlags); return (l) => !re.test(get(l)); }
    }
  });
  return (l) => tests.every((t) => t(l));
}
