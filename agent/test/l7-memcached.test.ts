import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memcachedParser } from '../src/l7/memcached.ts';
import { MEMCACHED } from '../src/l7/testdata/captures.ts';
import { fromHex } from '../src/l7/util.ts';

const enc = (s: string) => new TextEncoder().encode(s);

test('memcached capture: commands, keys and statuses', () => {
  const pairs: [string | undefined, string | undefined][] = [];
  for (let i = 0; i + 1 < MEMCACHED.length; i += 2) {
    const req = fromHex(MEMCACHED[i].hex).subarray(0, 1024);
    pairs.push([memcachedParser.parseRequest(req)?.statement, memcachedParser.parseResponse(fromHex(MEMCACHED[i + 1].hex))?.status]);
  }
  assert.deepEqual(pairs.slice(0, 19), [
    ['set user:1', 'ok'], ['get user:1', 'ok'], ['get nothing', 'ok'], ['gets user:1 user:2', 'ok'], ['incr user:1', 'failed'],
    ['set n', 'ok'], ['incr n', 'ok'], ['decr n', 'ok'], ['touch n', 'ok'], ['add n', 'ok'], ['cas n', 'ok'], ['delete n', 'ok'],
    ['delete n', 'ok'], ['append user:1', 'ok'], ['prepend user:1', 'ok'], ['replace zz', 'ok'], ['gat user:1', 'ok'],
    [undefined, 'failed'], ['get user:1', 'ok'],
  ]);
  assert.equal(pairs[19][0], 'set big', 'storage command cut at 1 KiB');
  assert.ok(memcachedParser.detectRequest(fromHex(MEMCACHED[38].hex).subarray(0, 1024)));
  assert.equal(memcachedParser.detectRequest(enc('bogus\r\n')), false);
});

test('status mapping: SERVER_ERROR / ERROR / CLIENT_ERROR failed; responses must end in CRLF', () => {
  assert.deepEqual(memcachedParser.parseResponse(enc('SERVER_ERROR out of memory storing object\r\n')), { status: 'failed' });
  assert.deepEqual(memcachedParser.parseResponse(enc('ERROR\r\n')), { status: 'failed' });
  assert.deepEqual(memcachedParser.parseResponse(enc('CLIENT_ERROR bad data chunk\r\n')), { status: 'failed' });
  assert.equal(memcachedParser.parseResponse(enc('STORED')), undefined);
  assert.deepEqual(memcachedParser.parseResponse(enc('VALUE k 0 2000\r\nxxxxx')), { status: 'ok' }, 'a cut VALUE');
  assert.equal(memcachedParser.parseResponse(enc('HELLO\r\n')), undefined);
});
