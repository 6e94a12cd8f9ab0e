// Latency fidelity end to end: a server in one stand-in container answers after known delays, a
// client in another measures every request. The agent's latency histogram for the client's
// outbound requests must agree with the client: the same count, a mean within 10%, and p50/p99
// (interpolated like PromQL's histogram_quantile) within one bucket of the client's own.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Agent } from '../../agent/src/agent.ts';
import { read, scrape, settle, startAgent, type Selection } from './request-counters.ts';
import { eventually, StandInNetwork, type StandInContainer } from './stand-in-containers.ts';
import type { ScrapedSample } from './scrape.ts';

const PORT = 8080;
const FAST = { path: '/wait/15', n: 60 }, SLOW = { path: '/wait/120', n: 40 };
let net: StandInNetwork;
let web: StandInContainer;
let client: StandInContainer;
let agent: Agent;

before(async () => {
  net = new StandInNetwork('192.168.232');
  web = net.addContainer('latweb');
  client = net.addContainer('latclient');
  agent = await startAgent();
  web.spawn(process.execPath, [join(import.meta.dirname, 'delayed-http-server.mjs'), String(PORT)], { stdio: 'inherit' });
});

after(async () => {
  await agent?.close();
  await net?.destroy();
});

/** PromQL's histogram_quantile over cumulative (le, count) buckets: linear within a bucket. */
function quantile(q: number, buckets: Array<{ le: number; count: number }>): number {
  const total = buckets[buckets.length - 1]!.count;
  const rank = q * total;
  let prevLe = 0, prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) return b.le === Infinity ? prevLe : prevLe + (b.le - prevLe) * ((rank - prevCount) / (b.count - prevCount));
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

/** Index of the bucket a value falls in (upper bounds inclusive, as `le` is). */
const bucketOf = (v: number, bounds: number[]) => bounds.findIndex((le) => v <= le);

test('the agent\'s latency histogram agrees with the client: count exact, mean within 10%, p50 and p99 within one bucket', async (t) => {
  await eventually('the server to answer', async () => {
    try { await web.run('curl', ['-sf', '-o', '/dev/null', `http://127.0.0.1:${PORT}/wait/0`]); return true; } catch { return undefined; }
  });
  const clientId = `/docker/${client.runtimeId.slice(0, 12)}`;
  const dest = { container_id: clientId, destination: `${web.ip}:${PORT}` };
  const sel: Selection = { count: { name: 'container_http_requests_duration_seconds_total_count', labels: dest } };
  const base = read(await scrape(agent), sel);
  const measure = async (p: { path: string; n: number }) =>
    JSON.parse(await client.run(process.execPath, [join(import.meta.dirname, 'latency-client.mjs'), web.ip, String(PORT), String(p.n), p.path])) as number[];
  const all = [...await measure(FAST), ...await measure(SLOW)].sort((a, b) => a - b);
  assert.equal(all.length, FAST.n + SLOW.n);
  const samples: ScrapedSample[] = await settle(agent, sel, base, { count: FAST.n + SLOW.n });

  const mine = samples.filter((s) => s.labels.container_id === clientId && s.labels.destination === dest.destination);
  const buckets = mine.filter((s) => s.name === 'container_http_requests_duration_seconds_total_bucket')
    .map((s) => ({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), count: s.value }))
    .sort((a, b) => a.le - b.le);
  assert.ok(buckets.length >= 5, 'histogram buckets exported');
  assert.equal(buckets[buckets.length - 1]!.count, FAST.n + SLOW.n, 'every request in the histogram (a fresh series)');
  const sum = mine.find((s) => s.name === 'container_http_requests_duration_seconds_total_sum')!.value;

  const clientMean = all.reduce((a, b) => a + b, 0) / all.length / 1000;
  const agentMean = sum / (FAST.n + SLOW.n);
  assert.ok(Math.abs(agentMean - clientMean) / clientMean <= 0.10, `mean: agent ${agentMean * 1000} ms, client ${clientMean * 1000} ms`);
  const figures = [`mean agent ${(agentMean * 1000).toFixed(2)} ms / client ${(clientMean * 1000).toFixed(2)} ms`];

  const bounds = buckets.map((b) => b.le);
  for (const q of [0.5, 0.99]) {
    const client = all[Math.min(all.length - 1, Math.ceil(q * all.length) - 1)]! / 1000;
    const agentQ = quantile(q, buckets);
    const within10 = Math.abs(agentQ - client) / client <= 0.10;
    const withinBucket = Math.abs(bucketOf(agentQ, bounds) - bucketOf(client, bounds)) <= 1;
    figures.push(`p${q * 100} agent ${(agentQ * 1000).toFixed(2)} ms / client ${(client * 1000).toFixed(2)} ms`);
    assert.ok(within10 || withinBucket, `p${q * 100}: agent ${agentQ * 1000} ms, client ${client * 1000} ms`);
  }
  t.diagnostic(figures.join('; '));
});
