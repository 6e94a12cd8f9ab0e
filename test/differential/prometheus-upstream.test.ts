// Rootsight with --prometheus-url: a real Prometheus 2.42 (with its remote-write receiver on) is
// the upstream. Data written through Rootsight's /v1/metrics reaches Prometheus; queries through
// Rootsight's /prometheus/api/v1/* give exactly what Prometheus answers directly. Then upstreams
// that refuse connections, never answer, or reject writes: clear 502/504 answers, no hang, ingest
// keeps working locally, and the forwarding failures are counted at /api/upstream.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { push, removeDir, series, startTestServer, type TestServer } from '../../server/test/helpers.ts';
import { startServer } from '../../server/src/main.ts';
import type { UpstreamStats } from '../../server/src/upstream/prometheus-upstream.ts';
import { call, diff } from './compare.ts';
import { createIngestKey, until } from './helpers.ts';
import { prometheusAvailable, startPrometheusWithConfig, type RunningPrometheus } from './prometheus-process.ts';

const skip = prometheusAvailable() ? false : 'needs /usr/bin/prometheus (Debian package prometheus)';
const adminPassword = 'upstream-test-admin';

async function upstreamStats(url: string): Promise<UpstreamStats> {
  const r = await fetch(`${url}/api/upstream`);
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()) as UpstreamStats;
}

describe('an external Prometheus as the upstream', { skip }, () => {
  let prom: RunningPrometheus;
  let srv: TestServer;
  const now = Math.floor(Date.now() / 1000) * 1000;
  const start = now - 10 * 60_000;
  const pushes: ReturnType<typeof series>[][] = [];

  before(async () => {
    prom = await startPrometheusWithConfig('global:\n  scrape_interval: 1h\nscrape_configs: []\n', ['--web.enable-remote-write-receiver']);
    srv = await startTestServer({ adminPassword, prometheusUrl: prom.url, upstream: { forwarder: { minBackoffMs: 50 } } });
    // Two pushes in time order (Prometheus refuses samples older than what a series already has).
    for (const half of [0, 1]) {
      const out: ReturnType<typeof series>[] = [];
      const times: number[] = [];
      for (let t = start + half * 5 * 60_000; t < start + (half + 1) * 5 * 60_000; t += 15_000) times.push(t);
      for (const pod of ['a', 'b', 'c']) {
        out.push(series('up_requests_total', { pod, code: '200' }, times.map((t) => [t, (t - start) / 1000 * (pod === 'a' ? 2 : 3)])));
        out.push(series('up_requests_total', { pod, code: '500' }, times.map((t) => [t, (t - start) / 10_000])));
        out.push(series('up_queue_length', { pod }, times.map((t, i) => [t, (i * 7) % 5 + (pod === 'c' ? 0.5 : 0)])));
      }
      pushes.push(out);
    }
  });

  after(async () => {
    if (srv) { await srv.close(); removeDir(srv.dataDir); }
    await prom?.stop();
  });

  it('remote write through Rootsight reaches Prometheus, with the ingest key checked here', async () => {
    const key = await createIngestKey(srv.url, adminPassword);
    const wrong = await push(srv.url, pushes[0]!, { 'X-API-Key': 'not-a-key' });
    assert.equal(wrong.status, 404, 'an unknown key is refused before anything is forwarded');
    for (const p of pushes) {
      const r = await push(srv.url, p, { 'X-API-Key': key });
      assert.equal(r.status, 204, await r.text());
    }
    const s = await until('both batches forwarded', 30_000, async () => {
      const st = await upstreamStats(srv.url);
      return st.remoteWrite.sentBatches === 2 ? st : undefined;
    });
    assert.equal(s.remoteWrite.failedBatches + s.remoteWrite.rejectedBatches + s.remoteWrite.droppedBatches, 0, JSON.stringify(s));
    // Asked directly, Prometheus has every sample.
    const r = await call(prom.url, '/api/v1/query', { query: 'count_over_time(up_requests_total[20m])', time: String(now / 1000) });
    assert.ok(r.ok, JSON.stringify(r));
    const counts = (r.result as { value: [number, string] }[]).map((x) => x.value[1]);
    assert.deepEqual(counts, Array(6).fill('40'));
  });

  it('queries through Rootsight answer exactly what Prometheus answers', async () => {
    const t = String(now / 1000);
    const queries = [
      'up_requests_total',
      'sum by (pod) (rate(up_requests_total[2m]))',
      'sum by (pod) (rate(up_requests_total{code="500"}[2m])) / sum by (pod) (rate(up_requests_total[2m]))',
      'max_over_time(up_queue_length[5m])',
      'topk(2, up_queue_length)',
      'this is not promql',
    ];
    for (const q of queries) {
      for (const [path, params] of [
        ['/api/v1/query', { query: q, time: t }],
        ['/api/v1/query_range', { query: q, start: String(start / 1000), end: t, step: '45' }],
      ] as const) {
        const direct = await call(prom.url, path, params);
        const via = await call(`${srv.url}/prometheus`, path, params);
        assert.equal(diff(direct, via), undefined, `${path} ${q}`);
        assert.deepEqual(via, direct, `${path} ${q}: identical bodies`);
      }
    }
    // GET with a query string and repeated match[]: series, labels, label values.
    for (const path of [
      `/api/v1/series?match[]=up_queue_length&match[]=up_requests_total{code="500"}&start=${start / 1000}&end=${t}`,
      `/api/v1/labels?start=${start / 1000}&end=${t}`,
      `/api/v1/label/pod/values?start=${start / 1000}&end=${t}`,
    ]) {
      const [a, b] = await Promise.all([fetch(`${prom.url}${path}`), fetch(`${srv.url}/prometheus${path}`)]);
      assert.equal(b.status, a.status, path);
      assert.deepEqual(await b.json(), await a.json(), path);
    }
    const bad = await fetch(`${srv.url}/prometheus/api/v1/query?query=sum(`);
    assert.equal(bad.status, 400, 'an upstream 400 stays a 400');
    assert.equal(((await bad.json()) as { errorType: string }).errorType, 'bad_data');
    const stats = await upstreamStats(srv.url);
    assert.ok(stats.queries.proxied >= queries.length * 2 + 4, JSON.stringify(stats.queries));
    assert.equal(stats.queries.failed, 0);
  });
});

