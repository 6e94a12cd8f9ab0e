// Ingest → query round trip through the real HTTP server. Expected values are computed here by
// hand from Prometheus' rules, with the reasoning in comments, so the engine is checked against
// the semantics and not against itself.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertClose, key, push, query, removeDir, series, startTestServer, vector, type TestServer } from './helpers.ts';

const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);
const s = (sec: number): number => T0 + sec * 1000;
const T = s(60); // evaluation instant: the range [1m] is (T0, T0+60s]

let srv: TestServer;

before(async () => {
  srv = await startTestServer();
  const res = await push(srv.url, [
    // A: four samples 15 s apart with a counter reset (20 → 5).
    series('http_requests_total', { job: 'api', instance: 'a', code: '200' }, [[s(10), 10], [s(25), 20], [s(40), 5], [s(55), 15]]),
    // B: a series that starts inside the range.
    series('http_requests_total', { job: 'api', instance: 'b', code: '500' }, [[s(30), 100], [s(45), 103]]),
    // C: a young counter whose extrapolation is cut at its zero point. No "code" label.
    series('http_requests_total', { job: 'db', instance: 'a' }, [[s(20), 1], [s(35), 4], [s(50), 7]]),
    series('temperature', { room: 'lab' }, [[s(50), NaN]]),
  ]);
  assert.equal(res.status, 204, await res.text());
});

after(async () => {
  await srv.close();
  removeDir(srv.dataDir);
});

// A: raw delta 15 - 10 = 5, plus 20 lost at the reset = 25. Samples span 45 s (10 s → 55 s), average
// spacing 15 s, so the extrapolation threshold is 16.5 s. Gap to the range start (0 s) is 10 s < 16.5
// → extrapolate all 10 s; the zero point lies 45 * 10/25 = 18 s back, further than 10 s, so no cut.
// Gap to the end is 5 s → extrapolate 5 s. Factor (45 + 10 + 5) / 45 = 4/3 → 33.333…
const increaseA = 25 * (60 / 45);
// B: delta 3 over 15 s (one step). Gap to start 30 s ≥ 16.5 → only half a step (7.5 s); zero point
// is 15 * 100/3 = 500 s back, no cut. Gap to end 15 s < 16.5 → all of it. (15 + 7.5 + 15) / 15 = 2.5.
const increaseB = 3 * 2.5;
// C: delta 6 over 30 s, spacing 15 s. Gap to start 20 s ≥ 16.5 → 7.5 s, but the zero point is only
// 30 * 1/6 = 5 s back, so 5 s. Gap to end 10 s. (30 + 5 + 10) / 30 = 1.5 → 9.
const increaseC = 6 * 1.5;

