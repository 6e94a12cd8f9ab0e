// Memcached request tracing end to end, as root on the real kernel: memcached in one stand-in
// container, a scripted text-protocol client in another making a known number of each command
// (storage, hits, misses, add on an existing key, incr, touch, delete, delete of a missing key,
// and incr on a non-number, which memcached answers CLIENT_ERROR). The agent's outbound counters
// for the client and inbound counters for memcached must equal the client's counts exactly, and
// memcached's own `stats` must agree with the client about what it received. Then memcaslap
// (libmemcached-tools) runs a fixed number of gets and sets (1 KiB values, longer than the
// kernel's request prefix) over four connections: its own get/set counts are the truth.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Agent } from '../../agent/src/agent.ts';
import { containerLabel, read, scrape, settle, startAgent, total, type Selection } from './request-counters.ts';
import { eventually, StandInNetwork, type StandInContainer } from './stand-in-containers.ts';

const ROUNDS = 25;

let net: StandInNetwork;
let cache: StandInContainer;
let client: StandInContainer;
let agent: Agent;

/** memcached's counters, read with `stats` from inside its own container (not the client's). */
async function stats(): Promise<Record<string, number>> {
  const script = `const s=require('net').connect(11211,process.argv[1]);let b='';s.on('data',d=>{b+=d;if(b.endsWith('END\\r\\n')){console.log(b);s.end();}});s.write('stats\\r\\n');`;
  const text = await cache.run('node', ['-e', script, cache.ip]);
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^STAT (\w+) (\d+)\r?$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

before(async () => {
  try { execFileSync('sh', ['-c', 'command -v memcached'], { stdio: 'pipe' }); } catch {
    throw new Error('memcached not found: install the Debian package "memcached" (npm run setup -- --test)');
  }
  net = new StandInNetwork('192.168.222');
  cache = net.addContainer('memcache');
  client = net.addContainer('mcclient');
  agent = await startAgent();
  cache.spawn('memcached', ['-u', 'memcache', '-l', cache.ip, '-p', '11211', '-U', '0', '-t', '2', '-m', '16']);
  await eventually('memcached to answer', async () => {
    try { return (await stats()).pid ? true : undefined; } catch { return undefined; }
  });
});

after(async () => {
  await agent?.close();
  await net?.destroy();
});

test('memcached command counts by status equal the client\'s, on both sides', async () => {
  const sel: Selection = {};
  for (const status of ['ok', 'failed', 'unknown']) {
    sel[`out ${status}`] = { name: 'container_memcached_queries_total', labels: { container_id: containerLabel(client.runtimeId), destination: `${cache.ip}:11211`, status } };
    sel[`in ${status}`] = { name: 'container_memcached_inbound_queries_total', labels: { container_id: containerLabel(cache.runtimeId), status } };
  }
  const start = await scrape(agent);
  const baseline = read(start, sel);
  const statsBefore = await stats();

  const truth = JSON.parse(await client.run('node', [join(import.meta.dirname, 'memcached-client.mjs'), cache.ip, '11211', String(ROUNDS)])) as
    { sent: Record<string, number>; replies: Record<string, number> };
  const R = ROUNDS;
  assert.deepEqual(truth, {
    sent: { set: 2 * R, get: 2 * R, add: R, incr: 2 * R, touch: R, delete: 2 * R },
    replies: { STORED: 2 * R, VALUE: R, END: R, NOT_STORED: R, NUMBER: R, CLIENT_ERROR: R, TOUCHED: R, DELETED: R, NOT_FOUND: R },
  }, 'memcached answered each command as the script expects');
  const statsAfter = await stats();
  const d = (k: string) => (statsAfter[k] ?? 0) - (statsBefore[k] ?? 0);
  assert.deepEqual({ get: d('cmd_get'), set: d('cmd_set'), touch: d('cmd_touch'), hits: d('get_hits'), misses: d('get_misses'), deleted: d('delete_hits'), incr: d('incr_hits') },
    { get: 2 * R, set: 3 * R, touch: R, hits: R, misses: R, deleted: R, incr: R }, 'memcached\'s own stats agree with the client');

  // Every reply but CLIENT_ERROR is a successful command: misses (END), NOT_STORED and NOT_FOUND
  // are answers, not failures.
  const failed = truth.replies.CLIENT_ERROR!;
  const ok = Object.values(truth.replies).reduce((a, b) => a + b, 0) - failed;
  const settled = await settle(agent, sel, baseline, { 'out ok': ok, 'out failed': failed, 'out unknown': 0, 'in ok': ok, 'in failed': failed, 'in unknown': 0 });
  const delta = (name: string, labels: Record<string, string>) => total(settled, name, labels) - total(start, name, labels);
  const out_ = { container_id: containerLabel(client.runtimeId), destination: `${cache.ip}:11211` };
  assert.equal(delta('container_memcached_queries_duration_seconds_total_count', out_), ok + failed);
  assert.equal(delta('container_memcached_inbound_queries_duration_seconds_total_count', { container_id: containerLabel(cache.runtimeId) }), ok + failed);
  const mean = delta('container_memcached_queries_duration_seconds_total_sum', out_) / (ok + failed);
  assert.ok(mean > 0 && mean < 1, `mean client latency ${mean} s is positive and below 1 s on a local bridge`);
});

test('memcaslap (libmemcached-tools): get and set counts equal the tool\'s, on both sides', async () => {
  const sel: Selection = {};
  for (const status of ['ok', 'failed', 'unknown']) {
    sel[`out ${status}`] = { name: 'container_memcached_queries_total', labels: { container_id: containerLabel(client.runtimeId), destination: `${cache.ip}:11211`, status } };
    sel[`in ${status}`] = { name: 'container_memcached_inbound_queries_total', labels: { container_id: containerLabel(cache.runtimeId), status } };
  }
  const baseline = read(await scrape(agent), sel);
  const statsBefore = await stats();
  const OPS = 2000;
  const out = await client.run('memcaslap', ['-s', `${cache.ip}:11211`, '-x', String(OPS), '-c', '4', '-T', '1']);
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(out)?.[1] ?? NaN);
  const gets = field('cmd_get'), sets = field('cmd_set');
  assert.equal(gets + sets, OPS, out);
  const statsAfter = await stats();
  assert.deepEqual({ get: statsAfter.cmd_get! - statsBefore.cmd_get!, set: statsAfter.cmd_set! - statsBefore.cmd_set! }, { get: gets, set: sets }, 'memcached\'s stats agree with memcaslap');
  console.error(`memcaslap: ${gets} gets, ${sets} sets, misses ${field('get_misses')}`);
  await settle(agent, sel, baseline, { 'out ok': OPS, 'out failed': 0, 'out unknown': 0, 'in ok': OPS, 'in failed': 0, 'in unknown': 0 });
});
