import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Http2Connection, http2Parser, http2Status, isHttp2Frame, isHttp2Preface, type Http2Exchange } from '../src/l7/http2.ts';
import { GRPC, HTTP2, type Chunk } from '../src/l7/testdata/captures.ts';
import { fromHex } from '../src/l7/util.ts';

function run(chunks: Chunk[], split?: (b: Uint8Array) => Uint8Array[]): { out: Http2Exchange[]; conn: Http2Connection } {
  const conn = new Http2Connection();
  const out: Http2Exchange[] = [];
  let t = 1000;
  for (const c of chunks) {
    const b = fromHex(c.hex);
    for (const piece of split ? split(b) : [b]) out.push(...conn.feed(c.dir === 'c' ? 'client' : 'server', piece, t));
    t += 10;
  }
  return { out, conn };
}

const strip = (e: Http2Exchange) => ({ id: e.streamId, method: e.method, path: e.path, status: e.status, http: e.httpStatus, grpc: e.grpcStatus });

test('gRPC capture: pairs per stream, grpc-status from trailers and from trailers-only responses, traceparent', () => {
  const { out, conn } = run(GRPC);
  assert.deepEqual(out.map(strip), [
    { id: 1, method: 'POST', path: '/demo.Items/Get', status: 'grpc:OK', http: 200, grpc: 0 },
    { id: 3, method: 'POST', path: '/demo.Items/Get', status: 'grpc:NOT_FOUND', http: 200, grpc: 5 },
    { id: 5, method: 'POST', path: '/demo.Items/Get', status: 'grpc:OK', http: 200, grpc: 0 },
    { id: 7, method: 'POST', path: '/demo.Items/List', status: 'grpc:UNAVAILABLE', http: 200, grpc: 14 },
  ]);
  assert.equal(out[0].traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  assert.equal(out[0].authority, '127.0.0.1:15061');
  assert.equal(out[0].scheme, 'http');
  assert.equal(out[1].grpcMessage, 'no%20such%20item');
  // Timestamps come from the caller: request chunk, first response HEADERS, end of stream.
  assert.equal(out[0].requestTime, 1020);
  assert.equal(out[0].responseTime, 1030);
  assert.equal(out[0].endTime, 1040);
  assert.equal(out[0].duration, 10);
  assert.deepEqual(out[3].response, { status: 'grpc:UNAVAILABLE', code: 14 });
  assert.deepEqual(out[0].request, { method: 'POST', path: '/demo.Items/Get', host: '127.0.0.1:15061', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
  assert.equal(conn.pendingStreams, 0);
  assert.equal(conn.isBroken('client') || conn.isBroken('server'), false);
});

test('node:http2 capture: status classes, RST_STREAM, a header of every byte 0x20-0xff, a 20000-byte Huffman header', () => {
  const { out, conn } = run(HTTP2);
  assert.deepEqual(out.map(strip), [
    { id: 1, method: 'GET', path: '/api/items?limit=10', status: '2xx', http: 200, grpc: undefined },
    { id: 3, method: 'GET', path: '/missing', status: '4xx', http: 404, grpc: undefined },
    { id: 5, method: 'POST', path: '/boom', status: '5xx', http: 503, grpc: undefined },
    { id: 7, method: 'GET', path: '/reset', status: 'unknown', http: undefined, grpc: undefined },
    { id: 9, method: 'GET', path: '/bytes', status: '2xx', http: 200, grpc: undefined },
    { id: 11, method: 'GET', path: '/big', status: '2xx', http: 200, grpc: undefined },
  ]);
  assert.equal(out[3].resetCode, 8, 'CANCEL');
  assert.equal(out[0].traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  assert.equal(conn.isBroken('client') || conn.isBroken('server'), false);
});

test('Huffman over all header bytes 0x20-0xff decodes exactly (nghttp2 encoded them)', () => {
  // Decode the /bytes request with a connection and compare the x-bytes header via a fresh decode
  // of both sides: the server echoed it back, so both directions' decoders must agree.
  let expected = '';
  for (let b = 0x20; b < 0x100; b++) if (b !== 0x7f) expected += 'eeeeeeeeeeeeeeeeeeee' + String.fromCharCode(b);
  const conn = new Http2Connection();
  const seen: string[] = [];
  const orig = (conn as unknown as { onRequestHeaders: (id: number, f: [string, string][], ts: number) => void });
  const base = orig.onRequestHeaders.bind(conn);
  orig.onRequestHeaders = (id, f, ts) => { for (const [n, v] of f) if (n === 'x-bytes') seen.push(v); base(id, f, ts); };
  for (const c of HTTP2) conn.feed(c.dir === 'c' ? 'client' : 'server', fromHex(c.hex), 0);
  assert.deepEqual(seen, [expected]);
});

test('frames split at every byte boundary and byte-by-byte give the same pairs', () => {
  const whole = run(GRPC).out.map(strip);
  assert.deepEqual(run(GRPC, (b) => [...b].map((x) => Uint8Array.of(x))).out.map(strip), whole);
  assert.deepEqual(run(GRPC, (b) => [b.subarray(0, 5), b.subarray(5, 13), b.subarray(13)]).out.map(strip), whole);
  assert.deepEqual(run(HTTP2, (b) => { const p: Uint8Array[] = []; for (let i = 0; i < b.length; i += 7) p.push(b.subarray(i, i + 7)); return p; }).out.map(strip), run(HTTP2).out.map(strip));
});

function frame(type: number, flags: number, stream: number, payload: number[] | Uint8Array): Uint8Array {
  const p = Uint8Array.from(payload);
  const out = new Uint8Array(9 + p.length);
  out.set([p.length >> 16, (p.length >> 8) & 0xff, p.length & 0xff, type, flags, (stream >>> 24) & 0x7f, (stream >> 16) & 0xff, (stream >> 8) & 0xff, stream & 0xff]);
  out.set(p, 9);
  return out;
}

test('HEADERS + CONTINUATION, padding, priority, trailers in a separate HEADERS', () => {
  const c = new Http2Connection();
  // :method GET, :scheme https, :path /index.html, :authority www.example.com (RFC C.3.3 minus custom)
  const block = fromHex('828785' + '410f7777772e6578616d706c652e636f6d');
  const pad = [3, ...block.subarray(0, 4), 0, 0, 0];
  c.feedClient(new TextEncoder().encode('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), 1);
  c.feedClient(frame(1, 0x08 | 0x01, 1, pad), 1); // PADDED, END_STREAM, no END_HEADERS
  c.feedClient(frame(9, 0x04, 1, block.subarray(4)), 2);
  assert.equal(c.pendingStreams, 1);
  assert.equal(c.feedServer(frame(1, 0x20 | 0x04, 1, [0, 0, 0, 0, 16, 0x88]), 5).length, 0); // PRIORITY, :status 200
  assert.equal(c.feedServer(frame(0, 0, 1, [1, 2, 3]), 6).length, 0);
  const out = c.feedServer(frame(1, 0x05, 1, fromHex('400b677270632d737461747573023133')), 9); // grpc-status: 13
  assert.equal(out.length, 1);
  assert.equal(out[0].status, 'grpc:INTERNAL');
  assert.equal(out[0].path, '/index.html');
  assert.equal(out[0].authority, 'www.example.com');
  assert.equal(out[0].scheme, 'https');
  assert.equal(out[0].requestTime, 1);
  assert.equal(out[0].responseTime, 5);
  assert.equal(out[0].endTime, 9);
});

test('CONTINUATION on another stream or an HPACK error stops decoding that direction', () => {
  const c = new Http2Connection();
  c.feedClient(frame(1, 0, 1, [0x82]), 0);
  c.feedClient(frame(9, 4, 3, [0x84]), 0);
  assert.equal(c.isBroken('client'), true);
  const d = new Http2Connection();
  d.feedServer(frame(1, 4, 1, [0xff, 0xff, 0xff, 0xff, 0x0f]), 0);
  assert.equal(d.isBroken('server'), true);
  assert.deepEqual(d.feedServer(frame(1, 5, 1, [0x88]), 0), []);
});

test('a response to an unknown stream is ignored; expire drops old streams; a joined connection without the preface works', () => {
  const c = new Http2Connection();
  assert.deepEqual(c.feedServer(frame(1, 5, 1, [0x88]), 0), []);
  c.feedClient(frame(1, 5, 1, [0x82, 0x84, 0x86]), 0);
  c.feedClient(frame(1, 5, 3, [0x82, 0x84, 0x86]), 100);
  assert.equal(c.expire(150, 60), 1);
  assert.equal(c.pendingStreams, 1);
  const out = c.feedServer(frame(1, 5, 3, [0x8d]), 200);
  assert.equal(out[0].status, '4xx');
  assert.equal(out[0].httpStatus, 404);
});

test('SETTINGS_HEADER_TABLE_SIZE lets the peer grow its table; 1xx headers do not end the wait', () => {
  const c = new Http2Connection();
  c.feedClient(frame(4, 0, 0, [0, 1, 0, 1, 0, 0]), 0); // client allows a 65536 table for server → client
  c.feedClient(frame(1, 5, 1, [0x82, 0x84, 0x86]), 0);
  assert.equal(c.feedServer(frame(1, 4, 1, fromHex('3fe1ff03' + '4803313030')), 1).length, 0); // size update to 65536 + :status 100
  assert.equal(c.isBroken('server'), false);
  const out = c.feedServer(frame(1, 5, 1, [0x88]), 2);
  assert.equal(out[0].httpStatus, 200);
  assert.equal(out[0].responseTime, 2);
});

test('stateless parser: preface / frame detection and the first request and response of a capture', () => {
  const first = fromHex(GRPC[0].hex);
  assert.ok(isHttp2Preface(first));
  assert.ok(http2Parser.detectRequest(first));
  assert.ok(isHttp2Frame(fromHex(GRPC[1].hex)));
  assert.equal(isHttp2Frame(new TextEncoder().encode('GET / HTTP/1.1\r\n')), false);
  assert.deepEqual(http2Parser.parseRequest(fromHex(GRPC[2].hex)), { method: 'POST', path: '/demo.Items/Get', host: '127.0.0.1:15061', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
  assert.deepEqual(http2Parser.parseResponse(fromHex(GRPC[4].hex)), { status: 'grpc:OK', code: 0 });
  assert.deepEqual(http2Parser.parseResponse(frame(1, 5, 1, [0x8d])), { status: '4xx', code: 404 });
  // Cut at 1 KiB: the frames that fit are still read.
  assert.equal(http2Parser.parseRequest(fromHex(HTTP2[0].hex).subarray(0, 60))?.method, 'unknown');
});

test('status labels: every gRPC code name and HTTP classes', () => {
  const names = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
    'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
  names.forEach((n, i) => assert.equal(http2Status(200, i), `grpc:${n}`));
  assert.equal(http2Status(200, 17), 'unknown');
  assert.equal(http2Status(101, undefined), '1xx');
  assert.equal(http2Status(302, undefined), '3xx');
  assert.equal(http2Status(undefined, undefined), 'unknown');
});

test('a capped chunk: a missing tail inside a DATA payload is skipped; a missing tail with frame headers stops the direction', () => {
  const c = new Http2Connection();
  c.feedClient(frame(1, 4, 1, [0x82, 0x84, 0x86]), 0); // GET / http, END_HEADERS
  c.feedClient(frame(1, 4, 3, [0x82, 0x84, 0x86]), 0);
  // The server's HEADERS and the first 10 of 100 DATA bytes were captured; the syscall moved all 109 + 9.
  const data = frame(0, 0, 1, new Array(100).fill(7));
  const captured = new Uint8Array([...frame(1, 4, 1, [0x88]), ...data.subarray(0, 19)]);
  assert.deepEqual(c.feed('server', captured, 5, captured.length + 90), []);
  assert.equal(c.gaps, 0);
  const out = c.feedServer(frame(0, 1, 1, []), 6); // END_STREAM: parsing resumed at the right byte
  assert.equal(out.length, 1);
  assert.equal(out[0].status, '2xx');
  // Now the tail of a chunk held another response's HEADERS: it cannot be decoded, and later
  // header blocks may refer to table entries it added, so the server direction stops.
  const end3 = frame(1, 5, 3, [0x88]);
  assert.deepEqual(c.feed('server', frame(0, 0, 3, [1, 2]), 7, 11 + end3.length), []);
  assert.equal(c.gaps, 1);
  assert.equal(c.isBroken('server'), true);
  assert.equal(c.isBroken('client'), false);
});

test('joined at every chunk of the gRPC and node:http2 captures: every stream begun after the join is paired, with its status or "unknown", never another', () => {
  for (const [name, capture] of [['gRPC', GRPC], ['node:http2', HTTP2]] as const) {
    const full = run(capture).out;
    const byId = new Map(full.map((e) => [e.streamId, e]));
    let unknown = 0, known = 0;
    for (let j = 1; j < capture.length; j++) {
      if (capture[j]!.dir !== 'c') continue; // the kernel starts shipping at a client write
      const late = new Http2Connection();
      const out: Http2Exchange[] = [];
      for (let i = j; i < capture.length; i++) out.push(...late.feed(capture[i]!.dir === 'c' ? 'client' : 'server', fromHex(capture[i]!.hex), 1000 + 10 * i));
      const begunAfter = full.filter((e) => e.requestTime >= 1000 + 10 * j).map((e) => e.streamId);
      assert.deepEqual(out.map((e) => e.streamId), begunAfter, `${name} joined at chunk ${j}`);
      assert.equal(late.joinedLate, !isHttp2Preface(fromHex(capture[j]!.hex)));
      for (const e of out) {
        const truth = byId.get(e.streamId)!;
        assert.ok(e.status === truth.status || e.status === 'unknown', `${name} @${j} stream ${e.streamId}: ${e.status}, truly ${truth.status}`);
        assert.ok(e.path === truth.path || e.path === '/unknown', `${name} @${j} stream ${e.streamId}: ${e.path}`);
        assert.equal(e.duration, truth.duration);
        if (e.status === 'unknown') unknown++; else known++;
      }
    }
    assert.ok(known > 0, `${name}: some statuses are still read after a late join (${known} known, ${unknown} unknown)`);
  }
});
