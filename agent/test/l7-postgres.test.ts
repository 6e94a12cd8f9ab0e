import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PostgresSession, postgresParser, parsePostgresRequest } from '../src/l7/postgres.ts';
import { POSTGRES } from '../src/l7/testdata/captures.ts';
import { fromHex } from '../src/l7/util.ts';

const c = POSTGRES.map((x) => ({ dir: x.dir, b: fromHex(x.hex) }));
const reqs = c.filter((x) => x.dir === 'c').map((x) => x.b);
const resps = c.filter((x) => x.dir === 's').map((x) => x.b);
const enc = (s: string) => new TextEncoder().encode(s);
const msg = (t: string, body: Uint8Array) => { const o = new Uint8Array(5 + body.length); o[0] = t.charCodeAt(0); new DataView(o.buffer).setUint32(1, body.length + 4); o.set(body, 5); return o; };
const cat = (...a: Uint8Array[]) => { const o = new Uint8Array(a.reduce((n, x) => n + x.length, 0)); let p = 0; for (const x of a) { o.set(x, p); p += x.length; } return o; };

test('node-postgres capture: simple and extended queries, statement texts', () => {
  assert.equal(postgresParser.detectRequest(reqs[0]), false, 'StartupMessage is not a query');
  assert.deepEqual(postgresParser.parseRequest(reqs[1]), { method: 'Q', statement: 'CREATE TABLE IF NOT EXISTS t (id int primary key, name text)' });
  assert.deepEqual(postgresParser.parseRequest(reqs[2]), { method: 'Q', statement: 'SELECT 1 AS one' });
  for (const r of reqs.slice(1, 9)) assert.ok(postgresParser.detectRequest(r));
  assert.equal(postgresParser.parseRequest(reqs[3])?.statement, 'INSERT INTO t VALUES ($1, $2) ON CONFLICT DO NOTHING');
  assert.equal(postgresParser.parseRequest(reqs[4])?.statement, 'PREPARE byid AS SELECT name FROM t WHERE id = $1');
  assert.equal(postgresParser.parseRequest(reqs[5])?.statement, 'EXECUTE byid /* unknown */', 'Bind without its Parse');
  assert.equal(postgresParser.detectRequest(reqs[9]), false, 'Terminate');
});

test('session remembers prepared statements for later Binds and forgets them on Close', () => {
  const s = new PostgresSession();
  for (const r of reqs.slice(1, 5)) s.parseRequest(r);
  assert.equal(s.parseRequest(reqs[5])?.statement, 'SELECT name FROM t WHERE id = $1');
  const close = cat(msg('C', cat(enc('S'), enc('byid\0'))), msg('S', new Uint8Array(0)));
  assert.ok(postgresParser.detectRequest(close));
  const ci = s.parseRequest(close)!;
  assert.equal(ci.method, 'C');
  assert.equal(ci.statementClose, true);
  assert.equal(s.parseRequest(reqs[5])?.statement, 'EXECUTE byid /* unknown */');
  assert.ok(postgresParser.detectRequest(msg('C', cat(enc('S'), enc('byid\0')))), 'a lone Close (length + 1 == size)');
});

test('responses: T/D/C → ok, ParseComplete/BindComplete/NoData skipped, then ReadyForQuery → ok, E → failed, others unknown', () => {
  assert.deepEqual(resps.slice(1).map((r) => postgresParser.parseResponse(r)?.status), ['ok', 'ok', 'ok', 'ok', 'ok', 'failed', 'failed', 'ok']);
  assert.deepEqual(postgresParser.parseResponse(resps[0]), { status: 'unknown' }, 'AuthenticationOk…');
  assert.deepEqual(postgresParser.parseResponse(msg('t', new Uint8Array(2))), { status: 'ok' });
  assert.deepEqual(postgresParser.parseResponse(msg('Z', enc('I'))), { status: 'unknown' });
  // PQprepare (Parse + Sync) is answered ParseComplete + ReadyForQuery: a successful prepare.
  assert.deepEqual(postgresParser.parseResponse(cat(msg('1', new Uint8Array(0)), msg('Z', enc('I')))), { status: 'ok' });
  assert.deepEqual(postgresParser.parseResponse(cat(msg('1', new Uint8Array(0)), msg('E', enc('SERROR\0')))), { status: 'failed' });
  assert.equal(postgresParser.parseResponse(enc('hello world')), undefined);
});

