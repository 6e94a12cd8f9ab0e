// actual_destination end to end, as root on the real kernel: a client container dials a virtual
// address (as a Kubernetes Service's ClusterIP) that an nftables DNAT rule in its namespace sends
// to two nginx containers in turn. The agent must report the dialled address as destination and
// the backend each connection really reached as actual_destination, with counts equal to the
// client's own for connections and HTTP requests alike, no series for the virtual address as a
// backend, spans that name the backend, and a service map whose edges go to the two nginx
// containers, not to an external node. A keep-alive connection through the same address opened
// before the agent started must be found at its start: active under its backend, and its
// requests counted there.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../agent/src/agent.ts';
import { startServer, type RunningServer } from '../../server/src/main.ts';
import { startNginx } from './nginx.ts';
import { eventually, StandInNetwork, type StandInContainer } from './stand-in-containers.ts';
import { parseExposition, pick } from './scrape.ts';

/** Connections (one request each) per path: 200s and 404s. */
const OK = 24, MISSING = 10;
const SERVICE_IP = '10.96.0.10';
const SERVICE = `${SERVICE_IP}:80`;

let net: StandInNetwork;
let webs: StandInContainer[];
let client: StandInContainer;
let agent: Agent;
let server: RunningServer;
let oldClient: ChildProcess;
let oldClientLines: AsyncIterator<string>;
const work = mkdtempSync(join(tmpdir(), 'rootsight-nat-'));

before(async () => {
  net = new StandInNetwork('192.168.234');
  webs = [net.addContainer('web1'), net.addContainer('web2')];
  client = net.addContainer('client');
  // The virtual address: routed out of the client's eth0, rewritten by conntrack to each backend in turn.
  execFileSync('ip', ['-n', client.netns, 'route', 'add', '10.96.0.0/16', 'dev', 'eth0']);
  execFileSync('ip', ['netns', 'exec', client.netns, 'nft', '-f', '-'], {
    input: `table ip rs_service {
  chain out { type nat hook output priority -100; ip daddr ${SERVICE_IP} tcp dport 80 dnat to numgen inc mod 2 map { 0 : ${webs[0]!.ip}, 1 : ${webs[1]!.ip} }; }
}
`,
  });
  for (const web of webs) {
    const dir = join(work, web.name);
    mkdirSync(dir);
    startNginx(web, dir, `location = / { return 200 "${web.name}\\n"; }
    location = /missing { return 404 "${web.name}\\n"; }`);
  }
  // Readiness is probed from inside each web container: the client's counters start untouched.
  for (const web of webs) {
    await eventually(`${web.name} to answer`, async () => {
      try { await web.run('curl', ['-sf', '-o', '/dev/null', 'http://127.0.0.1/']); return true; } catch { return undefined; }
    });
  }
  // A keep-alive connection through the virtual address, opened before the agent starts: no connect event will name its backend.
  oldClient = client.spawn(process.execPath, [join(import.meta.dirname, 'paced-http-client.mjs'), SERVICE_IP, '80', '/'], { stdio: 'pipe' });
  oldClientLines = createInterface({ input: oldClient.stdout! })[Symbol.asyncIterator]();
  assert.equal((await oldClientLines.next()).value, 'ready');

  server = await startServer({ listen: '127.0.0.1:0', dataDir: join(work, 'data'), log: () => {} });
  agent = await Agent.start({
    listen: '127.0.0.1:0', collectorEndpoint: server.url, cgroupfsRoot: '/sys/fs/cgroup', scrapeIntervalMs: 3_600_000,
    ephemeralPortRange: '32768-60999', minContainerAgeMs: 0, log: (m) => console.error(`agent: ${m}`),
  });
});

after(async () => {
  oldClient?.stdin?.end();
  await agent?.close();
  await server?.close();
  await net?.destroy();
});

