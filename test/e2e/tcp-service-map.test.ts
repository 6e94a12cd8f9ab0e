// The walking skeleton end to end, as root on the real kernel: nginx in one
// stand-in container, a client in another making exactly N good and M refused
// connections; the agent's counters, the server's query API and the service
// map must all say N and M.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../agent/src/agent.ts';
import { startServer } from '../../server/src/main.ts';
import { startNginx } from './nginx.ts';
import { eventually, StandInNetwork, type StandInContainer } from './stand-in-containers.ts';
import { parseExposition, pick, promtoolComplaints } from './scrape.ts';

const N = 40;
const M = 7;
const SUBNET = '192.168.213';

let net: StandInNetwork;
let web: StandInContainer;
let client: StandInContainer;
let agent: Agent;
let server: { url: string; close(): Promise<void> };
const work = mkdtempSync(join(tmpdir(), 'rootsight-e2e-'));

async function scrape() {
  return parseExposition(await (await fetch(`${agent.url}/metrics`)).text());
}

before(async () => {
  net = new StandInNetwork(SUBNET);
  web = net.addContainer('web');
  client = net.addContainer('client');
  server = await startServer({ listen: '127.0.0.1:0', dataDir: join(work, 'data'), log: () => {} });
  agent = await Agent.start({
    listen: '127.0.0.1:0', collectorEndpoint: server.url, cgroupfsRoot: '/sys/fs/cgroup',
    scrapeIntervalMs: 3_600_000, ephemeralPortRange: '32768-60999', minContainerAgeMs: 0, log: (m) => console.error(`agent: ${m}`),
  });
  // Started after the agent, so the listen is seen by the kernel program as it happens.
  startNginx(web, work, `location / { return 200 "hello from web\\n"; }`, 2);
});

after(async () => {
  await agent?.close();
  await server?.close();
  await net?.destroy();
});

test('agent counts exactly N successful and M refused connections, and the server agrees', async () => {
  const webId = `/docker/${web.runtimeId.slice(0, 12)}`;
  const clientId = `/docker/${client.runtimeId.slice(0, 12)}`;
  const listenAddr = `${web.ip}:80`;

  await eventually('nginx listening and seen by the agent', async () => {
    const s = pick(await scrape(), 'container_net_tcp_listen_info', { container_id: webId, listen_addr: listenAddr });
    return s.length === 1 && s[0]!.value === 1 ? true : undefined;
  });
  const capabilities = await (await fetch(`${agent.url}/capabilities`)).json() as { programs: Array<{ program: string; attached: boolean; targets?: string[] }> };
  // Uprobe programs (targets) attach per binary, when a process maps OpenSSL.
  assert.ok(capabilities.programs.length > 0 && capabilities.programs.every((p) => p.attached || p.targets), `every kernel program attached: ${JSON.stringify(capabilities.programs)}`);

  // Baseline: the client has not connected anywhere yet.
  const before = await scrape();
  assert.equal(pick(before, 'container_net_tcp_successful_connects_total', { container_id: clientId }).length, 0);

  const out = await client.run('node', [join(import.meta.dirname, 'tcp-client.mjs'), web.ip, '80', '81', String(N), String(M)]);
  const truth = JSON.parse(out) as { ok: number; refused: number; other: number };
  assert.deepEqual({ ok: truth.ok, refused: truth.refused, other: truth.other }, { ok: N, refused: M, other: 0 }, 'the load tool itself saw N and M');

  const dest = { container_id: clientId, destination: listenAddr };
  let seen = '';
  const settled = await eventually(() => `agent counters to reach N and M with no connection left open; last seen ${seen}`, async () => {
    const s = await scrape();
    seen = JSON.stringify(s.filter((x) => x.name.startsWith('container_net_tcp') || x.name.startsWith('rootsight_agent_skipped')));
    const ok = pick(s, 'container_net_tcp_successful_connects_total', dest)[0]?.value;
    const failed = pick(s, 'container_net_tcp_failed_connects_total', { container_id: clientId, destination: `${web.ip}:81` })[0]?.value;
    const active = pick(s, 'container_net_tcp_active_connections', dest)[0]?.value;
    return ok === N && failed === M && active === 0 ? s : undefined;
  });
  // Exactly N and M, and nothing the client did shows up anywhere else.
  const clientSeries = settled.filter((x) => x.labels.container_id === clientId && x.name.startsWith('container_net_tcp_'));
  assert.deepEqual([...new Set(clientSeries.map((x) => x.labels.destination))].sort(), [listenAddr, `${web.ip}:81`].sort());
  assert.equal(pick(settled, 'container_net_tcp_successful_connects_total', dest)[0]!.labels.actual_destination, listenAddr);
  const connectTime = pick(settled, 'container_net_tcp_connection_time_seconds_total', dest)[0]!.value;
  assert.ok(connectTime > 0 && connectTime < N, `connect time ${connectTime}s is positive and plausible`);
  assert.ok(pick(settled, 'container_net_tcp_bytes_received_total', dest)[0]!.value > 0, 'bytes received counted at close');
  assert.ok(pick(settled, 'container_net_tcp_bytes_sent_total', dest)[0]!.value >= N * 30, 'bytes sent: at least the N requests');
  assert.equal(pick(settled, 'container_info', { container_id: webId }).length, 1);
  assert.equal(pick(settled, 'node_info', {}).length, 1);
  assert.equal(pick(settled, 'rootsight_agent_ringbuf_lost_events_total', {})[0]!.value, 0);

  assert.deepEqual(promtoolComplaints(await (await fetch(`${agent.url}/metrics`)).text()), [], 'promtool check metrics');

  // The same numbers through remote write, storage and the query API.
  await agent.pushNow();
  const query = async (q: string) => {
    const res = await fetch(`${server.url}/prometheus/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = await res.json() as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    assert.equal(body.status, 'success', JSON.stringify(body));
    return body.data.result;
  };
  const okSeries = await query(`container_net_tcp_successful_connects_total{container_id="${clientId}",destination="${listenAddr}"}`);
  assert.equal(okSeries.length, 1);
  assert.equal(Number(okSeries[0]!.value[1]), N);
  const failedSum = await query(`sum by (container_id) (container_net_tcp_failed_connects_total{container_id=~"/docker/.*",destination!="${listenAddr}"})`);
  assert.deepEqual(failedSum.map((r) => [r.metric.container_id, Number(r.value[1])]), [[clientId, M]]);

  // The service map: one edge client → web carrying N connects and M failures, and nothing else between them.
  const map = await (await fetch(`${server.url}/api/service-map?window=300`)).json() as {
    applications: Array<{ id: string }>; edges: Array<{ source: string; target: string; connects: number; failures: number; status: string }>;
  };
  const ids = map.applications.map((a) => a.id);
  assert.ok(ids.includes(webId) && ids.includes(clientId), `applications: ${ids.join(', ')}`);
  const between = map.edges.filter((e) => [e.source, e.target].every((x) => x === webId || x === clientId));
  assert.equal(between.length, 1, `edges between client and web: ${JSON.stringify(map)}`);
  assert.deepEqual(between[0], { ...between[0], source: clientId, target: webId, connects: N, failures: M, status: 'critical' });
  assert.equal(map.edges.filter((e) => e.source === clientId).length, 1, 'no phantom edge from the client');
});
