// Parser, formatting and extrapolation details that are easier to pin down without a server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extrapolatedIncrease } from '../src/metrics/engine/extrapolated-rate.ts';
import { formatSampleValue } from '../src/metrics/engine/query.ts';
import { parseDuration } from '../src/metrics/promql/duration.ts';
import { parsePromql, PromqlSyntaxError } from '../src/metrics/promql/parser.ts';

describe('parser', () => {
  it('parses selectors with all matcher types and escapes', () => {
    assert.deepEqual(parsePromql(`up{a="x\\"y", b!='', c=~\`a\\d\`, d!~"z",}`), {
      kind: 'vector',
      matchers: [
        { name: '__name__', type: '=', value: 'up' },
        { name: 'a', type: '=', value: 'x"y' },
        { name: 'b', type: '!=', value: '' },
        { name: 'c', type: '=~', value: 'a\\d' },
        { name: 'd', type: '!~', value: 'z' },
      ],
    });
  });

  it('gives * and / precedence over + and -', () => {
    const e = parsePromql('1 + 2 * 3');
    assert.equal(e.kind, 'binary');
    assert.equal(e.kind === 'binary' && e.op, '+');
  });

  it('reports the position of syntax errors', () => {
    assert.throws(() => parsePromql('sum(rate(x[5m])'), (e: unknown) => e instanceof PromqlSyntaxError && /char 16/.test(e.message));
    assert.throws(() => parsePromql('x[5x]'), PromqlSyntaxError);
    assert.throws(() => parsePromql('x{__name__="y"}'), /metric name must not be set twice/);
  });

  it('parses durations as Prometheus does', () => {
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('30m1h'), undefined);
    assert.equal(parseDuration('5'), undefined);
  });
});

describe('value formatting (Go strconv.FormatFloat(v, \'f\', -1, 64))', () => {
  const cases: [number, string][] = [
    [1, '1'], [0.1, '0.1'], [1e21, '1000000000000000000000'], [1.5e-7, '0.00000015'], [-2.5e22, '-25000000000000000000000'],
    [NaN, 'NaN'], [Infinity, '+Inf'], [-Infinity, '-Inf'], [-0, '-0'], [123456.789, '123456.789'],
  ];
  for (const [v, s] of cases) it(`${v} → ${s}`, () => assert.equal(formatSampleValue(v), s));
});

describe('extrapolatedIncrease', () => {
  it('returns nothing for a single sample', () => {
    assert.equal(extrapolatedIncrease([1000], [5], 0, 60_000, false), undefined);
  });

  it('counts every reset', () => {
    // 10 → 3 (reset, +10) → 8 → 2 (reset, +8) → 6: raw 6 - 10 = -4, plus 18 = 14. Samples at 0..40 s
    // fill (−5 s, 45 s] up to 5 s at each end (< 11 s), so the factor is 50/40.
    const v = extrapolatedIncrease([0, 10_000, 20_000, 30_000, 40_000], [10, 3, 8, 2, 6], -5_000, 45_000, false);
    assert.equal(v, 14 * 50 / 40);
  });
});
