// DNS request tracing end to end, as root on the real kernel: dnsmasq in one stand-in container
// answers names from a hosts file, NXDOMAIN for other names in its local domain and REFUSED for
// names elsewhere (it has no upstream); a client in another container asks a known plan of
// questions over UDP with node's resolver. container_dns_requests_total{request_type, domain,
// status} of the client and container_dns_inbound_requests_total of dnsmasq must equal the
// client's outcomes exactly, with the domain label normalised (reverse lookups → IP.in-addr.arpa,
// search-path expansions → …search_path_suffix) and AAAA questions answered NOERROR without
// records not counted (reference/node-agent.md §1.5). dnsmasq's query log is a second truth.
// Then dig (connect + sendmmsg + recvmsg, unlike c-ares) asks a batch, and the statuses dig
// prints are the truth.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../agent/src/agent.ts';
import { containerLabel, scrape, settle, startAgent, total, type Selection } from './request-counters.ts';
import { eventually, StandInNetwork, type StandInContainer } from './stand-in-containers.ts';

const SUBNET = '192.168.223';
const DOMAIN = 'rootsight.test';
// [question type, name as asked, times, the domain label it must be counted under]
const PLAN: Array<[string, string, number, string]> = [
  ['A', `web.${DOMAIN}`, 6, `web.${DOMAIN}`],
  ['A', `db.${DOMAIN}`, 4, `db.${DOMAIN}`],
  ['A', `missing.${DOMAIN}`, 5, `missing.${DOMAIN}`],
  ['A', `api.example.com.${DOMAIN}`, 3, 'api.example.com.search_path_suffix'],
  ['AAAA', `v6.${DOMAIN}`, 2, `v6.${DOMAIN}`],
  ['AAAA', `web.${DOMAIN}`, 3, `web.${DOMAIN}`],
  ['PTR', `${SUBNET}.50`, 2, 'IP.in-addr.arpa'],
  ['A', 'elsewhere.example', 2, 'elsewhere.example'],
];
const TYPE_NAMES: Record<string, string> = { A: 'TypeA', AAAA: 'TypeAAAA', PTR: 'TypePTR' };
/** node's resolver error codes → the status label; undefined = not counted. */
function statusOf(type: string, outcome: string): string | undefined {
  if (outcome === 'answers') return 'ok';
  if (outcome === 'ENODATA') return type === 'AAAA' ? undefined : 'ok';
  return { ENOTFOUND: 'nxdomain', EREFUSED: 'refused', ESERVFAIL: 'servfail', EFORMERR: 'format_error', ENOTIMP: 'not_implemented' }[outcome] ?? `unexpected ${outcome}`;
}

let net: StandInNetwork;
let dns: StandInContainer;
let client: StandInContainer;
let agent: Agent;
let queryLog = '';
const work = mkdtempSync(join(tmpdir(), 'rootsight-dns-'));
chmodSync(work, 0o755);

before(async () => {
  try { execFileSync('sh', ['-c', 'command -v dnsmasq'], { stdio: 'pipe' }); } catch {
    throw new Error('dnsmasq not found: install the Debian package "dnsmasq-base" (npm run setup -- --test)');
  }
  net = new StandInNetwork(SUBNET);
  dns = net.addContainer('dnsmasq');
  client = net.addContainer('dnsclient');
  agent = await startAgent();
  const hosts = join(work, 'hosts');
  writeFileSync(hosts, `${SUBNET}.50 web.${DOMAIN}\n${SUBNET}.51 db.${DOMAIN}\nfd00::52 v6.${DOMAIN}\n`);
  chmodSync(hosts, 0o644);
  const child = dns.spawn('dnsmasq', ['--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', `--addn-hosts=${hosts}`,
    `--local=/${DOMAIN}/`, `--listen-address=${dns.ip}`, '--bind-interfaces', '--port=53', '--pid-file=', '--log-queries', '--log-facility=-',
    '--no-negcache', '--cache-size=0']);
  child.stdout?.on('data', (d) => { queryLog += d; });
  child.stderr?.on('data', (d) => { queryLog += d; });
  // Ready when it answers; asked from its own container so the client's counters stay untouched.
  await eventually(() => `dnsmasq to answer; its log: ${queryLog.slice(-1500)}`, async () => {
    try {
      const r = JSON.parse(await dns.run('node', [join(import.meta.dirname, 'dns-client.mjs'), dns.ip, JSON.stringify([['A', `web.${DOMAIN}`, 1]])]));
      return r[`A web.${DOMAIN}`]?.answers === 1 ? true : undefined;
    } catch { return undefined; }
  });
});

