// PostgreSQL request tracing end to end, as root on the real kernel: a private PostgreSQL cluster
// in one stand-in container, pgbench and psql in another. pgbench runs a fixed number of
// transactions of a known script in each query mode (simple, extended, prepared), psql and pgbench
// send a known number of failing statements; the agent's outbound counters for the client
// container and inbound counters for the server container must equal those counts exactly.
// The server's own statement log (log_min_duration_statement=0) is a second, independent truth.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../agent/src/agent.ts';
import { startPostgres, type RunningPostgres } from './postgres.ts';
import { containerLabel, read, scrape, settle, startAgent, total, type Selection } from './request-counters.ts';
import { StandInNetwork, type StandInContainer } from './stand-in-containers.ts';

const CLIENTS = 3, TRANSACTIONS = 40;
// Three SQL statements per transaction; \set is evaluated by pgbench itself and sends nothing.
const SCRIPT = `\\set k random(1, 100)
SELECT v FROM kv WHERE k = :k;
UPDATE kv SET v = v + 1 WHERE k = :k;
SELECT count(*) FROM kv;
`;
const STATEMENTS_PER_TRANSACTION = 3;

let net: StandInNetwork;
let db: StandInContainer;
let client: StandInContainer;
let agent: Agent;
let pg: RunningPostgres;
const work = mkdtempSync(join(tmpdir(), 'rootsight-pg-'));
chmodSync(work, 0o755);

before(async () => {
  net = new StandInNetwork('192.168.220');
  db = net.addContainer('pgdb');
  client = net.addContainer('pgcli');
  agent = await startAgent();
  pg = await startPostgres(db, work);
  pg.admin('CREATE TABLE kv (k int PRIMARY KEY, v int NOT NULL); INSERT INTO kv SELECT g, 0 FROM generate_series(1, 100) g');
  writeFileSync(join(work, 'script.sql'), SCRIPT);
  writeFileSync(join(work, 'fail.sql'), 'SELECT 1/0;\n');
});

after(async () => {
  await pg?.stop();
  await agent?.close();
  await net?.destroy();
  rmSync(work, { recursive: true, force: true });
});

const selection = (): Selection => {
  const out: Selection = {};
  for (const status of ['ok', 'failed', 'unknown']) {
    out[`out ${status}`] = { name: 'container_postgres_queries_total', labels: { container_id: containerLabel(client.runtimeId), destination: `${db.ip}:5432`, status } };
    out[`in ${status}`] = { name: 'container_postgres_inbound_queries_total', labels: { container_id: containerLabel(db.runtimeId), status } };
  }
  return out;
};

/** Statement log lines of the server since `from` (an offset into its log). */
function logged(from: number): { statements: number; parses: number; executes: number; errors: number } {
  const text = pg.serverLog().slice(from);
  const count = (re: RegExp) => (text.match(re) ?? []).length;
  return {
    statements: count(/LOG: {2}duration: [\d.]+ ms {2}statement: /g),
    parses: count(/LOG: {2}duration: [\d.]+ ms {2}parse /g),
    executes: count(/LOG: {2}duration: [\d.]+ ms {2}execute /g),
    errors: count(/ERROR: {2}/g),
  };
}

async function pgbench(mode: 'simple' | 'extended' | 'prepared', script: string, clients: number, transactions: number, reconnect = false): Promise<string> {
  const args = [...(reconnect ? ['-C'] : []), '-n', '-h', db.ip, '-U', 'postgres', '-c', String(clients), '-j', '1', '-t', String(transactions), '-M', mode, '-f', script, 'postgres'];
  return client.run(join(pg.bin, 'pgbench'), args).catch((e: Error) => e.message);
}

function expectCounts(ok: number, failed: number): Record<string, number> {
  return { 'out ok': ok, 'out failed': failed, 'out unknown': 0, 'in ok': ok, 'in failed': failed, 'in unknown': 0 };
}

const RUNS = [
  { mode: 'simple', reconnect: false }, { mode: 'extended', reconnect: false }, { mode: 'prepared', reconnect: false },
  // -C: a new connection for every transaction, so socket fds are reused all the time.
  { mode: 'simple', reconnect: true }, { mode: 'prepared', reconnect: true },
] as const;

