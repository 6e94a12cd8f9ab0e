// FQDN mode end to end, as root on the real kernel: dnsmasq answers each of NAMES with two public
// addresses, one on each of two nginx containers (203.0.113.0/24, inside namespaces this test
// made); a client resolves each name and at once makes a request to each of its addresses, on a
// new connection each (the answer and the connect reach the agent through different ring buffers,
// and the connect may be applied first). The agent must label every connection and request
// destination="<name>:80" without actual_destination (one series per pool, not per address),
// count them exactly, and publish every ip_to_fqdn pair; the service map names the targets.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../agent/src/agent.ts';
import { startServer, type RunningServer } from '../../server/src/main.ts';
import { startNginx } from './nginx.ts';
import { eventually, StandInNetwork, type StandInContainer } from './stand-in-containers.ts';
import { parseExposition, pick } from './scrape.ts';

const NAMES = Array.from({ length: 8 }, (_, i) => `cdn${i}.rootsight.test`);
let net: StandInNetwork;
let dns: StandInContainer;
let webs: StandInContainer[];
let client: StandInContainer;
let agent: Agent;
let server: RunningServer;
const answers: Record<string, string[]> = {};
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
  // Each name's pair of addresses is new to the agent when the client resolves it.
  NAMES.forEach((name, i) => webs.forEach((w, k) => {
    const address = `203.0.113.${100 + 20 * k + i}`;
    execFileSync('ip', ['-n', w.netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
    (answers[name] ??= []).push(address);
  }));
  const hosts = join(work, 'hosts');
  writeFileSync(hosts, Object.entries(answers).flatMap(([name, addresses]) => addresses.map((a) => `${a} ${name}\n`)).join(''));
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

test('connections and requests to public pools behind names, made right after each answer, are one series per name, counted exactly', async () => {
  const clientId = `/docker/${client.runtimeId.slice(0, 12)}`;
  const out = await eventually('the client to resolve and finish', async () => {
    try { return JSON.parse(await client.run('node', [join(import.meta.dirname, 'resolving-http-client.mjs'), dns.ip, '80', ...NAMES])) as { answers: Record<string, string[]>; statuses: Record<string, number> }; } catch { return undefined; }
  });
  assert.deepEqual(out, { answers, statuses: { 200: 2 * NAMES.length } }, 'the client resolved every name and got an answer from each address');

  const scrape = async () => parseExposition(await (await fetch(`${agent.url}/metrics`)).text());
  const perName = (m: ReturnType<typeof parseExposition>, metric: string, extra: Record<string, string> = {}) =>
    NAMES.map((name) => pick(m, metric, { container_id: clientId, destination: `${name}:80`, ...extra })[0]?.value);
  let seen = '';
  const s = await eventually(() => `2 connects and 2 requests under each name; last seen ${seen}`, async () => {
    const m = await scrape();
    seen = JSON.stringify(m.filter((x) => x.labels.container_id === clientId && /tcp_successful|http_requests_total/.test(x.name)));
    const done = [...perName(m, 'container_net_tcp_successful_connects_total'), ...perName(m, 'container_http_requests_total', { status: '2xx' })].every((v) => v === 2);
    return done ? m : undefined;
  });
  const mine = s.filter((x) => x.labels.container_id === clientId && (x.name.startsWith('container_net_tcp_') || x.name.startsWith('container_http_')));
  assert.deepEqual([...new Set(mine.map((x) => x.labels.destination))].sort(), NAMES.map((n) => `${n}:80`).sort(), 'no series per address');
  assert.ok(mine.every((x) => x.labels.actual_destination === undefined), 'no actual_destination in FQDN mode');
  const pairs = s.filter((x) => x.name === 'ip_to_fqdn' && NAMES.includes(x.labels.fqdn!)).map((x) => `${x.labels.fqdn} ${x.labels.ip}`).sort();
  assert.deepEqual(pairs, Object.entries(answers).flatMap(([name, addresses]) => addresses.map((a) => `${name} ${a}`)).sort());

  await agent.pushNow();
  const map = await (await fetch(`${server.url}/api/service-map?window=300`)).json() as { edges: Array<{ source: string; target: string; connects: number }> };
  const fromClient = map.edges.filter((e) => e.source === clientId).map((e) => [e.target, e.connects]).sort();
  assert.deepEqual(fromClient, NAMES.map((n) => [`external:${n}:80`, 2]).sort(), JSON.stringify(map.edges));
});