describe('increase, rate and sum', () => {
  it('increase() handles a reset and extrapolates to the range edges', async () => {
    const v = await vector(srv.url, 'increase(http_requests_total[1m])', T);
    assert.equal(v.size, 3);
    assertClose(v.get(key({ job: 'api', instance: 'a', code: '200' })), increaseA, 'A');
    assertClose(v.get(key({ job: 'api', instance: 'b', code: '500' })), increaseB, 'B');
    assertClose(v.get(key({ job: 'db', instance: 'a' })), increaseC, 'C');
  });

  it('rate() is increase() divided by the range in seconds', async () => {
    const v = await vector(srv.url, 'rate(http_requests_total[1m])', T);
    assertClose(v.get(key({ job: 'api', instance: 'a', code: '200' })), increaseA / 60, 'A');
    assertClose(v.get(key({ job: 'db', instance: 'a' })), increaseC / 60, 'C');
  });

  it('sum by / sum without / sum', async () => {
    const by = await vector(srv.url, 'sum by (job) (increase(http_requests_total[1m]))', T);
    assert.equal(by.size, 2);
    assertClose(by.get(key({ job: 'api' })), increaseA + increaseB, 'api');
    assertClose(by.get(key({ job: 'db' })), increaseC, 'db');
    const without = await vector(srv.url, 'sum without (instance, code) (increase(http_requests_total[1m]))', T);
    assert.deepEqual(without, by);
    const all = await vector(srv.url, 'sum(increase(http_requests_total[1m]))', T);
    assertClose(all.get(key({})), increaseA + increaseB + increaseC, 'sum');
    const trailing = await vector(srv.url, 'sum(increase(http_requests_total[1m])) by (job)', T);
    assert.deepEqual(trailing, by);
  });

  it('vector-scalar arithmetic drops the metric name', async () => {
    const v = await vector(srv.url, 'http_requests_total{job="db"} * 2 - 1', T);
    assert.deepEqual([...v], [[key({ job: 'db', instance: 'a' }), 7 * 2 - 1]]);
  });

  it('with only one sample in the range there is no increase', async () => {
    // At T0+30s the range (T0-30s, T0+30s] holds A@10, A@25, B@30, C@20 — B has a single sample.
    const v = await vector(srv.url, 'increase(http_requests_total[1m])', s(30));
    assert.ok(!v.has(key({ job: 'api', instance: 'b', code: '500' })));
    assert.ok(v.has(key({ job: 'api', instance: 'a', code: '200' })));
  });
});

describe('instant selectors and matchers', () => {
  const all = { a: key({ __name__: 'http_requests_total', job: 'api', instance: 'a', code: '200' }), b: key({ __name__: 'http_requests_total', job: 'api', instance: 'b', code: '500' }), c: key({ __name__: 'http_requests_total', job: 'db', instance: 'a' }) };
  const cases: [string, string[]][] = [
    ['http_requests_total{job="api"}', [all.a, all.b]],
    ['http_requests_total{job!="api"}', [all.c]],
    ['http_requests_total{code=~"2.."}', [all.a]],
    ['http_requests_total{code=~"20"}', []], // anchored: "20" must not match "200"
    ['http_requests_total{code!~"5.*"}', [all.a, all.c]], // C has no code label: "" does not match 5.*
    ['{__name__=~"http_.*", instance="a"}', [all.a, all.c]],
    ['http_requests_total{job=~"api|db", code=""}', [all.c]], // ="" selects series without the label
  ];
  for (const [q, expected] of cases) {
    it(q, async () => {
      const v = await vector(srv.url, q, T);
      assert.deepEqual([...v.keys()].sort(), [...expected].sort());
    });
  }

  it('takes the latest sample within the 5-minute lookback (closed, as in Prometheus 2)', async () => {
    const a = { __name__: 'http_requests_total', job: 'api', instance: 'a', code: '200' };
    assert.equal((await vector(srv.url, 'http_requests_total{instance="a",job="api"}', T)).get(key(a)), 15);
    // A's last sample is at 55 s: still visible at exactly 55 s + 300 s, gone 1 ms later.
    assert.equal((await vector(srv.url, 'http_requests_total{instance="a",job="api"}', s(55 + 300))).get(key(a)), 15);
    assert.equal((await vector(srv.url, 'http_requests_total{instance="a",job="api"}', s(55 + 300) + 1)).size, 0);
  });

  it('stores and returns NaN samples', async () => {
    const { body } = await query(srv.url, 'temperature', T);
    assert.deepEqual(body.data?.result, [{ metric: { __name__: 'temperature', room: 'lab' }, value: [T / 1000, 'NaN'] }]);
  });
});

