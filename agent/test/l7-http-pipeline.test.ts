// HTTP/1.1 pipelining in one write: every request in the captured bytes is counted, each with the
// status of its own response where the captured response bytes show it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitHttpPipeline } from '../src/l7/http.ts';

const b = (s: string) => Buffer.from(s);
const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: web\r\nUser-Agent: h2load nghttp2/1.52.0\r\n\r\n`;
const ok = (body: string, code = '200 OK') => `HTTP/1.1 ${code}\r\nServer: nginx\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

test('a single request is not split (the common case)', () => {
  assert.equal(splitHttpPipeline(b(get('/')), b(ok('ok\n'))), undefined);
  assert.equal(splitHttpPipeline(b(`POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody`), b(ok('ok'))), undefined);
});

test('three pipelined GETs get their own statuses', () => {
  const r = splitHttpPipeline(b(get('/a') + get('/b') + get('/c')), b(ok('ok\n') + ok('no\n', '404 Not Found') + ok('x', '500 Internal Server Error')));
  assert.deepEqual(r?.map((x) => [x.request.method, x.request.path, x.response.status]), [['GET', '/a', '2xx'], ['GET', '/b', '4xx'], ['GET', '/c', '5xx']]);
});

test('responses beyond the captured bytes are unknown, cut requests are not counted', () => {
  const responses = ok('ok\n') + ok('ok\n').slice(0, 20);
  const r = splitHttpPipeline(b(get('/a') + get('/b') + get('/c') + 'GET /d HT'), b(responses));
  assert.deepEqual(r?.map((x) => [x.request.path, x.response.status]), [['/a', '2xx'], ['/b', '2xx'], ['/c', 'unknown'], ['/d', 'unknown']].slice(0, r?.length));
  assert.equal(r?.length, 4, 'a request line that is visible counts even when its headers are cut');
});

test('a POST body is skipped by its Content-Length; a chunked response stops the pairing', () => {
  const req = `POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nGET /` + get('/after');
  const r = splitHttpPipeline(b(req), b(`HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n` + ok('ok')));
  assert.deepEqual(r?.map((x) => [x.request.method, x.request.path, x.response.status]), [['POST', '/p', '2xx'], ['GET', '/after', 'unknown']]);
});

test('hostile bytes never throw', () => {
  for (let i = 0; i < 20_000; i++) {
    const req = Buffer.from(get('/a') + get('/b'));
    const resp = Buffer.from(ok('ok') + ok('ok'));
    for (let k = 0; k < 4; k++) { req[Math.floor(Math.random() * req.length)] = Math.floor(Math.random() * 256); resp[Math.floor(Math.random() * resp.length)] = Math.floor(Math.random() * 256); }
    const r = splitHttpPipeline(req, resp);
    assert.ok(r === undefined || r.length >= 2);
  }
});