describe('an upstream that is down, hangs or refuses writes', () => {
  let fake: Server;
  let mode: 'hang' | 'reject' | 'ok' = 'ok';
  let srv: TestServer | undefined;
  let port = 0;

  before(async () => {
    fake = createServer((req, res) => {
      req.resume();
      if (mode === 'hang') return; // never answers
      if (mode === 'reject') { res.writeHead(400).end('out of order sample'); return; }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}');
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
    port = (fake.address() as { port: number }).port;
    srv = await startTestServer({
      prometheusUrl: `http://127.0.0.1:${port}`,
      upstream: { queryTimeoutMs: 1500, forwarder: { minBackoffMs: 20, maxBackoffMs: 50, maxAttempts: 3, requestTimeoutMs: 1000 } },
    });
  });

  after(async () => {
    if (srv) { await srv.close(); removeDir(srv.dataDir); }
    fake.closeAllConnections();
    await new Promise((r) => fake.close(r));
  });

  it('a hanging upstream gives 504 with a message, within the timeout', async () => {
    mode = 'hang';
    const r = await fetch(`${srv!.url}/prometheus/api/v1/query?query=1`);
    assert.equal(r.status, 504);
    const body = (await r.json()) as { status: string; error: string };
    assert.equal(body.status, 'error');
    assert.match(body.error, /did not answer within 1.5 s/);
  });

  it('writes the upstream refuses are counted as rejected, and local ingest still answers 204', async () => {
    mode = 'reject';
    const r = await push(srv!.url, [series('down_metric', { a: '1' }, [[Date.now() - 1000, 1]])]);
    assert.equal(r.status, 204, 'stored locally whatever the upstream says');
    const s = await until('the rejection to be counted', 20_000, async () => {
      const st = await upstreamStats(srv!.url);
      return st.remoteWrite.rejectedBatches === 1 ? st : undefined;
    });
    assert.match(s.remoteWrite.lastError ?? '', /400 .*out of order sample/);
    assert.equal(s.remoteWrite.retries, 0, 'a 4xx is not retried');
  });

  it('an unreachable upstream gives 502 with a message; writes are retried, then counted as failed', async () => {
    fake.closeAllConnections();
    await new Promise((r) => fake.close(r));
    const r = await fetch(`${srv!.url}/prometheus/api/v1/query_range?query=up&start=0&end=60&step=15`);
    assert.equal(r.status, 502);
    const body = (await r.json()) as { status: string; errorType: string; error: string };
    assert.equal(body.errorType, 'unavailable');
    assert.match(body.error, new RegExp(`upstream Prometheus http://127.0.0.1:${port} is unreachable: ECONNREFUSED`));
    const w = await push(srv!.url, [series('down_metric', { a: '2' }, [[Date.now() - 500, 2]])]);
    assert.equal(w.status, 204);
    const s = await until('the batch to be given up after 3 attempts', 20_000, async () => {
      const st = await upstreamStats(srv!.url);
      return st.remoteWrite.failedBatches === 1 ? st : undefined;
    });
    assert.equal(s.remoteWrite.retries, 2);
    assert.match(s.remoteWrite.lastError ?? '', /unreachable: ECONNREFUSED/);
    assert.equal(s.queries.failed, 2, 'the hang and the refused connection');
    // The server itself is fine.
    assert.equal((await fetch(`${srv!.url}/health`)).status, 200);
  });

  it('a bad --prometheus-url is refused at start with a clear message', async () => {
    await assert.rejects(startServer({ prometheusUrl: 'ftp://prom:9090', listen: '127.0.0.1:0', dataDir: '/nonexistent/never-created' }), /--prometheus-url: expected http:\/\/ or https:\/\//);
    await assert.rejects(startServer({ prometheusUrl: 'not a url', listen: '127.0.0.1:0', dataDir: '/nonexistent/never-created' }), /--prometheus-url: "not a url" is not a URL/);
  });
});