test('a query cut at the 1 KiB cap is still detected and parsed with "..."', () => {
  const big = reqs[8];
  assert.ok(big.length > 1024);
  const cut = big.subarray(0, 1024);
  assert.equal(postgresParser.detectRequest(big), true);
  assert.equal(postgresParser.detectRequest(cut), true);
  const st = postgresParser.parseRequest(cut)!.statement!;
  assert.ok(st.startsWith("SELECT 'yyy"));
  assert.ok(st.endsWith('...'));
  assert.ok(st.length <= 1024 + 3);
  // A long Parse cut by the cap.
  const p = msg('P', cat(enc('\0'), enc('SELECT ' + 'x'.repeat(2000) + '\0'), new Uint8Array(2)));
  assert.equal(postgresParser.detectRequest(p.subarray(0, 1024)), true);
  assert.ok(parsePostgresRequest(p.subarray(0, 1024))!.statement!.endsWith('...'));
});

test('a pipeline (several Executes, Sync groups, simple Queries) is one request per statement, each with its own outcome', () => {
  const z = new Uint8Array([0]);
  const parse = (q: string) => msg('P', cat(z, enc(q), z, new Uint8Array([0, 0])));
  const bind = msg('B', cat(z, z, new Uint8Array([0, 0, 0, 0, 0, 0])));
  const exec = msg('E', cat(z, new Uint8Array(4)));
  const sync = msg('S', new Uint8Array(0));
  const query = (q: string) => msg('Q', cat(enc(q), z));
  const ok = (tag: string) => msg('C', cat(enc(tag), z));
  const err = msg('E', cat(enc('SERROR'), z, enc('C22012'), z, z));
  const ready = msg('Z', enc('I'));
  const [parsed, bound] = [msg('1', new Uint8Array(0)), msg('2', new Uint8Array(0))];
  const split = postgresParser.splitPipelined!;
  // one statement: the usual single-request path
  assert.equal(split(cat(parse('SELECT 1'), bind, exec, sync), cat(parsed, bound, ok('SELECT 1'), ready)), undefined);
  // group 1: three Executes, the second fails, so the server skips the third; group 2: one more; then a simple Query
  const req = cat(parse('SELECT 1'), bind, exec, parse('SELECT 1/0'), bind, exec, parse('SELECT 2'), bind, exec, sync,
    parse('UPDATE t SET x = 1'), bind, exec, sync, query('SELECT 3; SELECT 4'));
  const resp = cat(parsed, bound, ok('SELECT 1'), parsed, bound, err, ready, parsed, bound, ok('UPDATE 1'), ready, ok('SELECT 1'), ok('SELECT 1'), ready);
  assert.deepEqual(split(req, resp)!.map((x) => [x.request.method, x.request.statement, x.response.status]), [
    ['E', 'SELECT 1', 'ok'], ['E', 'SELECT 1/0', 'failed'], ['E', 'SELECT 2', 'failed'], ['E', 'UPDATE t SET x = 1', 'ok'], ['Q', 'SELECT 3; SELECT 4', 'ok'],
  ]);
  // responses cut short: the outcomes not captured are unknown; a request message cut short is not counted
  assert.deepEqual(split(req, resp.subarray(0, 30))!.map((x) => x.response.status), ['ok', 'unknown', 'unknown', 'unknown', 'unknown']);
  assert.equal(split(req.subarray(0, req.length - 3), resp)!.length, 4);
  // hostile bytes never throw
  for (let i = 0; i < 2000; i++) {
    const junk = Uint8Array.from({ length: (i * 7) % 300 }, (_, k) => (k * 31 + i) & 0xff);
    split(cat(req.subarray(0, i % req.length), junk), cat(junk, resp.subarray(i % resp.length)));
  }
});
