// PromQL that Prometheus 3 added and 2.42 lacks, so the differential test cannot compare it:
// double_exponential_smoothing, limitk, limit_ratio, sort_by_label and sort_by_label_desc, and the
// experimental first_over_time, mad_over_time and ts_of_{first,last,min,max}_over_time. Expected
// answers are worked out by hand (hash fractions from the system's libxxhash, see below), evaluated
// through the engine on a small in-memory source.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SeriesSamples, SeriesSource } from '../src/metrics/engine/evaluator.ts';
import { labelSetHash, labelSetHashFraction, xxh64 } from '../src/metrics/engine/label-hash.ts';
import { naturalCompare } from '../src/metrics/engine/label-value-order.ts';
import { instantQuery, rangeQuery } from '../src/metrics/engine/query.ts';
import { PromqlEvalError } from '../src/metrics/engine/values.ts';
import { memorySource } from './promql-memory-source.ts';
import { parsePromql, PromqlSyntaxError } from '../src/metrics/promql/parser.ts';

const t0 = 1_700_000_000_000;
const sec = 1000;

/** Samples 10 s apart starting at t0; undefined leaves a gap (the series is absent then). */
function series(name: string, labels: Record<string, string>, values: (number | undefined)[]): SeriesSamples {
  const timestamps: number[] = [], vs: number[] = [];
  values.forEach((v, i) => { if (v !== undefined) { timestamps.push(t0 + i * 10 * sec); vs.push(v); } });
  return { labels: { __name__: name, ...labels }, timestamps, values: vs };
}

type Row = { metric: Record<string, string>; value: [number, string] };

/** An instant query's vector in answer order, as `{labels} value` lines. */
async function lines(source: SeriesSource, query: string, timeMs: number): Promise<string[]> {
  const r = await instantQuery(source, query, timeMs);
  assert.equal(r.resultType, 'vector');
  return (r.result as Row[]).map((s) => `${show(s.metric)} ${s.value[1]}`);
}

function show(m: Record<string, string>): string {
  return `{${Object.keys(m).sort().map((k) => `${k}=${m[k]}`).join(',')}}`;
}

/** A range query as `{labels}: v1 v2 …` lines, with "_" where a step has no point. */
async function rangeLines(source: SeriesSource, query: string, startMs: number, endMs: number, stepMs: number): Promise<string[]> {
  const r = await rangeQuery(source, query, startMs, endMs, stepMs);
  return r.result.map((s) => {
    const byTime = new Map(s.values.map(([t, v]) => [t * 1000, v]));
    const points: string[] = [];
    for (let t = startMs; t <= endMs; t += stepMs) points.push(byTime.get(t) ?? '_');
    return `${show(s.metric)}: ${points.join(' ')}`;
  });
}

describe('double_exponential_smoothing', () => {
  const source = memorySource([
    series('g', { k: 'rising' }, [1, 3, 4, 8]),
    series('g', { k: 'flat' }, [10, 10, 10]),
    series('g', { k: 'single' }, [5]),
  ]);
  const end = t0 + 30 * sec;

  it('is parsed by the grammar under its own name, with holt_winters\' argument types', () => {
    const e = parsePromql('double_exponential_smoothing(g[1m], 0.5, 0.5)');
    assert.ok(e.kind === 'call' && e.func === 'double_exponential_smoothing' && e.args.length === 3);
    assert.throws(() => parsePromql('double_exponential_smoothing(g, 0.5, 0.5)'), /expected type range vector in call to function "double_exponential_smoothing", got instant vector/);
    assert.throws(() => parsePromql('double_exponential_smoothing(g[1m], 0.5)'), /expected 3 argument\(s\) in call to "double_exponential_smoothing", got 2/);
    assert.throws(() => parsePromql('double_exponential_smoothing(g[1m], "0.5", 0.5)'), /expected type scalar/);
  });

  it('smooths as holt_winters does: values by hand, metric name dropped, one-sample windows left out', async () => {
    // rising, sf = tf = 0.5: level 1, trend 2 → level 3 → trend 2, level 4.5 → trend 1.75, level 7.125.
    assert.deepEqual(await lines(source, 'double_exponential_smoothing(g[1m], 0.5, 0.5)', end), ['{k=flat} 10', '{k=rising} 7.125']);
    assert.deepEqual(
      await lines(source, 'double_exponential_smoothing(g[1m], 0.25, 0.75)', end),
      await lines(source, 'holt_winters(g[1m], 0.25, 0.75)', end),
    );
    // Windows of 2, 3 and 4 samples of "rising" in a range query: 3, 4.5, 7.125.
    assert.deepEqual(await rangeLines(source, 'double_exponential_smoothing(g[1m], 0.5, 0.5)', t0 + 10 * sec, end, 10 * sec), ['{k=flat}: 10 10 10', '{k=rising}: 3 4.5 7.125']);
  });

  it('refuses factors outside (0, 1) with the same messages', async () => {
    await assert.rejects(lines(source, 'double_exponential_smoothing(g[1m], 1, 0.5)', end),
      (e: unknown) => e instanceof PromqlEvalError && e.message === 'invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000');
    await assert.rejects(lines(source, 'double_exponential_smoothing(g[1m], 0.5, 0)', end), /invalid trend factor\. Expected: 0 < tf < 1, got: 0\.000000/);
    assert.deepEqual(await lines(source, 'double_exponential_smoothing(g[1m], 0.5, 0.5)', t0 + 3600 * sec), []);
  });
});

