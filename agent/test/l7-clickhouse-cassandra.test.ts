import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clickhouseParser } from '../src/l7/clickhouse.ts';
import { cassandraParser, parseCassandraRequest } from '../src/l7/cassandra.ts';
import * as B from '../src/l7/testdata/built.ts';

test('ClickHouse Query packet (revisions 54460 and 54441 layouts): query text; sanity checks', () => {
  assert.ok(clickhouseParser.detectRequest(B.CH_QUERY));
  assert.deepEqual(clickhouseParser.parseRequest(B.CH_QUERY), { method: 'Query', statement: 'SELECT count() FROM system.tables' });
  assert.ok(clickhouseParser.detectRequest(B.CH_QUERY_OLD));
  assert.equal(clickhouseParser.parseRequest(B.CH_QUERY_OLD)?.statement, 'SELECT 1');
  const badId = B.chQuery('SELECT 1', { queryId: 'not-a-uuid' });
  assert.equal(clickhouseParser.detectRequest(badId), false);
  const long = B.chQuery('SELECT ' + "'é'".repeat(600));
  const st = clickhouseParser.parseRequest(long.subarray(0, 1024))!.statement!;
  assert.ok(st.endsWith('...<TRUNCATED>'));
  assert.ok(!st.includes('\ufffd'), 'the cut does not split a UTF-8 sequence');
});

test('ClickHouse responses: Data (plain / compressed) and EndOfStream ok, Exception failed, others wait', () => {
  assert.deepEqual(clickhouseParser.parseResponse(B.CH_DATA), { status: 'ok' });
  assert.deepEqual(clickhouseParser.parseResponse(B.CH_DATA_COMPRESSED), { status: 'ok' });
  assert.deepEqual(clickhouseParser.parseResponse(B.CH_END), { status: 'ok' });
  assert.deepEqual(clickhouseParser.parseResponse(B.CH_EXCEPTION), { status: 'failed', code: 60 });
  assert.equal(clickhouseParser.parseResponse(B.CH_PROGRESS), undefined);
  assert.equal(clickhouseParser.parseResponse(Uint8Array.from([5, 0])), undefined, 'EndOfStream must be exactly 1 byte');
  assert.equal(clickhouseParser.parseResponse(Uint8Array.from([2, 0, 0x20, 0, 0])), undefined, 'exception code out of 1..4096');
});

test('Cassandra v4/v5: QUERY/EXECUTE/BATCH with stream ids; RESULT ok, ERROR failed, matched by stream', () => {
  for (const m of [B.CQL_QUERY, B.CQL_EXECUTE, B.CQL_BATCH, B.CQL_V5_QUERY]) assert.ok(cassandraParser.detectRequest(m));
  assert.equal(cassandraParser.detectRequest(B.CQL_OPTIONS), false);
  const q = cassandraParser.parseRequest(B.CQL_QUERY)!;
  assert.deepEqual(q, { method: 'QUERY', streamId: 5, statement: 'SELECT * FROM ks.users WHERE id = 1' });
  assert.deepEqual(cassandraParser.parseRequest(B.CQL_EXECUTE), { method: 'EXECUTE', streamId: 6, statement: 'EXECUTE 0xdeadbeef' });
  assert.equal(parseCassandraRequest(B.CQL_V5_QUERY)?.streamId, 300);
  assert.deepEqual(cassandraParser.parseResponse(B.CQL_RESULT, q), { status: 'ok' });
  assert.deepEqual(cassandraParser.parseResponse(B.CQL_ERROR, q), { status: 'failed', code: 0x2200 });
  assert.equal(cassandraParser.parseResponse(B.CQL_RESULT, cassandraParser.parseRequest(B.CQL_EXECUTE)), undefined, 'other stream');
  assert.equal(cassandraParser.parseResponse(B.CQL_QUERY), undefined);
  const cutQuery = B.bytes([4, 0, 0, 1, 7], B.be32(2006), B.be32(2000), 'SELECT ' + 'x'.repeat(1993));
  assert.ok(cassandraParser.parseRequest(cutQuery.subarray(0, 1024))!.statement!.endsWith('...'));
});
