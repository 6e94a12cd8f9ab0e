// Redis request tracing end to end, as root on the real kernel: redis-server in one stand-in
// container; in another, redis-benchmark makes a known number of SET and GET commands and
// redis-cli sends a known number of commands that fail (-ERR: INCR of a non-number, an unknown
// command). container_redis_queries_total (client, outbound) and
// container_redis_inbound_queries_total (server) must equal the tools' counts exactly by status,
// and the server's own INFO commandstats/errorstats must agree with those counts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Agent } from '../../agent/src/agent.ts';
import { eventually, StandInNetwork, type StandInContainer } from './stand-in-containers.ts';
import { containerLabel, read, scrape, settle, startAgent, type Selection } from './request-counters.ts';

const PORT = 6379;
const BENCH_REQUESTS = 300; // per benchmark test: SET and GET
const FAILING_INCR = 23;
const UNKNOWN_COMMANDS = 12;
const OK_GETS_BY_CLI = 9;
const OVERLAP_ROUNDS = 40; // of 5 commands, each its own write, written before any reply is read
let net: StandInNetwork;
let redis: StandInContainer;
let client: StandInContainer;
let agent: Agent;

before(async () => {
  net = new StandInNetwork('192.168.225');
  redis = net.addContainer('redissrv');
  client = net.addContainer('rediscli');
  agent = await startAgent();
  redis.spawn('redis-server', ['--port', String(PORT), '--bind', redis.ip, '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no']);
});

after(async () => {
  await agent?.close();
  await net?.destroy();
});

/** One section of INFO as name → value fields, e.g. cmdstat_incr → {calls: 23, failed_calls: 23}. */
async function info(section: string): Promise<Record<string, Record<string, number>>> {
  const text = await redis.run('redis-cli', ['-h', '127.0.0.1', '-p', String(PORT), 'info', section]);
  const out: Record<string, Record<string, number>> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w[\w|]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    out[m[1]!] = Object.fromEntries(m[2]!.split(',').map((kv) => kv.split('=')).map(([k, v]) => [k ?? '', Number(v)]));
  }
  return out;
}

test('Redis queries by status equal redis-benchmark\'s and redis-cli\'s counts, on both sides', async () => {
  await eventually('redis to answer', async () => {
    try { return (await redis.run('redis-cli', ['-h', '127.0.0.1', '-p', String(PORT), 'ping'])).trim() === 'PONG' ? true : undefined; } catch { return undefined; }
  });
  const serverId = containerLabel(redis.runtimeId);
  const clientId = containerLabel(client.runtimeId);
  const sel: Selection = {};
  for (const status of ['ok', 'failed']) {
    sel[`out ${status}`] = { name: 'container_redis_queries_total', labels: { container_id: clientId, destination: `${redis.ip}:${PORT}`, status } };
    sel[`in ${status}`] = { name: 'container_redis_inbound_queries_total', labels: { container_id: serverId, status } };
  }
  // Before the load the server answered, from its own container, exactly one PING (the probe
  // that succeeded) and the two INFO commands below: wait until those are counted, so the
  // baseline holds them and only the tools' queries are measured.
  const statsBefore = await info('commandstats');
  const errorsBefore = await info('errorstats');
  const base = await eventually('the probe and INFO queries to be counted', async () => {
    const now = read(await scrape(agent), sel);
    return now['in ok'] === 3 ? now : undefined;
  });
  assert.deepEqual(base, { 'out ok': 0, 'in ok': 3, 'out failed': 0, 'in failed': 0 });

  const cli = (args: string[], stdin?: string) => client.run('sh', ['-c', stdin === undefined
    ? `redis-cli -h ${redis.ip} -p ${PORT} ${args.join(' ')}`
    : `printf '${stdin}' | redis-cli -h ${redis.ip} -p ${PORT}`]);
  assert.equal((await cli(['set', 'text', 'hello'])).trim(), 'OK');
  const bench = await client.run('redis-benchmark', ['-h', redis.ip, '-p', String(PORT), '-n', String(BENCH_REQUESTS), '-c', '1', '-t', 'set,get', '--csv']);
  assert.match(bench, /"SET"/);
  assert.match(bench, /"GET"/);
  // redis-cli reading commands from a pipe sends them one at a time and prints each reply.
  const lines = [...Array(FAILING_INCR).fill('INCR text'), ...Array(UNKNOWN_COMMANDS).fill('NOSUCHCOMMAND x'), ...Array(OK_GETS_BY_CLI).fill('GET text')];
  const replies = (await cli([], `${lines.join('\\n')}\\n`)).trim().split('\n');
  const cliErrors = replies.filter((l) => l.startsWith('ERR ')).length;
  const cliOk = replies.filter((l) => l === 'hello').length;
  assert.equal(cliErrors, FAILING_INCR + UNKNOWN_COMMANDS, 'redis-cli printed one error per failing command');
  assert.equal(cliOk, OK_GETS_BY_CLI);

  // What the tools did, besides the measured commands: redis-benchmark asks CONFIG GET save and
  // CONFIG GET appendonly once per run, and redis-cli reading a pipe first asks COMMAND DOCS.
  // The server's own statistics confirm every number.
  const statsAfter = await info('commandstats');
  const errorsAfter = await info('errorstats');
  const delta = (name: string, field: string) => (statsAfter[name]?.[field] ?? 0) - (statsBefore[name]?.[field] ?? 0);
  assert.equal(delta('cmdstat_set', 'calls'), BENCH_REQUESTS + 1);
  assert.equal(delta('cmdstat_get', 'calls'), BENCH_REQUESTS + OK_GETS_BY_CLI);
  assert.equal(delta('cmdstat_incr', 'failed_calls'), FAILING_INCR);
  assert.equal(delta('cmdstat_config|get', 'calls'), 2);
  assert.equal(delta('cmdstat_command|docs', 'calls'), 1);
  assert.equal((errorsAfter.errorstat_ERR?.count ?? 0) - (errorsBefore.errorstat_ERR?.count ?? 0), FAILING_INCR + UNKNOWN_COMMANDS);

  const ok = 1 + 2 * BENCH_REQUESTS + 2 + 1 + OK_GETS_BY_CLI;
  const failed = FAILING_INCR + UNKNOWN_COMMANDS;
  // The two INFO commands after the load are inbound ok queries on the server, from its own container.
  const settled = await settle(agent, sel, base, { 'out ok': ok, 'in ok': ok + 2, 'out failed': failed, 'in failed': failed });
  const hist = settled.find((s) => s.name === 'container_redis_queries_duration_seconds_total_count' && s.labels.container_id === clientId);
  assert.equal(hist?.value, ok + failed, 'one latency observation per query');
});