describe('limitk', () => {
  // Label order (Prometheus' order of label sets): grp first, then inst.
  const source = memorySource([
    series('m', { grp: 'x', inst: 'c' }, [3, 3, 3]),
    series('m', { grp: 'x', inst: 'a' }, [1, 1, 1]),
    series('m', { grp: 'y', inst: 'b' }, [20, 20, 20]),
    series('m', { grp: 'x', inst: 'b' }, [2, 2, 2]),
    series('m', { grp: 'y', inst: 'a' }, [10, 10, 10]),
  ]);
  const at = t0 + 20 * sec;

  it('keeps the first k series in label order, whole: labels, metric name and values', async () => {
    assert.deepEqual(await lines(source, 'limitk(2, m)', at), ['{__name__=m,grp=x,inst=a} 1', '{__name__=m,grp=x,inst=b} 2']);
    assert.deepEqual(await lines(source, 'limitk(1, m)', at), ['{__name__=m,grp=x,inst=a} 1']);
    // k is truncated toward zero, as Go's int64(k) does.
    assert.deepEqual(await lines(source, 'limitk(2.9, m)', at), await lines(source, 'limitk(2, m)', at));
    // The order the inner expression gives does not matter: still the first in label order.
    assert.deepEqual(await lines(source, 'limitk(1, sort_desc(m))', at), ['{__name__=m,grp=x,inst=a} 1']);
    // More than there are: all of them.
    assert.equal((await lines(source, 'limitk(100, m)', at)).length, 5);
    assert.deepEqual(await lines(source, 'sum(limitk(3, m))', at), ['{} 6']);
  });

  it('keeps up to k per group with by and without', async () => {
    assert.deepEqual(await lines(source, 'limitk by (grp) (1, m)', at), ['{__name__=m,grp=x,inst=a} 1', '{__name__=m,grp=y,inst=a} 10']);
    assert.deepEqual(await lines(source, 'limitk without (grp) (1, m)', at), [
      '{__name__=m,grp=x,inst=a} 1', '{__name__=m,grp=x,inst=b} 2', '{__name__=m,grp=x,inst=c} 3',
    ]);
    assert.deepEqual(await lines(source, 'limitk by (grp) (2, m)', at), [
      '{__name__=m,grp=x,inst=a} 1', '{__name__=m,grp=x,inst=b} 2', '{__name__=m,grp=y,inst=a} 10', '{__name__=m,grp=y,inst=b} 20',
    ]);
    assert.deepEqual(await lines(source, 'count by (grp) (limitk by (grp) (2, m))', at), ['{grp=x} 2', '{grp=y} 2']);
  });

  it('keeps the same series at every step of a range query while values cross', async () => {
    // topk(1) jumps between p and q as they overtake each other; limitk(1) stays on p (p < q in
    // label order) at every step.
    const crossing = memorySource([
      series('w', { s: 'q' }, [5, 1, 5, 1, 5]),
      series('w', { s: 'p' }, [1, 5, 1, 5, 1]),
    ]);
    assert.deepEqual(await rangeLines(crossing, 'limitk(1, w)', t0, t0 + 40 * sec, 10 * sec), ['{__name__=w,s=p}: 1 5 1 5 1']);
    assert.deepEqual(await rangeLines(crossing, 'topk(1, w)', t0, t0 + 40 * sec, 10 * sec), [
      '{__name__=w,s=p}: _ 5 _ 5 _', '{__name__=w,s=q}: 5 _ 5 _ 5',
    ]);
    const joining = memorySource([
      series('j', { s: 'b' }, [1, 2, 3, 4]),
      series('j', { s: 'a' }, [undefined, undefined, 100, 100]),
    ]);
    // "a" sorts first and appears at the third step; until then "b" is the one kept.
    assert.deepEqual(await rangeLines(joining, 'limitk(1, j)', t0, t0 + 30 * sec, 10 * sec), ['{__name__=j,s=a}: _ _ 100 100', '{__name__=j,s=b}: 1 2 _ _']);
  });

  it('gives nothing for k below 1 or no input, and refuses a k that is not a number', async () => {
    assert.deepEqual(await lines(source, 'limitk(0, m)', at), []);
    assert.deepEqual(await lines(source, 'limitk(-3, m)', at), []);
    assert.deepEqual(await lines(source, 'limitk(0.5, m)', at), []);
    assert.deepEqual(await lines(source, 'limitk(2, nothing)', at), []);
    await assert.rejects(lines(source, 'limitk(NaN, m)', at), (e: unknown) => e instanceof PromqlEvalError && e.message === 'Scalar value NaN overflows int64');
    await assert.rejects(lines(source, 'limitk(+Inf, m)', at), /Scalar value \+Inf overflows int64/);
    await assert.rejects(lines(source, 'limitk(scalar(nothing), m)', at), /Scalar value NaN overflows int64/);
    // Checked even with nothing to limit, as Prometheus does.
    await assert.rejects(lines(source, 'limitk(NaN, nothing)', at), /overflows int64/);
  });

  it('refuses a parameter that is not a scalar when parsing', () => {
    assert.throws(() => parsePromql('limitk("2", m)'), (e: unknown) => e instanceof PromqlSyntaxError && /expected type scalar in aggregation parameter, got string/.test(e.message));
    assert.throws(() => parsePromql('limitk(m, m)'), /expected type scalar in aggregation parameter, got instant vector/);
    assert.throws(() => parsePromql('limitk(m)'), /wrong number of arguments for aggregate expression provided, expected 2, got 1/);
    assert.throws(() => parsePromql('limitk(2, m[5m])'), /expected type instant vector in aggregation expression, got range vector/);
  });
});