describe('response shapes', () => {
  it('instant query: vector', async () => {
    const { code, body } = await query(srv.url, 'http_requests_total{job="db"}', T);
    assert.equal(code, 200);
    assert.deepEqual(body, {
      status: 'success',
      data: { resultType: 'vector', result: [{ metric: { __name__: 'http_requests_total', job: 'db', instance: 'a' }, value: [T / 1000, '7'] }] },
    });
  });

  it('instant query: scalar', async () => {
    const { body } = await query(srv.url, '1 + 2 * 3', T);
    assert.deepEqual(body.data, { resultType: 'scalar', result: [T / 1000, '7'] });
  });

  it('instant query of a range selector: matrix of raw samples', async () => {
    const { body } = await query(srv.url, 'http_requests_total{job="db"}[30s]', T);
    assert.deepEqual(body.data, {
      resultType: 'matrix',
      // (30 s, 60 s]: the samples at 35 s and 50 s.
      result: [{ metric: { __name__: 'http_requests_total', job: 'db', instance: 'a' }, values: [[s(35) / 1000, '4'], [s(50) / 1000, '7']] }],
    });
  });

  it('query_range returns a matrix with one point per step', async () => {
    const params = new URLSearchParams({ query: 'sum by (job) (http_requests_total)', start: String(s(20) / 1000), end: String(s(50) / 1000), step: '15' });
    const r = await fetch(`${srv.url}/prometheus/api/v1/query_range?${params}`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), {
      status: 'success',
      data: {
        resultType: 'matrix',
        result: [
          // api at 20 s: A@10=10 (B not yet); at 35 s: A@25=20 + B@30=100; at 50 s: A@40=5 + B@45=103.
          { metric: { job: 'api' }, values: [[s(20) / 1000, '10'], [s(35) / 1000, '120'], [s(50) / 1000, '108']] },
          { metric: { job: 'db' }, values: [[s(20) / 1000, '1'], [s(35) / 1000, '4'], [s(50) / 1000, '7']] },
        ],
      },
    });
  });

  it('accepts POST with a form body, as Grafana sends it', async () => {
    const r = await fetch(`${srv.url}/prometheus/api/v1/query`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: 'http_requests_total{job="db"}', time: String(T / 1000) }).toString(),
    });
    const body = (await r.json()) as { data: { result: unknown[] } };
    assert.equal(r.status, 200);
    assert.equal(body.data.result.length, 1);
  });
});

describe('errors', () => {
  const bad = ['sum(', 'rate(http_requests_total)', 'http_requests_total{job=~"("}', 'foo bar', '{job=~".*"}', 'limitk("2", x)', 'x[5m] * 2', 'sum(x) offset 5m', '1 > 1', 'http_requests_total{job="a}'];
  for (const q of bad) {
    it(`bad_data for ${q}`, async () => {
      const { code, body } = await query(srv.url, q, T);
      assert.equal(code, 400);
      assert.equal(body.status, 'error');
      assert.equal(body.errorType, 'bad_data');
      assert.ok(body.error && body.error.length > 10, body.error);
    });
  }

  it('bad_data for a missing query or time', async () => {
    const r1 = await fetch(`${srv.url}/prometheus/api/v1/query`);
    assert.equal(r1.status, 400);
    const r2 = await fetch(`${srv.url}/prometheus/api/v1/query?query=up&time=yesterday`);
    assert.match(((await r2.json()) as { error: string }).error, /invalid parameter "time"/);
  });

  it('query_range rejects a range selector, bad steps and too many points', async () => {
    const get = async (p: Record<string, string>): Promise<{ status: number; body: { errorType: string; error: string } }> => {
      const r = await fetch(`${srv.url}/prometheus/api/v1/query_range?${new URLSearchParams(p)}`);
      return { status: r.status, body: (await r.json()) as { errorType: string; error: string } };
    };
    const base = { query: 'http_requests_total', start: '1700000000', end: '1700000600', step: '60' };
    assert.equal((await get({ ...base, query: 'http_requests_total[5m]' })).status, 422);
    assert.equal((await get({ ...base, step: '0' })).status, 400);
    assert.equal((await get({ ...base, end: '1600000000' })).status, 400);
    assert.match((await get({ ...base, step: '0.001' })).body.error, /11,000 points/);
  });
});