test('Redis commands written one by one before their replies are read are each counted, by status, on both sides, and unread ones as unanswered', async () => {
  const serverId = containerLabel(redis.runtimeId);
  const clientId = containerLabel(client.runtimeId);
  const sel: Selection = {
    'out ok': { name: 'container_redis_queries_total', labels: { container_id: clientId, destination: `${redis.ip}:${PORT}`, status: 'ok' } },
    'out failed': { name: 'container_redis_queries_total', labels: { container_id: clientId, destination: `${redis.ip}:${PORT}`, status: 'failed' } },
    'in ok': { name: 'container_redis_inbound_queries_total', labels: { container_id: serverId, status: 'ok' } },
    'in failed': { name: 'container_redis_inbound_queries_total', labels: { container_id: serverId, status: 'failed' } },
    pipelined: { name: 'rootsight_agent_l7_unanswered_requests_total', labels: { protocol: 'redis', reason: 'pipelined' } },
    unread: { name: 'rootsight_agent_l7_unanswered_requests_total', labels: { protocol: 'redis', direction: 'outbound', reason: 'connection_closed' } },
  };
  const base = read(await scrape(agent), sel);
  const truth = JSON.parse(await client.run('node', [join(import.meta.dirname, 'redis-overlapping-client.mjs'), redis.ip, String(PORT), String(OVERLAP_ROUNDS)])) as
    { sent: number; replies: { ok: number; failed: number }; unread: number };
  assert.deepEqual(truth, { sent: 5 * (OVERLAP_ROUNDS + 1), replies: { ok: 3 * OVERLAP_ROUNDS, failed: 2 * OVERLAP_ROUNDS }, unread: 5 });
  // Before rs_slot_append, the second to fifth command of each round found the first still
  // waiting and were counted as pipelined (never paired): 40 of 200 were seen. The last round's
  // five commands, closed unread by the client, are five unanswered requests (the server answered
  // them: 3 ok and 2 failed more on its side).
  await settle(agent, sel, base, { 'out ok': truth.replies.ok, 'out failed': truth.replies.failed, 'in ok': truth.replies.ok + 3, 'in failed': truth.replies.failed + 2, pipelined: 0, unread: truth.unread });
});

test('the same without waiting for all replies: every command counted once, each under its own status or "unknown"', async () => {
  const clientId = containerLabel(client.runtimeId);
  const sel: Selection = {};
  for (const status of ['ok', 'failed', 'unknown']) {
    sel[status] = { name: 'container_redis_queries_total', labels: { container_id: clientId, destination: `${redis.ip}:${PORT}`, status } };
  }
  sel.pipelined = { name: 'rootsight_agent_l7_unanswered_requests_total', labels: { protocol: 'redis', reason: 'pipelined' } };
  sel.unread = { name: 'rootsight_agent_l7_unanswered_requests_total', labels: { protocol: 'redis', direction: 'outbound', reason: 'connection_closed' } };
  sel.any = { name: 'container_redis_queries_total', labels: { container_id: clientId, destination: `${redis.ip}:${PORT}` } };
  const base = read(await scrape(agent), sel);
  const truth = JSON.parse(await client.run('node', [join(import.meta.dirname, 'redis-overlapping-client.mjs'), redis.ip, String(PORT), String(OVERLAP_ROUNDS), 'nowait'])) as
    { sent: number; replies: { ok: number; failed: number }; unread: number };
  assert.deepEqual(truth.replies, { ok: 3 * OVERLAP_ROUNDS, failed: 2 * OVERLAP_ROUNDS });
  const answered = truth.replies.ok + truth.replies.failed;
  const settled = read(await settle(agent, { any: sel.any!, pipelined: sel.pipelined!, unread: sel.unread! }, base, { any: answered, pipelined: 0, unread: truth.unread }), sel);
  const got = (k: string) => settled[k]! - base[k]!;
  // A reply that came in a later read than the first of its round has no status for the agent.
  assert.ok(got('ok') <= truth.replies.ok && got('failed') <= truth.replies.failed, JSON.stringify(settled));
  assert.equal(got('ok') + got('failed') + got('unknown'), answered);
});