for (const { mode, reconnect } of RUNS) {
  test(`pgbench -M ${mode}${reconnect ? ' -C' : ''}: query counts equal pgbench's statements, on both sides`, async () => {
    const sel = selection();
    const start = await scrape(agent);
    const baseline = read(start, sel);
    const logFrom = pg.serverLog().length;
    const out = await pgbench(mode, join(work, 'script.sql'), CLIENTS, TRANSACTIONS, reconnect);
    const processed = /number of transactions actually processed: (\d+)\/(\d+)/.exec(out);
    assert.ok(processed, out);
    assert.equal(Number(processed[1]), CLIENTS * TRANSACTIONS, out);
    const statements = Number(processed[1]) * STATEMENTS_PER_TRANSACTION;
    // -M prepared prepares each statement of the script once per connection (Parse + Sync, its
    // own round trip): a request of its own, answered ParseComplete + ReadyForQuery.
    const connections = reconnect ? Number(processed[1]) : CLIENTS;
    const prepares = mode === 'prepared' ? connections * STATEMENTS_PER_TRANSACTION : 0;

    const settled = await settle(agent, sel, baseline, expectCounts(statements + prepares, 0));
    const serverSaw = logged(logFrom);
    assert.deepEqual(serverSaw, {
      statements: mode === 'simple' ? statements : 0,
      parses: mode === 'simple' ? 0 : mode === 'extended' ? statements : prepares,
      executes: mode === 'simple' ? 0 : statements,
      errors: 0,
    }, 'the server executed what pgbench says it sent');

    const delta = (name: string, labels: Record<string, string>) => total(settled, name, labels) - total(start, name, labels);
    const out_ = { container_id: containerLabel(client.runtimeId), destination: `${db.ip}:5432` };
    const in_ = { container_id: containerLabel(db.runtimeId) };
    assert.equal(delta('container_postgres_queries_duration_seconds_total_count', out_), statements + prepares, 'every query is in the client latency histogram');
    assert.equal(delta('container_postgres_inbound_queries_duration_seconds_total_count', in_), statements + prepares, 'every query is in the server latency histogram');
    const mean = delta('container_postgres_queries_duration_seconds_total_sum', out_) / (statements + prepares);
    assert.ok(mean > 0 && mean < 1, `mean client latency ${mean} s is positive and below 1 s on a local bridge`);
  });
}

test('pgbench in pipeline mode (\\startpipeline: three statements in one write, their results in one read): each statement counted, on both sides', async () => {
  writeFileSync(join(work, 'pipeline.sql'), SCRIPT.replace('\n', '\n\\startpipeline\n') + '\\endpipeline\n');
  const sel = selection();
  const baseline = read(await scrape(agent), sel);
  const logFrom = pg.serverLog().length;
  const out = await pgbench('extended', join(work, 'pipeline.sql'), CLIENTS, TRANSACTIONS);
  const processed = /number of transactions actually processed: (\d+)\/(\d+)/.exec(out);
  assert.ok(processed, out);
  assert.equal(Number(processed[1]), CLIENTS * TRANSACTIONS, out);
  const statements = Number(processed[1]) * STATEMENTS_PER_TRANSACTION;
  assert.equal(logged(logFrom).executes, statements, 'the server executed what pgbench says it sent');
  // Before splitPostgresPipeline, each pipeline was one request: a third of these.
  await settle(agent, sel, baseline, expectCounts(statements, 0));
});

test('failing statements (ErrorResponse) are counted as failed, simple and extended protocol', async () => {
  const sel = selection();
  const baseline = read(await scrape(agent), sel);
  const logFrom = pg.serverLog().length;
  // psql sends each line as a simple Query; ON_ERROR_STOP is off, so every statement is sent.
  const FAILING = 7, PASSING = 5;
  const lines = [...Array.from({ length: FAILING }, (_, i) => `SELECT ${i} / 0;`), ...Array.from({ length: PASSING }, (_, i) => `SELECT ${i};`)];
  writeFileSync(join(work, 'mixed.sql'), `${lines.join('\n')}\n`);
  const psql = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    const child = client.spawn(join(pg.bin, 'psql'), ['-X', '-At', '-h', db.ip, '-U', 'postgres', '-d', 'postgres', '-f', join(work, 'mixed.sql')]);
    let stdout = '', stderr = '';
    child.stdout?.on('data', (d) => { stdout += d; });
    child.stderr?.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('exit', () => resolve({ stdout, stderr }));
  });
  const psqlErrors = (psql.stderr.match(/ERROR: {2}division by zero/g) ?? []).length;
  const psqlRows = psql.stdout.split('\n').filter(Boolean).length;
  assert.deepEqual([psqlErrors, psqlRows], [FAILING, PASSING], psql.stderr);
  // pgbench aborts a client at its first error: with -M extended, one failing Parse/Bind/Execute/Sync per client.
  const ABORTING_CLIENTS = 3;
  const out = await pgbench('extended', join(work, 'fail.sql'), ABORTING_CLIENTS, 5);
  const aborted = new Set([...out.matchAll(/client (\d+) script 0 aborted in command 0 query 0: ERROR: {2}division by zero/g)].map((m) => m[1])).size;
  assert.equal(aborted, ABORTING_CLIENTS, out);

  await settle(agent, sel, baseline, expectCounts(PASSING, FAILING + ABORTING_CLIENTS));
  assert.equal(logged(logFrom).errors, FAILING + ABORTING_CLIENTS, 'the server logged one ERROR per failing statement');
});
