// Parser, formatting and extrapolation details that are easier to pin down without a server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extrapolatedIncrease } from '../src/metrics/engine/extrapolated-rate.ts';
import { formatSampleValue } from '../src/metrics/engine/query.ts';
import { bucketQuantile } from '../src/metrics/engine/histogram-quantile.ts';
import { expandTemplate } from '../src/metrics/engine/instant-functions.ts';
import { parseDuration } from '../src/metrics/promql/duration.ts';
import { parsePromql, PromqlSyntaxError } from '../src/metrics/promql/parser.ts';

describe('parser', () => {
  it('parses selectors with all matcher types and escapes', () => {
    assert.deepEqual(parsePromql(`up{a="x\\"y", b!='', c=~\`a\\d\`, d!~"z",}`), {
      kind: 'vector',
      name: 'up',
      offsetMs: 0,
      at: undefined,
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
    assert.throws(() => parsePromql('sum(rate(x[5m])'), (e: unknown) => e instanceof PromqlSyntaxError && /^1:16: parse error: unexpected end of input/.test(e.message));
    assert.throws(() => parsePromql('sum(x) +\n  foo bar'), /2:7: parse error: unexpected "bar"/);
    assert.throws(() => parsePromql('x[5x]'), PromqlSyntaxError);
    assert.throws(() => parsePromql('x{__name__="y"}'), /metric name must not be set twice/);
    assert.throws(() => parsePromql('rate(x)'), /expected type range vector in call to function "rate", got instant vector/);
    assert.throws(() => parsePromql('1 > 2'), /comparisons between scalars must use BOOL modifier/);
    assert.throws(() => parsePromql('x and 1'), /set operator "and" not allowed in binary scalar expression/);
    assert.throws(() => parsePromql('histogram_count(x)'), /function "histogram_count" is not supported by this server/);
    // Variadic functions name their minimum, as Prometheus does; label_join needs no source label.
    assert.throws(() => parsePromql('label_join(x, "a")'), /expected at least 3 argument\(s\) in call to "label_join", got 2/);
    assert.ok(parsePromql('label_join(x, "a", "-")').kind === 'call');
  });

  it('binds offset, @ and ranges to the nearest operand, as Prometheus does', () => {
    const e = parsePromql('a > on(x) group_left(y) b offset 5m');
    assert.ok(e.kind === 'binary' && e.lhs.kind === 'vector' && e.rhs.kind === 'vector');
    assert.equal(e.kind === 'binary' && e.lhs.kind === 'vector' && e.lhs.offsetMs, 0);
    assert.equal(e.kind === 'binary' && e.rhs.kind === 'vector' && e.rhs.offsetMs, 300_000);
    assert.deepEqual(e.kind === 'binary' && e.matching, { card: 'many-to-one', on: true, labels: ['x'], include: ['y'] });
    assert.throws(() => parsePromql('a + b[5m:1m]'), /binary expression must contain only scalar and instant vector types/);
  });

  it('parses increase_pure, our extension, without disturbing positions or strings', () => {
    const e = parsePromql('sum(increase_pure(x[5m]))');
    assert.ok(e.kind === 'aggregation' && e.expr.kind === 'call' && e.expr.func === 'increase_pure');
    const l = parsePromql('label_replace(x, "a", "increase_pure(", "b", "(.*)")');
    assert.ok(l.kind === 'call' && l.func === 'label_replace' && l.args[2]!.kind === 'string' && l.args[2]!.value === 'increase_pure(');
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

  it('cuts extrapolation at the zero point before comparing with the threshold (Prometheus 2)', () => {
    // 2 → 4 → 6 at 30, 45, 60 s in [0, 60]: increase 4; the line hits zero 15 s before the first
    // sample, which is under 1.1 × 15 s, so all 15 s are added: (30 + 15) / 30 × 4 = 6.
    assert.equal(extrapolatedIncrease([30_000, 45_000, 60_000], [2, 4, 6], 0, 60_000, false), 6);
  });
});

describe('histogram_quantile and label_replace helpers', () => {
  it('interpolates inside the bucket the rank falls in', () => {
    const b = [{ upper: 0.1, count: 10 }, { upper: 0.5, count: 30 }, { upper: Infinity, count: 40 }];
    assert.equal(bucketQuantile(0.5, b), 0.1 + 0.4 * (10 / 20)); // rank 20: 10 into the (0.1, 0.5] bucket of 20
    assert.equal(bucketQuantile(0.99, b), 0.5); // in +Inf: the highest finite bound
    assert.ok(Number.isNaN(bucketQuantile(0.5, [{ upper: 1, count: 3 }])));
  });

  it('expands $1, ${1}, named groups and $$ as Go does', () => {
    const m = /^(?:(?<host>[a-z]+):(\d+))$/.exec('web:80')!;
    assert.equal(expandTemplate('$1-${2}-$host-$$-$9', m), 'web-80-web-$-');
    assert.equal(expandTemplate('$1x', m), ''); // "$1x" names group "1x", which does not exist
  });
});
