// Request tracing end to end, as root on the real kernel: nginx in one stand-in container
// answering 200, 404 and 500, a keep-alive client in another making a known number of each.
// The agent's request counters (outbound for the client, inbound for nginx) must equal the
// client's own counts exactly, and latency must be plausible.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../agent/src/agent.ts';
import { startServer, type RunningServer } from '../../server/src/main.ts';
import type { SpanRow } from '../../server/src/storage/clickhouse/telemetry-store.ts';
import { startNginx } from './nginx.ts';
import { eventually, StandInNetwork, type StandInContainer } from './stand-in-containers.ts';
import { parseExposition, pick } from './scrape.ts';

const OK = 60, MISSING = 25, FAILING = 15;
let net: StandInNetwork;
let web: StandInContainer;
let client: StandInContainer;
let agent: Agent;
let server: RunningServer;
const work = mkdtempSync(join(tmpdir(), 'rootsight-l7-'));

before(async () => {
  net = new StandInNetwork('192.168.216');
  web = net.addContainer('web');
  client = net.addContainer('client');
  server = await startServer({ listen: '127.0.0.1:0', dataDir: join(work, 'data'), log: () => {} });
  agent = await Agent.start({
    listen: '127.0.0.1:0', collectorEndpoint: server.url, cgroupfsRoot: '/sys/fs/cgroup', scrapeIntervalMs: 3_600_000,
    ephemeralPortRange: '32768-60999', minContainerAgeMs: 0, log: (m) => console.error(`agent: ${m}`),
  });
  startNginx(web, work, `location = / { return 200 "ok\\n"; }
    location = /fail { return 500 "boom\\n"; }`);
});

after(async () => {
  await agent?.close();
  await server?.close();
  await net?.destroy();
});

test('HTTP request counts by status equal the client\'s, on both sides', async () => {
  const capabilities = await (await fetch(`${agent.url}/capabilities`)).json() as { programs: Array<{ program: string; attachPoint: string; attached: boolean }> };
  const syscallExit = capabilities.programs.find((p) => p.attachPoint === 'tp_btf/sys_exit');
  assert.equal(syscallExit?.attached, true, JSON.stringify(capabilities.programs));
  // Probed from inside the web container, so the client container's counters start untouched.
  await eventually('nginx to answer', async () => {
    try { await web.run('curl', ['-sf', '-o', '/dev/null', 'http://127.0.0.1/']); return true; } catch { return undefined; }
  });
  const scrape = async () => parseExposition(await (await fetch(`${agent.url}/metrics`)).text());
  const webId = `/docker/${web.runtimeId.slice(0, 12)}`;
  const clientId = `/docker/${client.runtimeId.slice(0, 12)}`;
  // The readiness probe made exactly one successful request to nginx: let it be counted before the baseline.
  await eventually('the probe request to be counted', async () => {
    const n = pick(await scrape(), 'container_http_inbound_requests_total', { container_id: webId, status: '2xx' })[0]?.value;
    return n === 1 ? true : undefined;
  });
  const before = await scrape();
  const base = (status: string, side: 'out' | 'in') => side === 'out'
    ? pick(before, 'container_http_requests_total', { container_id: clientId, status })[0]?.value ?? 0
    : pick(before, 'container_http_inbound_requests_total', { container_id: webId, status })[0]?.value ?? 0;
  const expected = { '2xx': OK, '4xx': MISSING, '5xx': FAILING };
  const baseline = Object.fromEntries(Object.keys(expected).flatMap((s) => [[`out ${s}`, base(s, 'out')], [`in ${s}`, base(s, 'in')]]));

  const truth: Record<string, number> = {};
  for (const [path, n] of [['/', OK], ['/missing', MISSING], ['/fail', FAILING]] as const) {
    Object.assign(truth, JSON.parse(await client.run('node', [join(import.meta.dirname, 'http-client.mjs'), web.ip, '80', String(n), path])));
  }
  assert.deepEqual(truth, { 200: OK, 404: MISSING, 500: FAILING }, 'the client saw what nginx was told to answer');

  let seen = '';
  const settled = await eventually(() => `request counters to match; last seen ${seen}`, async () => {
    const s = await scrape();
    const got: Record<string, number> = {};
    for (const status of Object.keys(expected)) {
      got[`out ${status}`] = (pick(s, 'container_http_requests_total', { container_id: clientId, status, destination: `${web.ip}:80` })[0]?.value ?? 0) - baseline[`out ${status}`]!;
      got[`in ${status}`] = (pick(s, 'container_http_inbound_requests_total', { container_id: webId, status })[0]?.value ?? 0) - baseline[`in ${status}`]!;
    }
    seen = JSON.stringify(got) + JSON.stringify(s.filter((x) => x.name.startsWith('rootsight_agent_skipped') || x.name.startsWith('rootsight_agent_l7')).map((x) => [x.labels.reason ?? x.labels.counter, x.value]));
    const want = Object.fromEntries(Object.entries(expected).flatMap(([st, n]) => [[`out ${st}`, n], [`in ${st}`, n]]));
    return JSON.stringify(got) === JSON.stringify(want) ? s : undefined;
  });
  const dest = { container_id: clientId, destination: `${web.ip}:80` };
  const histogram = (s: typeof settled, part: 'count' | 'sum') => pick(s, `container_http_requests_duration_seconds_total_${part}`, dest)[0]?.value ?? 0;
  const count = histogram(settled, 'count') - histogram(before, 'count');
  const sum = histogram(settled, 'sum') - histogram(before, 'sum');
  assert.equal(count, OK + MISSING + FAILING);
  assert.ok(sum > 0 && sum / count < 0.1, `mean latency ${sum / count}s is positive and below 100 ms on a local bridge`);
});

test('each request becomes a span in the server, joined to the caller\'s trace by its traceparent', async () => {
  const clientId = `/docker/${client.runtimeId.slice(0, 12)}`;
  await agent.pushNow();
  // The client sends a traceparent on every request.
  const traced = (rows: SpanRow[]) => rows.filter((r) => r.kind === 3 && r.traceId === '4bf92f3577b34da6a3ce929d0e0e4736');
  const spans = await eventually('client spans stored', async () => {
    const rows = traced(await server.telemetry!.store.selectSpans({ serviceName: clientId, limit: 1000 }));
    return rows.length >= OK + MISSING + FAILING ? rows : undefined;
  });
  assert.equal(spans.length, OK + MISSING + FAILING, 'one client span per request');
  assert.ok(spans.every((r) => r.parentSpanId === '00f067aa0ba902b7'), 'parent span from traceparent');
  const byPath = (path: string) => spans.filter((r) => String(r.attributes['http.url']).endsWith(`${web.ip}${path}`));
  assert.equal(byPath('/').length, OK);
  assert.equal(byPath('/missing').length, MISSING);
  assert.equal(byPath('/fail').length, FAILING);
  assert.ok(byPath('/fail').every((r) => r.statusCode === 2 && String(r.attributes['http.status_code']) === '500'));
  assert.ok(spans.every((r) => r.name === 'GET' && r.attributes['net.peer.name'] === web.ip && r.endNs > r.startNs));
});