describe('limit_ratio', () => {
  // Where each label set's hash falls in [0, 1] (XXH64 of name 0xff value 0xff … in name order,
  // over 2^64), computed independently with the system's libxxhash through Python's ctypes:
  //   r{grp=x,inst=a} 0.4543  r{grp=x,inst=b} 0.2330  r{grp=x,inst=c} 0.1400  r{grp=x,inst=d} 0.4142
  //   r{grp=y,inst=a} 0.7003  r{grp=y,inst=e} 0.0040  r{grp=y,inst=f} 0.6448
  const labelSets = [['x', 'a'], ['x', 'b'], ['x', 'c'], ['x', 'd'], ['y', 'a'], ['y', 'e'], ['y', 'f']] as const;
  const source = memorySource(labelSets.map(([grp, inst], i) => series('r', { grp, inst }, [i, i, i, i])));
  const at = t0 + 20 * sec;
  const names = async (q: string, t = at): Promise<string[]> => (await lines(source, q, t)).map((l) => l.replace('__name__=r,', '').replace(/ .*/, ''));

  it('hashes label sets as Prometheus does (XXH64, checked against known digests)', () => {
    assert.equal(xxh64(new Uint8Array()), 0xef46db3751d8e999n);
    assert.equal(xxh64(Buffer.from('abc')), 0x44bc2cf5ad770999n);
    assert.equal(xxh64(Buffer.from('Call me Ishmael. Some years ago--never mind how long precisely-')), 0x02a2e85470d6fd96n);
    assert.equal(labelSetHash({ job: 'api', __name__: 'up' }), 0x27967ec87265eaefn);
    // Empty values are no label at all.
    assert.equal(labelSetHash({ job: 'api', __name__: 'up', zone: '' }), 0x27967ec87265eaefn);
    assert.equal(labelSetHashFraction({ __name__: 'r', grp: 'y', inst: 'e' }).toFixed(6), '0.003961');
  });

  it('keeps the series whose hash falls below r, with their labels and values', async () => {
    assert.deepEqual(await lines(source, 'limit_ratio(0.3, r)', at), ['{__name__=r,grp=x,inst=b} 1', '{__name__=r,grp=x,inst=c} 2', '{__name__=r,grp=y,inst=e} 5']);
    assert.deepEqual(await names('limit_ratio(0.5, r)'), ['{grp=x,inst=a}', '{grp=x,inst=b}', '{grp=x,inst=c}', '{grp=x,inst=d}', '{grp=y,inst=e}']);
    assert.deepEqual(await names('limit_ratio(0.1, r)'), ['{grp=y,inst=e}']);
  });

  it('a negative r keeps the complement of 1 + r: together they are all, apart they share nothing', async () => {
    assert.deepEqual(await names('limit_ratio(-0.7, r)'), ['{grp=x,inst=a}', '{grp=x,inst=d}', '{grp=y,inst=a}', '{grp=y,inst=f}']);
    assert.deepEqual(await names('limit_ratio(-0.5, r)'), ['{grp=y,inst=a}', '{grp=y,inst=f}']);
    for (const r of [0.2, 0.3, 0.45, 0.65, 0.9]) {
      assert.equal((await lines(source, `limit_ratio(${r}, r) or limit_ratio(${-(1 - r)}, r)`, at)).length, 7, `r = ${r}`);
      assert.deepEqual(await lines(source, `limit_ratio(${r}, r) and limit_ratio(${-(1 - r)}, r)`, at), [], `r = ${r}`);
    }
  });

  it('ignores grouping: each series is judged alone', async () => {
    const plain = await lines(source, 'limit_ratio(0.5, r)', at);
    assert.deepEqual(await lines(source, 'limit_ratio by (grp) (0.5, r)', at), plain);
    assert.deepEqual(await lines(source, 'limit_ratio without (inst) (0.5, r)', at), plain);
  });

  it('keeps the same series at every step of a range query, even with a ratio that changes', async () => {
    assert.deepEqual(await rangeLines(source, 'limit_ratio(0.3, r)', t0, t0 + 30 * sec, 10 * sec), [
      '{__name__=r,grp=x,inst=b}: 1 1 1 1', '{__name__=r,grp=x,inst=c}: 2 2 2 2', '{__name__=r,grp=y,inst=e}: 5 5 5 5',
    ]);
    // The ratio grows from 0.1 to 0.4 over the steps: series join in hash order and stay.
    assert.deepEqual(await rangeLines(source, 'limit_ratio((time() - 1699999990) / 100, r)', t0, t0 + 30 * sec, 10 * sec), [
      '{__name__=r,grp=x,inst=b}: _ _ 1 1', '{__name__=r,grp=x,inst=c}: _ 2 2 2', '{__name__=r,grp=y,inst=e}: 5 5 5 5',
    ]);
  });

  it('takes all for 1 and -1, nothing for 0, clamps beyond [-1, 1], refuses NaN', async () => {
    assert.equal((await lines(source, 'limit_ratio(1, r)', at)).length, 7);
    assert.equal((await lines(source, 'limit_ratio(-1, r)', at)).length, 7);
    assert.deepEqual(await lines(source, 'limit_ratio(0, r)', at), []);
    assert.deepEqual(await lines(source, 'limit_ratio(1.5, r)', at), await lines(source, 'limit_ratio(1, r)', at));
    assert.deepEqual(await lines(source, 'limit_ratio(-7, r)', at), await lines(source, 'limit_ratio(-1, r)', at));
    assert.deepEqual(await lines(source, 'limit_ratio(0.5, nothing)', at), []);
    await assert.rejects(lines(source, 'limit_ratio(NaN, r)', at), (e: unknown) => e instanceof PromqlEvalError && /NaN/.test(e.message));
    assert.throws(() => parsePromql('limit_ratio("0.5", r)'), /expected type scalar in aggregation parameter, got string/);
    assert.throws(() => parsePromql('limit_ratio(r, r)'), /expected type scalar in aggregation parameter, got instant vector/);
  });
});

