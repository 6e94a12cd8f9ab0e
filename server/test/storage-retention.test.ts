// Retention and byte budgets drop whole day partitions, oldest first; /api/storage reports usage
// and a days-left forecast.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, it } from 'node:test';
import { encodeLogsRequest, encodeTracesRequest } from '../src/ingest/otlp-encode.ts';
import { encodePprof } from '../src/ingest/pprof.ts';
import { push, removeDir, series, startTestServer, type TestServer } from './helpers.ts';

const day = 86_400_000;
const now = Date.now();
const ns = (ms: number) => BigInt(ms) * 1_000_000n;
let server: TestServer;

before(async () => {
  server = await startTestServer({
    adminPassword: 'storage-test-password',
    retention: { budgetBytes: { logs: 1 } }, // any logs at all are over budget: only the newest day may stay
  });
});
after(async () => {
  await server.close();
  removeDir(server.dataDir);
});

async function postOk(path: string, body: Uint8Array, type = 'application/x-protobuf'): Promise<void> {
  const r = await fetch(`${server.url}${path}`, { method: 'POST', body: Buffer.from(body), headers: { 'content-type': type } });
  assert.equal(r.status, 200, await r.text());
}

const span = (i: number, ms: number) => ({ traceId: (i + 1).toString(16).padStart(32, '0'), spanId: (i + 1).toString(16).padStart(16, '0'), name: `age-${Math.round((now - ms) / day)}d`, startNs: ns(ms), endNs: ns(ms) + 1n });

it('drops partitions past retention and over budget, oldest first, and reports usage', async () => {
  const spanAges = [10, 3, 0];
  await postOk('/v1/traces', encodeTracesRequest([{ attributes: { 'service.name': 'r' }, scopes: [{ name: 's', items: spanAges.map((a, i) => span(i, now - a * day)) }] }]));
  const logAges = [20, 3, 2, 0];
  await postOk('/v1/logs', encodeLogsRequest([{ attributes: { 'service.name': 'r' }, scopes: [{ name: 's', items: logAges.map((a) => ({ timeNs: ns(now - a * day), body: `age-${a}d` })) }] }]));
  for (const a of [5, 0]) {
    const pprof = encodePprof({ sampleTypes: [{ type: 'cpu', unit: 'nanoseconds' }], samples: [{ stack: [{ fn: 'f', file: 'f.go', line: a }], values: [10] }], timeNs: (now - a * day) * 1e6, durationNs: 1e9 });
    const r = await fetch(`${server.url}/v1/profiles?service.name=r`, { method: 'POST', body: gzipSync(pprof) });
    assert.equal(r.status, 200);
  }
  assert.equal((await push(server.url, [series('old_metric', {}, [[now - 40 * day, 1], [now - 1000, 2]])])).status, 204);

  const result = await server.storage!.enforce(now);
  const dropped = result.dropped.map((d) => `${d.table}:${d.reason}`).sort();
  assert.deepEqual(dropped, [
    // Labels (metrics_series) are stored per day like samples, so both go together.
    'metrics_series:retention', 'metrics_series_samples:retention',
    'otel_logs:budget', 'otel_logs:budget', 'otel_logs:retention',
    'otel_traces:retention',
    'profiling_samples:retention', 'profiling_stacks:retention',
  ]);
  const store = server.telemetry!.store;
  assert.deepEqual((await store.selectSpans({ serviceName: 'r' })).map((s) => s.name), ['age-3d', 'age-0d']);
  assert.deepEqual((await store.selectLogs({ serviceName: 'r' })).map((l) => l.body), ['age-0d']);
  assert.equal(await store.count('profiles'), 1);

  // Usage over HTTP (admin-only route): log in first.
  const login = await fetch(`${server.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'admin', password: 'storage-test-password' }) });
  assert.equal(login.status, 200);
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const r = await fetch(`${server.url}/api/storage`, { headers: { cookie } });
  assert.equal(r.status, 200, await r.clone().text());
  const usage = (await r.json()) as { driver: string; signals: { signal: string; bytesOnDisk: number; rows: number; oldestDay: string; newestDay: string; retentionDays: number; budgetBytes: number; daysLeft: number | null; ingestBytesPerDay: number }[] };
  assert.equal(usage.driver, 'chdb');
  const traces = usage.signals.find((s) => s.signal === 'traces')!;
  assert.equal(traces.rows, 2);
  assert.ok(traces.bytesOnDisk > 0);
  assert.equal(traces.retentionDays, 7);
  assert.equal(traces.oldestDay, new Date(now - 3 * day).toISOString().slice(0, 10));
  assert.equal(traces.newestDay, new Date(now).toISOString().slice(0, 10));
  assert.equal(traces.daysLeft, null, 'no budget, no forecast');
  assert.ok(traces.ingestBytesPerDay > 0);
  const logs = usage.signals.find((s) => s.signal === 'logs')!;
  assert.equal(logs.budgetBytes, 1);
  assert.equal(logs.daysLeft, 0, 'over budget: no days left');
  assert.equal(usage.signals.find((s) => s.signal === 'metrics')!.retentionDays, 30);
  assert.equal(usage.signals.find((s) => s.signal === 'profiles')!.retentionDays, 3);
  // PromQL's memory: both pieces are on by default with chDB, at their default bounds.
  const memory = (usage as unknown as { metricsMemory: { head: { samples: number; series: number } | null; cache: { samples: number; maxSamples: number; entries: number } | null } }).metricsMemory;
  assert.ok(memory.head && Number.isInteger(memory.head.samples) && Number.isInteger(memory.head.series), JSON.stringify(memory));
  assert.equal(memory.cache?.maxSamples, 4_000_000);
  assert.ok(Number.isInteger(memory.cache.samples) && memory.cache.samples <= memory.cache.maxSamples);
});