after(async () => {
  await agent?.close();
  await net?.destroy();
  rmSync(work, { recursive: true, force: true });
});

test('DNS requests by type, domain and status equal the client\'s outcomes, on both sides', async () => {
  const clientId = containerLabel(client.runtimeId);
  const dnsId = containerLabel(dns.runtimeId);
  // The readiness probe's one answered query must be counted before the baseline is taken.
  const start = await eventually('the readiness probe to be counted', async () => {
    const s = await scrape(agent);
    return total(s, 'container_dns_inbound_requests_total', { container_id: dnsId }) === 1 ? s : undefined;
  });
  const logFrom = queryLog.length;

  const outcomes = JSON.parse(await client.run('node', [join(import.meta.dirname, 'dns-client.mjs'), dns.ip, JSON.stringify(PLAN.map(([t, n, c]) => [t, n, c]))])) as
    Record<string, Record<string, number>>;
  // What the client saw, as the series it must produce.
  const want: Record<string, number> = {};
  for (const [type, name, , domain] of PLAN) {
    for (const [outcome, n] of Object.entries(outcomes[`${type} ${name}`] ?? {})) {
      const status = statusOf(type, outcome);
      if (status === undefined) continue;
      const key = `${TYPE_NAMES[type]} ${domain} ${status}`;
      want[`out ${key}`] = (want[`out ${key}`] ?? 0) + n;
      want[`in ${key}`] = (want[`in ${key}`] ?? 0) + n;
    }
  }
  // The server behaves as configured: hosts-file names answer, unknown local names are NXDOMAIN,
  // an IPv4-only name has no AAAA records, names outside the local domain are refused.
  assert.deepEqual(outcomes, {
    [`A web.${DOMAIN}`]: { answers: 6 }, [`A db.${DOMAIN}`]: { answers: 4 }, [`A missing.${DOMAIN}`]: { ENOTFOUND: 5 },
    [`A api.example.com.${DOMAIN}`]: { ENOTFOUND: 3 }, [`AAAA v6.${DOMAIN}`]: { answers: 2 }, [`AAAA web.${DOMAIN}`]: { ENODATA: 3 },
    [`PTR ${SUBNET}.50`]: { answers: 2 }, ['A elsewhere.example']: { EREFUSED: 2 },
  });
  const asked = [...queryLog.slice(logFrom).matchAll(/query\[(\w+)\] (\S+) from /g)].length;
  assert.equal(asked, PLAN.reduce((a, p) => a + p[2], 0), 'dnsmasq logged one query per question: no retries');

  const sel: Selection = {};
  for (const key of Object.keys(want)) {
    const [side, requestType, domain, status] = key.split(' ') as [string, string, string, string];
    sel[key] = side === 'out'
      ? { name: 'container_dns_requests_total', labels: { container_id: clientId, request_type: requestType, domain, status } }
      : { name: 'container_dns_inbound_requests_total', labels: { container_id: dnsId, request_type: requestType, domain, status } };
  }
  // Nothing beyond the expected series: the totals over all DNS series of each side match too.
  const counted = Object.values(want).reduce((a, b) => a + b, 0) / 2;
  sel['out all'] = { name: 'container_dns_requests_total', labels: { container_id: clientId } };
  sel['in all'] = { name: 'container_dns_inbound_requests_total', labels: { container_id: dnsId } };
  const baseline = Object.fromEntries(Object.entries(sel).map(([k, v]) => [k, total(start, v.name, v.labels)]));
  console.error(`dns: client outcomes ${JSON.stringify(outcomes)}; expected series ${JSON.stringify(want)}`);
  const settled = await settle(agent, sel, baseline, { ...want, 'out all': counted, 'in all': counted });

  const hist = (name: string, labels: Record<string, string>) => total(settled, name, labels) - total(start, name, labels);
  assert.equal(hist('container_dns_requests_duration_seconds_total_count', { container_id: clientId }), counted, 'every counted request is in the latency histogram');
  assert.equal(hist('container_dns_inbound_requests_duration_seconds_total_count', { container_id: dnsId }), counted);
  const webLatency = hist('container_dns_requests_duration_seconds_total_sum', { container_id: clientId, request_type: 'TypeA', domain: `web.${DOMAIN}` });
  assert.ok(webLatency > 0 && webLatency / 6 < 1, `mean latency of web.${DOMAIN} ${webLatency / 6} s is positive and below 1 s`);
  const buckets = settled.filter((s) => s.name === 'container_dns_requests_duration_seconds_total_bucket' && s.labels.container_id === clientId && s.labels.domain === `web.${DOMAIN}`);
  assert.ok(buckets.length > 5 && buckets.some((b) => b.labels.le === '+Inf'), 'a latency histogram with buckets per domain');

  // The answers' addresses, named by the questions that got them (ip_to_fqdn); nothing from NXDOMAIN, REFUSED or reverse lookups.
  const pairs = settled.filter((x) => x.name === 'ip_to_fqdn' && x.labels.fqdn?.endsWith(DOMAIN)).map((x) => `${x.labels.ip} ${x.labels.fqdn} ${x.value}`).sort();
  assert.deepEqual(pairs, [`${SUBNET}.50 web.${DOMAIN} 1`, `${SUBNET}.51 db.${DOMAIN} 1`, `fd00::52 v6.${DOMAIN} 1`]);
});

