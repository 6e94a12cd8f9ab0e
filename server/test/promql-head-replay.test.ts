// The head replay at start (metrics/head-replay.ts): after a restart the head holds the newest
// stored samples again, so reads of recent data are answered from memory, with the same results as
// storage gives; a head too small for 2 h takes a shorter span; a replayed stale marker stays one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SampleHead } from '../src/metrics/sample-head.ts';
import { push, removeDir, series, startTestServer, type TestServer } from './helpers.ts';

const minute = 60_000;

async function rangeQuery(url: string, q: string, startMs: number, endMs: number, stepS: number): Promise<string> {
  const params = new URLSearchParams({ query: q, start: String(startMs / 1000), end: String(endMs / 1000), step: String(stepS) });
  const body = (await (await fetch(`${url}/prometheus/api/v1/query_range?${params}`)).json()) as { status: string; data: unknown; error?: string };
  assert.equal(body.status, 'success', body.error);
  return JSON.stringify(body.data);
}

describe('head replay at start', () => {
  let dataDir = '';
  let srv: TestServer | undefined;
  // One sample a minute per series over the last 3 h; the newest a minute ago.
  const newest = Math.floor(Date.now() / minute) * minute - minute;
  const times = Array.from({ length: 180 }, (_, i) => newest - (179 - i) * minute);
  const queries: [string, number, number, number][] = [
    ['replay_gauge', newest - 60 * minute, newest, 60],
    ['sum by (job) (rate(replay_requests_total[5m]))', newest - 90 * minute, newest, 30],
    ['max_over_time(replay_gauge{job=~"a|b"}[10m])', newest - 100 * minute, newest, 120],
    ['replay_gauge', newest - 170 * minute, newest, 300], // reaches before what the head covers
  ];
  /** Answers of the server before the restart (its head filled by ingest), per query. */
  const expected: string[] = [];

  before(async () => {
    srv = await startTestServer();
    dataDir = srv.dataDir;
    const res = await push(srv.url, [
      series('replay_gauge', { job: 'a' }, times.map((t, i) => [t, Math.sin(i / 7) * 100])),
      series('replay_gauge', { job: 'b' }, times.map((t, i) => [t, i % 13])),
      series('replay_requests_total', { job: 'a' }, times.map((t, i) => [t, i * 17 + (i > 150 ? -2000 : 0)])), // a counter reset
    ]);
    assert.equal(res.status, 204);
    for (const q of queries) expected.push(await rangeQuery(srv.url, ...q));
    await srv.close();
    srv = undefined;
  });

  after(async () => {
    await srv?.close();
    removeDir(dataDir);
  });

  it('refills the head with the last 2 h stored, and answers recent reads from it as storage does', async () => {
    srv = await startTestServer({ dataDir });
    const head = srv.metricsHead!.stats();
    assert.equal(head.completeAfterMs, newest - 120 * minute);
    assert.equal(head.samples, 3 * 120, 'every stored sample of the span');
    assert.equal(head.series, 3);
    assert.ok(srv.logs.some((l) => /metrics head: replayed 360 samples of 3 series \(the last 120 min stored\)/.test(l)), srv.logs.join('\n'));
    const cacheMisses = srv.metricsCache!.stats().misses;
    const hits = head.hits;
    for (const [i, q] of queries.slice(0, 3).entries()) assert.equal(await rangeQuery(srv.url, ...q), expected[i], q[0]);
    assert.ok(srv.metricsHead!.stats().hits > hits, 'answered from the head');
    assert.equal(srv.metricsCache!.stats().misses, cacheMisses, 'no storage read for them');
    assert.equal(await rangeQuery(srv.url, ...queries[3]!), expected[3], 'an older window still reads storage');
    await srv.close();
    srv = undefined;
  });

  it('replays a shorter span when 2 h would fill more than half the head', async () => {
    srv = await startTestServer({ dataDir, metricsHeadSamples: 400 }); // 360 samples in 2 h, 180 in 1 h: 1 h fits in 200
    const head = srv.metricsHead!.stats();
    assert.equal(head.completeAfterMs, newest - 60 * minute);
    assert.equal(head.samples, 3 * 60);
    for (const [i, q] of queries.entries()) assert.equal(await rangeQuery(srv.url, ...q), expected[i], q[0]);
    await srv.close();
    srv = undefined;
  });

  it('gives the same answers as storage alone', async () => {
    srv = await startTestServer({ dataDir, metricsHeadSamples: 0, metricsCacheSamples: 0 });
    assert.equal(srv.metricsHead, undefined);
    for (const [i, q] of queries.entries()) assert.equal(await rangeQuery(srv.url, ...q), expected[i], q[0]);
  });
});

describe('SampleHead.replay', () => {
  it('keeps stale markers as such, skips times it does not cover, and merges with what it holds', () => {
    const head = new SampleHead(1000);
    const labels = { __name__: 'm', job: 'x' };
    head.replay(7n, labels, Float64Array.from([900, 1000, 2000, 3000, 4000]), Float64Array.from([9, 10, 20, NaN, 40]), [3000]);
    head.replay(7n, labels, Float64Array.from([5000]), Float64Array.from([50]), []);
    const [s] = head.select([{ name: '__name__', type: '=', value: 'm' }], 1000, 10_000)!;
    assert.deepEqual(Array.from(s!.timestamps), [2000, 3000, 4000, 5000]);
    assert.deepEqual(Array.from(s!.values), [20, NaN, 40, 50]);
    assert.deepEqual(s!.staleAt, [3000]);
    assert.deepEqual(s!.labels, labels);
    assert.equal(head.stats().samples, 4);
  });
});
