import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpParser } from '../src/l7/http.ts';
import { HTTP1 } from '../src/l7/testdata/captures.ts';
import { fromHex } from '../src/l7/util.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const chunks = HTTP1.map((c) => fromHex(c.hex));

test('curl → nginx capture: method, target, Host, traceparent, status classes', () => {
  const reqs = chunks.filter((_, i) => HTTP1[i].dir === 'c');
  const resps = chunks.filter((_, i) => HTTP1[i].dir === 's');
  assert.ok(reqs.every((r) => httpParser.detectRequest(r)));
  assert.deepEqual(httpParser.parseRequest(reqs[0]), { method: 'GET', path: '/', host: '127.0.0.1:18091' });
  assert.deepEqual(httpParser.parseRequest(reqs[1]), {
    method: 'GET', path: '/missing?q=1&x=2', host: 'shop.example:8080', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  });
  assert.equal(httpParser.parseRequest(reqs[2])?.method, 'POST');
  assert.equal(httpParser.parseRequest(reqs[3])?.method, 'HEAD');
  assert.equal(httpParser.parseRequest(reqs[5])?.method, 'DELETE');
  assert.deepEqual(resps.map((r) => httpParser.parseResponse(r)), [
    { status: '2xx', code: 200 }, { status: '4xx', code: 404 }, { status: '4xx', code: 405 }, { status: '2xx', code: 200 },
    { status: '5xx', code: 502 }, { status: '4xx', code: 405 }, { status: '4xx', code: 405 },
  ]);
});

test('request cut at 1024 bytes: target gets "..." and is capped', () => {
  const patch = chunks[12].subarray(0, 1024);
  assert.equal(patch.length, 1024);
  assert.ok(httpParser.detectRequest(patch));
  const r = httpParser.parseRequest(patch)!;
  assert.equal(r.method, 'PATCH');
  assert.ok(r.path!.endsWith('...'));
  assert.equal(r.path!.length, 1024 - 'PATCH '.length + 3);
  assert.equal(r.host, undefined);
});

test('status classes 1xx and 3xx, and unknown for out-of-range codes', () => {
  assert.deepEqual(httpParser.parseResponse(enc('HTTP/1.1 100 Continue\r\n\r\n')), { status: '1xx', code: 100 });
  assert.deepEqual(httpParser.parseResponse(enc('HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\n\r\n')), { status: '3xx', code: 301 });
  assert.deepEqual(httpParser.parseResponse(enc('HTTP/1.0 600 Weird\r\n')), { status: 'unknown', code: 600 });
  assert.deepEqual(httpParser.parseResponse(enc('HTTP/1.1 099 x\r\n')), { status: 'unknown', code: 99 });
  assert.equal(httpParser.parseResponse(enc('HTTP/1.1 2OO OK\r\n')), undefined);
  assert.deepEqual(httpParser.parseResponse(enc('HTTP/1.1 200')), { status: '2xx', code: 200 }, 'a cut status line still has its code');
});

test('detector: prefix methods, NUL in the first 15 bytes, TRACE parsed but not detected', () => {
  for (const m of ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'PATCH']) assert.ok(httpParser.detectRequest(enc(`${m} / HTTP/1.1\r\n`)), m);
  assert.equal(httpParser.detectRequest(enc('GET /\0 HTTP/1.1')), false);
  assert.equal(httpParser.detectRequest(enc('TRACE / HTTP/1.1\r\n\r\n')), false);
  assert.equal(httpParser.parseRequest(enc('TRACE /t HTTP/1.1\r\n\r\n'))?.method, 'TRACE');
  assert.equal(httpParser.detectRequest(enc('get / HTTP/1.1')), false);
  assert.equal(httpParser.parseRequest(enc('GETX / HTTP/1.1')), undefined);
  // Pipelined requests in one write: the first one is described.
  const two = httpParser.parseRequest(enc('GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: b\r\n\r\n'));
  assert.deepEqual(two, { method: 'GET', path: '/a', host: 'a' });
  // Headers after the blank line are body, not headers.
  assert.equal(httpParser.parseRequest(enc('POST / HTTP/1.1\r\n\r\nHost: x\r\n'))?.host, undefined);
  assert.equal(httpParser.parseRequest(enc('GET / HTTP/1.1\r\nHOST:  Spaced.example \r\n\r\n'))?.host, 'Spaced.example');
});
