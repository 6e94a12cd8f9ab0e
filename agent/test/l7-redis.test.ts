import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redisParser, skipRespValue, splitRedisPipeline } from '../src/l7/redis.ts';
import { REDIS, REDIS_RESP2 } from '../src/l7/testdata/captures.ts';
import { fromHex } from '../src/l7/util.ts';

const enc = (s: string) => new TextEncoder().encode(s);

test('RESP3 capture: commands and first argument; ok and -ERR', () => {
  const reqs = REDIS.filter((c) => c.dir === 'c').map((c) => fromHex(c.hex));
  const resps = REDIS.filter((c) => c.dir === 's').map((c) => fromHex(c.hex));
  assert.ok(reqs.every((r) => redisParser.detectRequest(r)));
  assert.deepEqual(reqs.map((r) => redisParser.parseRequest(r)?.statement), ['HELLO 3', 'GET missing', 'GET foo', 'PING', 'EXPIRE foo ...', 'HGETALL h', 'SMEMBERS h', 'SMEMBERS ss']);
  assert.equal(redisParser.parseRequest(reqs[0])?.method, 'HELLO');
  // %map, _null, $bulk (pipelined with -ERR: the first reply decides), +PONG, -ERR, %map, -WRONGTYPE, ~set
  assert.deepEqual(resps.map((r) => redisParser.parseResponse(r)?.status), ['ok', 'ok', 'ok', 'ok', 'failed', 'ok', 'failed', 'ok']);
});

test('RESP2 capture and every response type byte', () => {
  const resps = REDIS_RESP2.filter((c) => c.dir === 's').map((c) => redisParser.parseResponse(fromHex(c.hex))?.status);
  assert.deepEqual(resps, ['ok', 'ok', 'ok', 'failed', 'ok', 'ok', 'ok', 'ok', 'ok']);
  for (const s of ['$3\r\nbar\r\n', ':1\r\n', '+OK\r\n', '_\r\n', '#t\r\n', ',1.5\r\n', '(123\r\n', '=7\r\ntxt:abc\r\n', '~0\r\n', '>2\r\n', '%0\r\n', '|1\r\n', '*0\r\n']) {
    assert.deepEqual(redisParser.parseResponse(enc(s)), { status: 'ok' }, s);
  }
  assert.deepEqual(redisParser.parseResponse(enc('-ERR unknown command\r\n')), { status: 'failed' });
  assert.deepEqual(redisParser.parseResponse(enc('!21\r\nSYNTAX invalid syntax\r\n')), { status: 'failed' });
  assert.equal(redisParser.parseResponse(enc('hello')), undefined);
});

test('pipelined write: the first command describes it; a 1.5 KiB SET cut at 1024 bytes', () => {
  const pipe = enc('*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n*2\r\n$4\r\nINCR\r\n$3\r\nfoo\r\n');
  assert.deepEqual(redisParser.parseRequest(pipe), { method: 'GET', statement: 'GET foo' });
  const big = fromHex(REDIS_RESP2.find((c) => c.dir === 'c' && c.hex.length > 2048)!.hex);
  const cut = big.subarray(0, 1024);
  assert.ok(redisParser.detectRequest(cut));
  assert.deepEqual(redisParser.parseRequest(cut), { method: 'SET', statement: 'SET k ...' });
  const longKey = redisParser.parseRequest(enc(`*2\r\n$3\r\nGET\r\n$2000\r\n${'k'.repeat(1000)}`))!;
  assert.ok(longKey.statement!.endsWith('...') && longKey.statement!.length <= 1027);
});

test('detector rules: ≥ 11 bytes, 1–2 digit counts, a letter after the first bulk header', () => {
  assert.ok(redisParser.detectRequest(enc('*1\r\n$4\r\nPING\r\n')));
  assert.equal(redisParser.detectRequest(enc('*1\r\n$4\r\n')), false);
  assert.equal(redisParser.detectRequest(enc('*100\r\n$4\r\nPING\r\n')), false);
  assert.equal(redisParser.detectRequest(enc('*1\r\n$4\r\n1ING\r\n')), false);
  assert.equal(redisParser.detectRequest(enc('PING\r\n')), false, 'inline commands are not detected');
});

test('pipelined commands in one write: one request each, with the status of its own reply', () => {
  const cmd = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`;
  // redis-benchmark's start-up pair.
  const configGets = enc(cmd('CONFIG', 'GET', 'save') + cmd('CONFIG', 'GET', 'appendonly'));
  const replies = enc('*2\r\n$4\r\nsave\r\n$0\r\n\r\n*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n');
  assert.deepEqual(splitRedisPipeline(configGets, replies)?.map((x) => [x.request.statement, x.response.status]),
    [['CONFIG GET ...', 'ok'], ['CONFIG GET ...', 'ok']]);
  const mixed = enc(cmd('INCR', 'text') + cmd('GET', 'text') + cmd('NOSUCH') + cmd('HGETALL', 'h'));
  // -ERR, a bulk string, -ERR, a RESP3 map with a nested array; all visible.
  const mixedReplies = enc('-ERR value is not an integer\r\n$5\r\nhello\r\n-ERR unknown command\r\n%1\r\n+k\r\n*2\r\n:1\r\n_\r\n');
  assert.deepEqual(splitRedisPipeline(mixed, mixedReplies)?.map((x) => x.response.status), ['failed', 'ok', 'failed', 'ok']);
  // Replies cut by the capture: the cut one still has its first byte; the ones after are unknown.
  assert.deepEqual(splitRedisPipeline(mixed, mixedReplies.subarray(0, 33))?.map((x) => x.response.status), ['failed', 'ok', 'unknown', 'unknown']);
  // A single command, or a write whose second command is cut, is not a pipeline.
  assert.equal(splitRedisPipeline(enc(cmd('GET', 'x')), enc('$-1\r\n')), undefined);
  assert.equal(splitRedisPipeline(enc(cmd('GET', 'x') + cmd('GET', 'y').slice(0, 10)), enc('$-1\r\n$-1\r\n')), undefined);
});

test('skipRespValue: every type, nulls, nesting; cut or hostile input gives undefined', () => {
  for (const v of ['+OK\r\n', '-ERR x\r\n', ':12\r\n', '$3\r\nabc\r\n', '$-1\r\n', '*-1\r\n', '*0\r\n', '_\r\n', '#t\r\n', ',1.5\r\n', '(12\r\n',
    '!3\r\nerr\r\n', '=7\r\ntxt:abc\r\n', '~1\r\n:1\r\n', '>1\r\n+x\r\n', '%1\r\n+k\r\n+v\r\n', '|1\r\n+k\r\n+v\r\n', '*2\r\n*1\r\n:1\r\n$1\r\na\r\n']) {
    assert.equal(skipRespValue(enc(`${v}+next\r\n`), 0), v.length, JSON.stringify(v));
    assert.equal(skipRespValue(enc(v).subarray(0, v.length - 1), 0), undefined, `cut ${JSON.stringify(v)}`);
  }
  assert.equal(skipRespValue(enc('$3\r\nabcd\r\n'), 0), undefined, 'bulk length disagrees with the terminator');
  assert.equal(skipRespValue(enc(`${'*1\r\n'.repeat(20)}:1\r\n`), 0), undefined, 'nesting is bounded');
  assert.equal(skipRespValue(enc('hello\r\n'), 0), undefined);
});