test('connections and requests to a DNAT\'ed address carry the backend each reached as actual_destination', async () => {
  const clientId = `/docker/${client.runtimeId.slice(0, 12)}`;
  const webIds = webs.map((w) => `/docker/${w.runtimeId.slice(0, 12)}`);
  const backendOf = (name: string) => `${webs.find((w) => w.name === name)!.ip}:80`;

  // Ground truth: which backend answered each request, with which status, as the client saw it.
  const truth: Record<string, Record<string, number>> = {};
  for (const [path, n] of [['/', OK], ['/missing', MISSING]] as const) {
    const seen = JSON.parse(await client.run('node', [join(import.meta.dirname, 'backend-client.mjs'), SERVICE_IP, '80', String(n), path])) as Record<string, Record<string, number>>;
    for (const [backend, byStatus] of Object.entries(seen)) for (const [status, count] of Object.entries(byStatus)) {
      (truth[backend] ??= {})[status] = (truth[backend]![status] ?? 0) + count;
    }
  }
  assert.deepEqual(Object.keys(truth).sort(), ['web1', 'web2'], `both backends answered: ${JSON.stringify(truth)}`);
  const total = (b: string) => Object.values(truth[b]!).reduce((a, x) => a + x, 0);
  assert.equal(total('web1') + total('web2'), OK + MISSING);

  const scrape = async () => parseExposition(await (await fetch(`${agent.url}/metrics`)).text());
  let seen = '';
  const settled = await eventually(() => `per-backend counts to match ${JSON.stringify(truth)}; last seen ${seen}`, async () => {
    const s = await scrape();
    const got: Record<string, Record<string, number>> = {};
    for (const name of ['web1', 'web2']) {
      const at = { container_id: clientId, destination: SERVICE, actual_destination: backendOf(name) };
      const byStatus: Record<string, number> = { connects: pick(s, 'container_net_tcp_successful_connects_total', at)[0]?.value ?? 0 };
      for (const status of ['2xx', '4xx']) byStatus[status] = pick(s, 'container_http_requests_total', { ...at, status })[0]?.value ?? 0;
      got[name] = byStatus;
    }
    seen = JSON.stringify(got) + JSON.stringify(s.filter((x) => x.labels.container_id === clientId && x.name === 'container_http_requests_total'));
    const want = Object.fromEntries(['web1', 'web2'].map((b) => [b, { connects: total(b), '2xx': truth[b]!['200'] ?? 0, '4xx': truth[b]!['404'] ?? 0 }]));
    return JSON.stringify(got) === JSON.stringify(want) ? s : undefined;
  });

  // Nothing of the client's names the virtual address as where a connection went, or any other destination.
  const clientSeries = settled.filter((x) => x.labels.container_id === clientId && (x.name.startsWith('container_net_tcp_') || x.name.startsWith('container_http_')));
  assert.deepEqual([...new Set(clientSeries.map((x) => x.labels.destination))], [SERVICE]);
  assert.deepEqual([...new Set(clientSeries.map((x) => x.labels.actual_destination).filter(Boolean))].sort(), webs.map((w) => `${w.ip}:80`).sort());
  const translated = pick(settled, 'rootsight_agent_nat_lookups_total', { result: 'translated' })[0]?.value ?? 0;
  assert.ok(translated >= OK + MISSING, `conntrack translations: ${translated}`);
  assert.equal(pick(settled, 'rootsight_agent_nat_lookups_total', { result: 'error' })[0]?.value, 0);
  // The servers' side is unchanged by NAT: each counts the requests it answered.
  for (const [i, web] of webs.entries()) {
    assert.equal(pick(settled, 'container_http_inbound_requests_total', { container_id: webIds[i]!, status: '2xx' })[0]?.value, truth[web.name]!['200'] ?? 0, `${web.name}: the client's 200s`);
  }

  // Each request's span names the backend it reached as its peer (net.peer.*), with the path.
  await agent.pushNow();
  const spans = await eventually('the client\'s spans stored', async () => {
    const rows = (await server.telemetry!.store.selectSpans({ serviceName: clientId, limit: 1000 })).filter((r) => r.kind === 3);
    return rows.length >= OK + MISSING ? rows : undefined;
  });
  const spanCounts: Record<string, Record<string, number>> = {};
  for (const r of spans) {
    const web = webs.find((w) => w.ip === r.attributes['net.peer.name']);
    const backend = web?.name ?? String(r.attributes['net.peer.name']);
    assert.equal(String(r.attributes['net.peer.port']), '80');
    const status = String(r.attributes['http.status_code']);
    (spanCounts[backend] ??= {})[status] = (spanCounts[backend]![status] ?? 0) + 1;
  }
  assert.deepEqual(spanCounts, truth, 'spans per backend and status equal the client\'s');

  // The service map resolves the virtual address to the two containers behind it.
  const map = await (await fetch(`${server.url}/api/service-map?window=300`)).json() as { edges: Array<{ source: string; target: string; connects: number; destinations: string[] }> };
  const fromClient = map.edges.filter((e) => e.source === clientId).sort((a, b) => a.target.localeCompare(b.target));
  assert.deepEqual(fromClient.map((e) => [e.target, e.connects, e.destinations]), webIds.map((id, i) => [id, total(webs[i]!.name), [SERVICE]]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    `edges from the client: ${JSON.stringify(map.edges)}`);
});

test('requests on a connection through the virtual address opened before the agent started carry its backend too', async () => {
  const clientId = `/docker/${client.runtimeId.slice(0, 12)}`;
  const scrape = async () => parseExposition(await (await fetch(`${agent.url}/metrics`)).text());
  const before = await scrape();
  const inbound = (s: Awaited<ReturnType<typeof scrape>>, w: StandInContainer) => pick(s, 'container_http_inbound_requests_total', { container_id: `/docker/${w.runtimeId.slice(0, 12)}`, status: '2xx' })[0]?.value ?? 0;
  const outbound = (s: Awaited<ReturnType<typeof scrape>>, actual: string) => pick(s, 'container_http_requests_total', { container_id: clientId, destination: SERVICE, actual_destination: actual, status: '2xx' })[0]?.value ?? 0;

  const N = 20;
  oldClient.stdin!.write(`go ${N}\n`);
  assert.deepEqual(JSON.parse((await oldClientLines.next()).value as string), { 200: N }, 'the old connection carried the requests');
  // Ground truth for the backend: the web container that served N more requests.
  let seen = '';
  await eventually(() => `the old connection's requests under its backend; last seen ${seen}`, async () => {
    const s = await scrape();
    const served = webs.filter((w) => inbound(s, w) - inbound(before, w) === N);
    const counted = Object.fromEntries([...webs.map((w) => `${w.ip}:80`), SERVICE].map((a) => [a, outbound(s, a) - outbound(before, a)]));
    seen = JSON.stringify({ served: served.map((w) => w.name), counted });
    if (served.length !== 1) return undefined;
    const want = Object.fromEntries([...webs.map((w) => `${w.ip}:80`), SERVICE].map((a) => [a, a === `${served[0]!.ip}:80` ? N : 0]));
    if (JSON.stringify(counted) !== JSON.stringify(want)) return undefined;
    // The connection itself, found in /proc at the agent's start, is active under the same backend.
    const active = pick(s, 'container_net_tcp_active_connections', { container_id: clientId, destination: SERVICE, actual_destination: `${served[0]!.ip}:80` })[0]?.value;
    return active === 1 ? true : undefined;
  });
});