describe('sort_by_label and sort_by_label_desc', () => {
  const source = memorySource([
    series('n', { node: 'node10', zone: 'b' }, [1]),
    series('n', { node: 'node2', zone: 'a' }, [2]),
    series('n', { node: 'node1', zone: 'b' }, [3]),
    series('n', { node: 'node2', zone: 'b' }, [4]),
    series('n', { zone: 'a' }, [5]),
  ]);
  const at = t0;

  it('orders an instant query\'s answer by label values in natural order, keeping names and values', async () => {
    assert.deepEqual(await lines(source, 'sort_by_label(n, "node")', at), [
      // No node label counts as "", first; the two node2 are ordered by their whole label sets.
      '{__name__=n,zone=a} 5', '{__name__=n,node=node1,zone=b} 3', '{__name__=n,node=node2,zone=a} 2', '{__name__=n,node=node2,zone=b} 4', '{__name__=n,node=node10,zone=b} 1',
    ]);
    assert.deepEqual(await lines(source, 'sort_by_label_desc(n, "node")', at), [
      '{__name__=n,node=node10,zone=b} 1', '{__name__=n,node=node2,zone=b} 4', '{__name__=n,node=node2,zone=a} 2', '{__name__=n,node=node1,zone=b} 3', '{__name__=n,zone=a} 5',
    ]);
  });

  it('takes the labels in turn, and the whole label set without any', async () => {
    assert.deepEqual(await lines(source, 'sort_by_label(n, "zone", "node")', at), [
      '{__name__=n,zone=a} 5', '{__name__=n,node=node2,zone=a} 2', '{__name__=n,node=node1,zone=b} 3', '{__name__=n,node=node2,zone=b} 4', '{__name__=n,node=node10,zone=b} 1',
    ]);
    // Label-set order: values as plain strings ("node10" < "node2"), and the series without a node
    // label last, since it compares its zone with the others' node.
    assert.deepEqual(await lines(source, 'sort_by_label(n)', at), [
      '{__name__=n,node=node1,zone=b} 3', '{__name__=n,node=node10,zone=b} 1', '{__name__=n,node=node2,zone=a} 2', '{__name__=n,node=node2,zone=b} 4', '{__name__=n,zone=a} 5',
    ]);
    assert.deepEqual(await lines(source, 'sort_by_label(n, "no_such_label")', at), await lines(source, 'sort_by_label(n)', at));
    assert.deepEqual(await lines(source, 'sort_by_label(nothing, "node")', at), []);
  });

  it('compares in natural order, consistently (a total order)', () => {
    // Digits sort before letters when a digit run meets a letter run, as in a plain string order;
    // numbers longer than any integer type still compare by value; "b01" and "b1" are equal in
    // value, so plain string order decides.
    const sorted = ['', '2', '10', '99999999999999999999', '100000000000000000000', 'a', 'a1', 'a2', 'a10', 'a10b', 'a10c', 'a100', 'b', 'b01', 'b1', 'x9y', 'x9y2', 'x10y'];
    assert.deepEqual([...sorted].reverse().sort(naturalCompare), sorted);
    for (let i = 0; i < sorted.length; i++) {
      for (let j = 0; j < sorted.length; j++) {
        assert.equal(Math.sign(naturalCompare(sorted[i]!, sorted[j]!)), Math.sign(i - j), `${sorted[i]} vs ${sorted[j]}`);
      }
    }
  });

  it('is ignored by range queries, whose series are always in label order', async () => {
    const r = await rangeLines(source, 'sort_by_label_desc(n, "node")', at, at, 10 * sec);
    assert.deepEqual(r.map((l) => l.replace(/:.*/, '')), [
      '{__name__=n,node=node1,zone=b}', '{__name__=n,node=node10,zone=b}', '{__name__=n,node=node2,zone=a}', '{__name__=n,node=node2,zone=b}', '{__name__=n,zone=a}',
    ]);
  });

  it('refuses arguments of the wrong type', () => {
    assert.throws(() => parsePromql('sort_by_label(n, 1)'), /expected type string in call to function "sort_by_label", got scalar/);
    assert.throws(() => parsePromql('sort_by_label_desc(n[5m], "node")'), /expected type instant vector in call to function "sort_by_label_desc", got range vector/);
    assert.throws(() => parsePromql('sort_by_label()'), /expected at least 1 argument\(s\) in call to "sort_by_label", got 0/);
  });
});

