// A label matcher as PromQL writes it. Shared by the parser (which produces them) and the storage
// (which turns them into bound SQL predicates).

export type MatchType = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher { name: string; type: MatchType; value: string }

/** Prometheus anchors regex matchers at both ends; RE2 (ClickHouse) and Go share the syntax. */
export function anchoredRegex(re: string): string {
  return `^(?:${re})$`;
}

/**
 * Whether the matcher accepts the empty string (= a missing label). Regexes are tried with JS
 * RegExp, which agrees with RE2 on the common subset; a pattern JS cannot compile is assumed not to
 * match empty, so we never reject a selector Prometheus would accept.
 */
export function matchesEmpty(m: LabelMatcher): boolean {
  switch (m.type) {
    case '=': return m.value === '';
    case '!=': return m.value !== '';
    case '=~': return testRegex(m.value, '') ?? false;
    case '!~': { const r = testRegex(m.value, ''); return r === undefined ? false : !r; }
  }
}

function testRegex(re: string, s: string): boolean | undefined {
  try { return new RegExp(anchoredRegex(re), 'u').test(s); } catch { return undefined; }
}
