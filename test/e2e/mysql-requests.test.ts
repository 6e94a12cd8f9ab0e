// MySQL-protocol request tracing end to end, as root on the real kernel: a private MariaDB in one
// stand-in container, sysbench and the mariadb client in another. sysbench runs a fixed number of
// OLTP transactions with plain queries (COM_QUERY) and with server-side prepared statements
// (COM_STMT_PREPARE/EXECUTE); the mariadb client sends a known number of failing statements
// (ERR packets). The agent's outbound counters for the client container and inbound counters for
// the server container must equal the tools' counts exactly; MariaDB's general query log is a
// second, independent truth.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../agent/src/agent.ts';
import { startMariadb, type RunningMariadb } from './mariadb.ts';
import { containerLabel, read, scrape, settle, startAgent, total, type Selection } from './request-counters.ts';
import { StandInNetwork, type StandInContainer } from './stand-in-containers.ts';

const THREADS = 2, EVENTS = 30;

let net: StandInNetwork;
let db: StandInContainer;
let client: StandInContainer;
let agent: Agent;
let maria: RunningMariadb;
const work = mkdtempSync(join(tmpdir(), 'rootsight-mysql-'));
chmodSync(work, 0o755);

before(async () => {
  net = new StandInNetwork('192.168.221');
  db = net.addContainer('mydb');
  client = net.addContainer('mycli');
  agent = await startAgent();
  maria = await startMariadb(db, work);
  maria.admin("CREATE DATABASE sbtest; CREATE USER 'bench'@'%'; GRANT ALL ON *.* TO 'bench'@'%'");
  // Tables are created over the Unix socket: invisible to the tracer, so the counters start at zero.
  await sysbench(['--mysql-socket=' + maria.socket, '--table-size=200', 'prepare']);
});

after(async () => {
  await maria?.stop();
  await agent?.close();
  await net?.destroy();
  rmSync(work, { recursive: true, force: true });
});

function sysbench(args: string[]): Promise<string> {
  return client.run('sysbench', ['oltp_read_write', '--db-driver=mysql', '--mysql-user=bench', '--mysql-ssl=off', '--mysql-db=sbtest', '--tables=1', ...args]);
}

const selection = (): Selection => {
  const out: Selection = {};
  for (const status of ['ok', 'failed', 'unknown']) {
    out[`out ${status}`] = { name: 'container_mysql_queries_total', labels: { container_id: containerLabel(client.runtimeId), destination: `${db.ip}:3306`, status } };
    out[`in ${status}`] = { name: 'container_mysql_inbound_queries_total', labels: { container_id: containerLabel(db.runtimeId), status } };
  }
  return out;
};

function expectCounts(ok: number, failed: number): Record<string, number> {
  return { 'out ok': ok, 'out failed': failed, 'out unknown': 0, 'in ok': ok, 'in failed': failed, 'in unknown': 0 };
}

for (const mode of ['disable', 'auto'] as const) {
  test(`sysbench oltp_read_write --db-ps-mode=${mode}: query counts equal sysbench's, on both sides`, async () => {
    const sel = selection();
    const start = await scrape(agent);
    const baseline = read(start, sel);
    const logFrom = maria.logOffset();
    const out = await sysbench([`--mysql-host=${db.ip}`, '--mysql-port=3306', `--threads=${THREADS}`, `--events=${EVENTS}`, '--time=0',
      `--db-ps-mode=${mode}`, '--table-size=200', 'run']);
    const field = (name: string) => Number(new RegExp(`^\\s+${name}:\\s+(\\d+)`, 'm').exec(out)?.[1] ?? NaN);
    assert.equal(field('transactions'), EVENTS, out);
    // sysbench counts the statements that succeeded ("total") and, apart, the ones that failed
    // with an error it tolerates and retries ("ignored errors": deadlocks and lock waits between
    // the two threads, answered with an ERR packet).
    const queries = field('total');
    const failed = field('ignored errors');
    assert.ok(queries > EVENTS && failed >= 0, out);
    const server = maria.commands(logFrom);
    // With prepared statements each statement is an Execute, and each connection prepared its
    // statements first (COM_STMT_PREPARE, a round trip of its own). Closing a statement
    // (COM_STMT_CLOSE) has no response and is not counted (reference §1.5).
    const prepares = server.Prepare ?? 0;
    assert.equal(mode === 'disable' ? server.Query : server.Execute, queries + failed, `server log ${JSON.stringify(server)}`);
    assert.equal(mode === 'auto', prepares > 0, JSON.stringify(server));
    console.error(`sysbench --db-ps-mode=${mode}: ${queries} ok + ${failed} failed, ${prepares} prepares; server log ${JSON.stringify(server)}`);

    const settled = await settle(agent, sel, baseline, expectCounts(queries + prepares, failed));
    const delta = (name: string, labels: Record<string, string>) => total(settled, name, labels) - total(start, name, labels);
    const out_ = { container_id: containerLabel(client.runtimeId), destination: `${db.ip}:3306` };
    const all = queries + failed + prepares;
    assert.equal(delta('container_mysql_queries_duration_seconds_total_count', out_), all, 'every query is in the client latency histogram');
    assert.equal(delta('container_mysql_inbound_queries_duration_seconds_total_count', { container_id: containerLabel(db.runtimeId) }), all);
    const mean = delta('container_mysql_queries_duration_seconds_total_sum', out_) / all;
    assert.ok(mean > 0 && mean < 1, `mean client latency ${mean} s is positive and below 1 s on a local bridge`);
  });
}

test('failing statements (ERR packets) are counted as failed', async () => {
  const sel = selection();
  const baseline = read(await scrape(agent), sel);
  const logFrom = maria.logOffset();
  const FAILING = 6, PASSING = 4;
  const lines = [...Array.from({ length: FAILING }, (_, i) => `SELECT * FROM sbtest.missing_${i};`), ...Array.from({ length: PASSING }, (_, i) => `SELECT ${i};`)];
  writeFileSync(join(work, 'mixed.sql'), `${lines.join('\n')}\n`);
  // --force: keep going after an error, so every statement is sent; each error is printed once.
  const result = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    const child = client.spawn('sh', ['-c', `exec mariadb --no-defaults -h ${db.ip} -P 3306 -ubench --skip-ssl -N -B --force < ${join(work, 'mixed.sql')}`]);
    let stdout = '', stderr = '';
    child.stdout?.on('data', (d) => { stdout += d; });
    child.stderr?.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('exit', () => resolve({ stdout, stderr }));
  });
  const errors = (result.stderr.match(/^ERROR 1146 \(42S02\)/gm) ?? []).length;
  const rows = result.stdout.split('\n').filter(Boolean).length;
  assert.deepEqual([errors, rows], [FAILING, PASSING], result.stderr);
  const server = maria.commands(logFrom);
  assert.equal(server.Query, FAILING + PASSING, `the client sent nothing but the script: ${JSON.stringify(server)}`);

  await settle(agent, sel, baseline, expectCounts(PASSING, FAILING));
});
