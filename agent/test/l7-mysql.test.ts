import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MysqlSession, mysqlParser, type MysqlRequestInfo } from '../src/l7/mysql.ts';
import { MYSQL } from '../src/l7/testdata/captures.ts';
import { fromHex } from '../src/l7/util.ts';

const ch = MYSQL.map((x) => ({ dir: x.dir, b: fromHex(x.hex) }));

test('MariaDB capture: commands, statements, OK/ERR/EOF/result set', () => {
  const reqs = ch.filter((x) => x.dir === 'c').map((x) => x.b);
  assert.equal(mysqlParser.detectRequest(reqs[0]), false, 'handshake response (seq 1)');
  assert.equal(mysqlParser.detectRequest(ch[0].b), false, 'greeting');
  assert.deepEqual(mysqlParser.parseRequest(reqs[1]), { method: 'COM_QUERY', command: 3, statement: 'SELECT 1 AS one' });
  for (const r of reqs.slice(1)) assert.ok(mysqlParser.detectRequest(r));
  assert.equal(mysqlParser.parseRequest(reqs[5])?.method, 'COM_STMT_PREPARE');
  assert.equal(mysqlParser.parseRequest(reqs[6])?.statement, 'EXECUTE 1 /* unknown */');
  assert.equal((mysqlParser.parseRequest(reqs[7]) as MysqlRequestInfo).statementClose, true);
  // Responses: result set, OK, OK, ERR 1146, PREPARE OK, result set (binary), result set.
  const resps = ch.filter((x, i) => x.dir === 's' && i > 1).map((x) => mysqlParser.parseResponse(x.b));
  assert.deepEqual(resps.map((r) => r?.status), ['ok', 'ok', 'ok', 'ok', 'failed', 'ok', 'ok', 'ok']);
  assert.equal(resps[4]?.code, 1146);
});

test('session: PREPARE OK gives "PREPARE <id> FROM <query>", EXECUTE shows the query, CLOSE forgets', () => {
  const s = new MysqlSession();
  let last: MysqlRequestInfo | undefined;
  const stmts: string[] = [];
  for (const x of ch.slice(2)) {
    if (x.dir === 'c') { last = s.parseRequest(x.b); }
    else { s.parseResponse(x.b, last); if (last?.statement) stmts.push(last.statement); }
  }
  assert.equal(stmts[4], 'PREPARE 1 FROM SELECT name FROM test.t WHERE id = ?');
  assert.equal(stmts[5], 'SELECT name FROM test.t WHERE id = ?');
  const exec = ch.find((x) => x.dir === 'c' && x.b[4] === 0x17)!.b;
  assert.equal(s.parseRequest(exec)?.statement, 'EXECUTE 1 /* unknown */', 'forgotten after COM_STMT_CLOSE');
});

test('EOF packet, header-only reads, and a query cut at 1024 bytes', () => {
  assert.deepEqual(mysqlParser.parseResponse(Uint8Array.from([5, 0, 0, 5, 0xfe, 0, 0, 2, 0])), { status: 'ok' });
  assert.deepEqual(mysqlParser.parseResponse(Uint8Array.from([1, 0, 0, 1])), { status: 'ok' });
  assert.equal(mysqlParser.parseResponse(Uint8Array.from([7, 0, 0, 0, 0, 0, 0])), undefined, 'seq 0 is a request');
  const big = ch.find((x) => x.dir === 'c' && x.b.length > 1024)!.b;
  const cut = big.subarray(0, 1024);
  assert.ok(mysqlParser.detectRequest(cut));
  const st = mysqlParser.parseRequest(cut)!.statement!;
  assert.ok(st.startsWith("SELECT 'zzz") && st.endsWith('...'));
  assert.equal(mysqlParser.detectRequest(big.subarray(0, 900)), false, 'shorter than the length and not at the cap');
});