/**
 * dig asks a batch, one try per question so that its output has one header per query (names in
 * the test domain starting "no" do not exist, names outside it are refused); each answer's status as dig
 * prints it must be counted exactly on both sides. `args`: dig's transport options.
 */
async function digBatch(asked: Array<[string, number]>, args: string[]): Promise<void> {
  const clientId = containerLabel(client.runtimeId);
  const dnsId = containerLabel(dns.runtimeId);
  const batch = join(work, 'dig-batch');
  writeFileSync(batch, asked.flatMap(([name, n]) => Array.from({ length: n }, () => `${name} A\n`)).join(''));
  chmodSync(batch, 0o644);
  const sel: Selection = {};
  for (const [name] of asked) {
    for (const status of ['ok', 'nxdomain', 'refused']) {
      sel[`out ${name} ${status}`] = { name: 'container_dns_requests_total', labels: { container_id: clientId, request_type: 'TypeA', domain: name, status } };
      sel[`in ${name} ${status}`] = { name: 'container_dns_inbound_requests_total', labels: { container_id: dnsId, request_type: 'TypeA', domain: name, status } };
    }
  }
  const start = await scrape(agent);
  const baseline = Object.fromEntries(Object.entries(sel).map(([k, v]) => [k, total(start, v.name, v.labels)]));
  const out = await client.run('dig', [`@${dns.ip}`, '-f', batch, '+tries=1', '+time=5', '+noall', '+comments', ...args]).catch((e: Error) => e.message);
  const statuses = [...out.matchAll(/status: (\w+),/g)].map((m) => m[1]!);
  const expected = asked.flatMap(([name, n]) => Array.from({ length: n }, () => name.endsWith(DOMAIN) ? (name.startsWith('no') ? 'NXDOMAIN' : 'NOERROR') : 'REFUSED'));
  assert.deepEqual(statuses, expected, out);
  const label: Record<string, string> = { NOERROR: 'ok', NXDOMAIN: 'nxdomain', REFUSED: 'refused' };
  const want: Record<string, number> = Object.fromEntries(Object.keys(sel).map((k) => [k, 0]));
  let i = 0;
  for (const [name, n] of asked) {
    for (let j = 0; j < n; j++, i++) {
      const status = label[statuses[i]!]!;
      want[`out ${name} ${status}`]! += 1;
      want[`in ${name} ${status}`]! += 1;
    }
  }
  await settle(agent, sel, baseline, want);
}

test('dig (bind9-dnsutils): each answer\'s status, as dig prints it, counted exactly on both sides', async () => {
  await digBatch([[`db.${DOMAIN}`, 4], [`nothing.${DOMAIN}`, 3], ['outside.example', 2]], []);
});

test('DNS over TCP (dig +tcp, a connection per question; dnsmasq answers each in a child process that reads the length first): counted exactly on both sides', async () => {
  await digBatch([[`web.${DOMAIN}`, 5], [`nowhere.${DOMAIN}`, 3], ['tcp.example', 2]], ['+tcp']);
});
