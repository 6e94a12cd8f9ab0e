// FQDN mode end to end, as root on the real kernel: dnsmasq answers cdn.rootsight.test with the
// public addresses of two nginx containers (203.0.113.0/24, inside namespaces this test made);
// a client resolves the name and makes N requests to the two addresses in turn. The agent must
// label its connections and requests destination="cdn.rootsight.test:80" without
// actual_destination (one series for the pool, not one per address), count them exactly, and
// publish both ip_to_fqdn pairs; the service map names the target by the name.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../agent/src/agent.ts';
import { startServer, type RunningServer } from '../../server/src/main.ts';
import { startNginx } from './nginx.ts';
import { eventually, StandInNetwork, type StandInContainer } from './stand-in-containers.ts';
import { parseExposition, pick } from './scrape.ts';

const N = 16;
const NAME = 'cdn.rootsight.test';
let net: StandInNetwork;
let dns: StandInContainer;
let webs: StandInContainer[];
let client: StandInContainer;
let agent: Agent;
let server: RunningServer;
const work = mkdtempSync(join(tmpdir(), 'rootsight-fqdn-'));
chmodSync(work, 0o755);

before(async () => {
  net = new StandInNetwork('203.0.113');
  dns = net.addContainer('dnsmasq');
  webs = [net.addContainer('cdn1'), net.addContainer('cdn2')];
  client = net.addContainer('fqdnclient');
  server = await startServer({ listen: '127.0.0.1:0', dataDir: join(work, 'data'), log: () => {} });
  agent = await Agent.start({
    listen: '127.0.0.1:0', collectorEndpoint: server.url, cgroupfsRoot: '/sys/fs/cgroup', scrapeIntervalMs: 3_600_000,
    ephemeralPortRange: '32768-60999', minContainerAgeMs: 0, log: (m) => console.error(`agent: ${m}`),
  });
  const hosts = join(work, 'hosts');
  writeFileSync(hosts, webs.map((w) => `${w.ip} ${NAME}\n`).join(''));
  chmodSync(hosts, 0o644);
  dns.spawn('dnsmasq', ['--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', `--addn-hosts=${hosts}`,
    '--local=/rootsight.test/', `--listen-address=${dns.ip}`, '--bind-interfaces', '--port=53', '--pid-file=', '--cache-size=0']);
  for (const web of webs) {
    const dir = join(work, web.name);
    mkdirSync(dir);
    startNginx(web, dir, `location = / { return 200 "${web.name}\\n"; }`);
    await eventually(`${web.name} to answer`, async () => {
      try { await web.run('curl', ['-sf', '-o', '/dev/null', 'http://127.0.0.1/']); return true; } catch { return undefined; }
    });
  }
});

after(async () => {
  await agent?.close();
  await server?.close();
  await net?.destroy();
});

test('connections and requests to a public pool behind a name are one series under the name, counted exactly', async () => {
  const clientId = `/docker/${client.runtimeId.slice(0, 12)}`;
  const out = await eventually('the client to resolve and finish', async () => {
    try { return JSON.parse(await client.run('node', [join(import.meta.dirname, 'resolving-http-client.mjs'), dns.ip, NAME, '80', String(N)])) as { addresses: string[]; statuses: Record<string, number> }; } catch { return undefined; }
  });
  assert.deepEqual(out, { addresses: webs.map((w) => w.ip).sort(), statuses: { 200: N } }, 'the client resolved both and got N answers');

  const scrape = async () => parseExposition(await (await fetch(`${agent.url}/metrics`)).text());
  const dest = { container_id: clientId, destination: `${NAME}:80` };
  let seen = '';
  const s = await eventually(() => `counts under ${NAME}:80; last seen ${seen}`, async () => {
    const m = await scrape();
    const got = { connects: pick(m, 'container_net_tcp_successful_connects_total', dest)[0]?.value, requests: pick(m, 'container_http_requests_total', { ...dest, status: '2xx' })[0]?.value };
    seen = JSON.stringify(m.filter((x) => x.labels.container_id === clientId && /tcp_successful|http_requests_total/.test(x.name)));
    return got.connects === N && got.requests === N ? m : undefined;
  });
  const mine = s.filter((x) => x.labels.container_id === clientId && (x.name.startsWith('container_net_tcp_') || x.name.startsWith('container_http_')));
  assert.deepEqual([...new Set(mine.map((x) => x.labels.destination))], [`${NAME}:80`], 'no series per address');
  assert.ok(mine.every((x) => x.labels.actual_destination === undefined), 'no actual_destination in FQDN mode');
  assert.deepEqual(s.filter((x) => x.name === 'ip_to_fqdn' && x.labels.fqdn === NAME).map((x) => x.labels.ip).sort(), webs.map((w) => w.ip).sort());

  await agent.pushNow();
  const map = await (await fetch(`${server.url}/api/service-map?window=300`)).json() as { edges: Array<{ source: string; target: string; connects: number }> };
  const fromClient = map.edges.filter((e) => e.source === clientId);
  assert.deepEqual(fromClient.map((e) => [e.target, e.connects]), [[`external:${NAME}:80`, N]], JSON.stringify(map.edges));
});