describe('first_over_time, mad_over_time and ts_of_*_over_time (Prometheus 3, experimental)', () => {
  // samples at t0, t0+10 s, … t0+50 s
  const source = memorySource([
    series('m', { k: 'a' }, [4, 1, 7, 1, 7, 2]),
    series('m', { k: 'nan' }, [NaN, 3, NaN, 3]),
    series('m', { k: 'one' }, [9]),
  ]);
  const at = t0 + 50 * sec;
  const secs = (ms: number) => String(ms / 1000);

  it('first_over_time is the window\'s first sample and keeps the metric name, as last_over_time does', async () => {
    assert.deepEqual(await lines(source, 'first_over_time(m[1m])', at), ['{__name__=m,k=a} 4', '{__name__=m,k=nan} NaN', '{__name__=m,k=one} 9']);
    // a 25 s window at t0+50 s holds the samples after t0+25 s: a's 1, 7, 2 and nan's 3
    assert.deepEqual(await lines(source, 'first_over_time(m[25s])', at), ['{__name__=m,k=a} 1', '{__name__=m,k=nan} 3']);
  });

  it('mad_over_time is the median of the absolute deviations from the median, without the name', async () => {
    // a: 4 1 7 1 7 2 -> median 3; deviations 1 2 4 2 4 1 -> median 2
    // one: a single sample deviates by 0
    const got = await lines(source, 'mad_over_time(m[1m])', at);
    assert.ok(got.includes('{k=a} 2'), got.join('\n'));
    assert.ok(got.includes('{k=one} 0'), got.join('\n'));
    // 1 7 2 -> median 2; deviations 1 5 0 -> median 1
    assert.deepEqual(await lines(source, 'mad_over_time(m[25s])', at), ['{k=a} 1', '{k=nan} 0']);
  });

  it('ts_of_first_over_time and ts_of_last_over_time are the seconds of the window\'s first and last samples', async () => {
    assert.deepEqual(await lines(source, 'ts_of_first_over_time(m[1m])', at), [`{k=a} ${secs(t0)}`, `{k=nan} ${secs(t0)}`, `{k=one} ${secs(t0)}`]);
    assert.deepEqual(await lines(source, 'ts_of_last_over_time(m[1m])', at), [`{k=a} ${secs(t0 + 50 * sec)}`, `{k=nan} ${secs(t0 + 30 * sec)}`, `{k=one} ${secs(t0)}`]);
  });

  it('ts_of_max_over_time and ts_of_min_over_time name the last sample holding the extreme, and skip NaNs', async () => {
    // a: the maximum 7 at +20 s and +40 s -> +40 s; the minimum 1 at +10 s and +30 s -> +30 s
    // nan: NaN first, then 3 at +10 s and +30 s -> +30 s both ways
    assert.deepEqual(await lines(source, 'ts_of_max_over_time(m[1m])', at), [`{k=a} ${secs(t0 + 40 * sec)}`, `{k=nan} ${secs(t0 + 30 * sec)}`, `{k=one} ${secs(t0)}`]);
    assert.deepEqual(await lines(source, 'ts_of_min_over_time(m[1m])', at), [`{k=a} ${secs(t0 + 30 * sec)}`, `{k=nan} ${secs(t0 + 30 * sec)}`, `{k=one} ${secs(t0)}`]);
    // max_over_time keeps the first of equal maxima; the value is the same either way
    assert.deepEqual(await lines(source, 'max_over_time(m[1m])', at), ['{k=a} 7', '{k=nan} 3', '{k=one} 9']);
  });

  it('they move with the window in a range query', async () => {
    // step 10 s over [t0+20 s, t0+50 s], windows of 25 s: (t-25 s, t]
    assert.deepEqual(await rangeLines(source, 'ts_of_max_over_time(m[25s]) - ' + secs(t0), t0 + 20 * sec, t0 + 50 * sec, 10 * sec),
      ['{k=a}: 20 20 40 40', '{k=nan}: 10 30 30 30', '{k=one}: 0 _ _ _']);
    assert.deepEqual(await rangeLines(source, 'first_over_time(m[25s])', t0 + 20 * sec, t0 + 50 * sec, 10 * sec),
      ['{__name__=m,k=a}: 4 1 7 1', '{__name__=m,k=nan}: NaN 3 NaN 3', '{__name__=m,k=one}: 9 _ _ _']);
  });

  it('take a range vector, like the other *_over_time functions', () => {
    for (const f of ['first_over_time', 'mad_over_time', 'ts_of_first_over_time', 'ts_of_last_over_time', 'ts_of_max_over_time', 'ts_of_min_over_time']) {
      assert.throws(() => parsePromql(`${f}(m)`), new RegExp(`expected type range vector in call to function "${f}", got instant vector`));
      assert.throws(() => parsePromql(`${f}(m[1m], 1)`), new RegExp(`expected 1 argument\\(s\\) in call to "${f}", got 2`));
    }
  });
});
