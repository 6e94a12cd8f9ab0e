// The server's decoded-sample cache end to end: a range query over old data (no head) fills it, a
// repeated one is answered from it, and an out-of-order sample remote-written into a cached window
// is seen by the next query.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { push, removeDir, series, startTestServer, type TestServer } from './helpers.ts';

const W = 2 * 3600_000;

async function rangeQuery(url: string, q: string, startMs: number, endMs: number, stepS: number): Promise<[number, string][]> {
  const params = new URLSearchParams({ query: q, start: String(startMs / 1000), end: String(endMs / 1000), step: String(stepS) });
  const r = await fetch(`${url}/prometheus/api/v1/query_range?${params}`);
  const body = (await r.json()) as { status: string; data: { result: { values: [number, string][] }[] } };
  assert.equal(body.status, 'success');
  return body.data.result[0]?.values ?? [];
}

describe('sample cache (server, reads from storage)', () => {
  let srv: TestServer;
  // A window three windows back: older than anything live.
  const base = (Math.floor(Date.now() / W) - 3) * W;

  before(async () => {
    srv = await startTestServer({ metricsHeadSamples: 0 });
    const samples: [number, number][] = Array.from({ length: 40 }, (_, i) => [base + 600_000 + i * 60_000, i]);
    assert.equal((await push(srv.url, [series('cache_gauge', { job: 'a' }, samples)])).status, 204);
  });

  after(async () => {
    if (srv) { await srv.close(); removeDir(srv.dataDir); }
  });

  it('answers a repeated query from the cache, and sees a sample written into a cached window', async () => {
    const cache = srv.metricsCache!;
    assert.ok(cache);
    const from = base + 600_000, to = base + 600_000 + 39 * 60_000;
    const first = await rangeQuery(srv.url, 'cache_gauge', from, to, 60);
    assert.equal(first.length, 40);
    const misses = cache.stats().misses;
    assert.deepEqual(await rangeQuery(srv.url, 'cache_gauge', from, to, 60), first);
    assert.equal(cache.stats().misses, misses, 'served from the cache');
    assert.ok(cache.stats().hits > 0);
    // Out of order: 30 s after the 11th sample, long before the newest stored one.
    const late = base + 600_000 + 10 * 60_000 + 30_000;
    assert.equal((await push(srv.url, [series('cache_gauge', { job: 'a' }, [[late, 1000]])])).status, 204);
    const again = await rangeQuery(srv.url, 'cache_gauge', late - 30_000, late + 30_000, 30);
    assert.deepEqual(again.map(([, v]) => v), ['10', '1000', '11']);
  });
});
