// Every Content-Encoding with hand-made bodies, pprof uploads, and hostile input on every ingest
// endpoint: each bad request gets a 4xx (or gRPC INVALID_ARGUMENT) naming the problem, the server
// stays up, and what was stored before is unchanged.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { deflateSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Client, Metadata, credentials, status as grpcStatus } from '@grpc/grpc-js';
import { ProtobufWriter, snappyCompress } from '@rootsight/common';
import { encodeLogsRequest, encodeTracesRequest, type SpanInput } from '../src/ingest/otlp-encode.ts';
import { encodePprof } from '../src/ingest/pprof.ts';
import { removeDir, startTestServer, type TestServer } from './helpers.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer({ otlpGrpcListen: '127.0.0.1:0', telemetry: { maxCompressedBytes: 4 * 1024 * 1024, maxDecompressedBytes: 8 * 1024 * 1024 } });
});
after(async () => {
  await server.close();
  removeDir(server.dataDir);
});

const T = 1_736_000_000_000_000_000n;
let idSeq = 1;
const hexId = (n: number, bytes: number) => n.toString(16).padStart(bytes * 2, '0');

function spans(service: string, n: number): { body: Uint8Array; items: SpanInput[] } {
  const items: SpanInput[] = [];
  for (let i = 0; i < n; i++) {
    const id = idSeq++;
    items.push({ traceId: hexId(id, 16), spanId: hexId(id, 8), name: `op${i}`, kind: 2, startNs: T + BigInt(id), endNs: T + BigInt(id) + 1000n, attributes: { i } });
  }
  return { body: encodeTracesRequest([{ attributes: { 'service.name': service }, scopes: [{ name: 's', items }] }]), items };
}

const post = (path: string, body: Uint8Array | string, headers: Record<string, string>) =>
  fetch(`${server.url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : Buffer.from(body), headers });

/** A snappy stream in the framing format, one uncompressed chunk (checksum unchecked by the server). */
function framedSnappy(data: Uint8Array): Buffer {
  const header = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
  const len = data.length + 4;
  return Buffer.concat([header, Buffer.from([0x01, len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, 0, 0, 0, 0]), data]);
}

describe('Content-Encoding', () => {
  const encodings: [string, (b: Uint8Array) => Uint8Array][] = [
    ['identity', (b) => b],
    ['gzip', (b) => gzipSync(b)],
    ['deflate', (b) => deflateSync(b)],
    ['zstd', (b) => execFileSync('zstd', ['-q', '-c'], { input: b })],
    ['snappy', (b) => snappyCompress(b)],
    ['snappy', (b) => framedSnappy(b)],
  ];
  for (const [i, [enc, compress]] of encodings.entries()) {
    it(`${enc}${i === 5 ? ' (framed)' : ''}: protobuf traces and JSON logs are stored`, async () => {
      const service = `enc-${i}`;
      const { body } = spans(service, 25);
      const r = await post('/v1/traces', compress(body), { 'content-type': 'application/x-protobuf', 'content-encoding': enc });
      assert.equal(r.status, 200, await r.text());
      assert.equal((await server.telemetry!.store.selectSpans({ serviceName: service })).length, 25);
      const json = JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeLogs: [{ logRecords: [
        { timeUnixNano: String(T), severityText: 'WARN', severityNumber: 13, body: { stringValue: `hello ${enc}` }, attributes: [{ key: 'k', value: { intValue: '7' } }] },
      ] }] }] });
      const rl = await post('/v1/logs', compress(Buffer.from(json)), { 'content-type': 'application/json', 'content-encoding': enc });
      assert.equal(rl.status, 200, await rl.text());
      const logs = await server.telemetry!.store.selectLogs({ serviceName: service });
      assert.deepEqual(logs.map((l) => [l.body, l.severityText, l.severityNumber, l.attributes, l.timeNs]), [[`hello ${enc}`, 'WARN', 13, { k: '7' }, T]]);
    });
  }
});

describe('pprof upload', () => {
  it('stores samples per profile type with stacks and labels', async () => {
    const stackA = [{ fn: 'main.work', file: 'main.go', line: 42 }, { fn: 'main.main', file: 'main.go', line: 10 }];
    const stackB = [{ fn: 'runtime.mallocgc', file: 'malloc.go', line: 900 }, { fn: 'main.main', file: 'main.go', line: 11 }];
    const pprof = encodePprof({
      sampleTypes: [{ type: 'alloc_objects', unit: 'count' }, { type: 'alloc_space', unit: 'bytes' }],
      samples: [
        { stack: stackA, values: [3, 300] },
        { stack: stackB, values: [5, 4096], labels: { thread: 'worker' } },
        { stack: stackA, values: [1, 100] },
      ],
      timeNs: Number(T / 1_000_000n) * 1_000_000, durationNs: 10_000_000_000,
    });
    const r = await fetch(`${server.url}/v1/profiles?service.name=api&container.id=/docker/abc&host.name=h1`, { method: 'POST', body: gzipSync(pprof) });
    assert.equal(r.status, 200, await r.text());
    const space = await server.telemetry!.store.selectProfile('api', 'alloc_space:bytes');
    assert.deepEqual(space.map((s) => [s.stack, s.value]), [
      [['main.work main.go:42', 'main.main main.go:10'], 400n],
      [['runtime.mallocgc malloc.go:900', 'main.main main.go:11'], 4096n],
    ]);
    assert.equal(space[0]!.labels['container.id'], '/docker/abc');
    assert.equal(space[0]!.labels['host.name'], 'h1');
    assert.equal(space[1]!.labels['thread'], 'worker');
    const objects = await server.telemetry!.store.selectProfile('api', 'alloc_objects:count');
    assert.deepEqual(objects.map((s) => s.value), [4n, 5n]);
  });
});

// ------------------------------------------------------------------ hostile input

function grpcExport(path: string, body: Uint8Array): Promise<{ code: number; details: string }> {
  const client = new Client(server.otlpGrpcAddress!, credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(body), new Metadata(), (err) => {
      client.close();
      resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '' });
    });
  });
}

function negativeTimestampSpan(): Uint8Array {
  // start_time = 2^63 + 1: negative as int64.
  const span = new ProtobufWriter().bytes(1, Buffer.alloc(16, 1)).bytes(2, Buffer.alloc(8, 2)).string(5, 'neg');
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64LE((1n << 63n) + 1n);
  span.tag(7, 1);
  const raw = Buffer.concat([Buffer.from(span.finish()), ts]);
  const ss = new ProtobufWriter().bytes(2, raw);
  return new ProtobufWriter().message(1, new ProtobufWriter().message(2, ss)).finish();
}

function hugeAttributes(): Uint8Array {
  const attributes: Record<string, string> = {};
  for (let i = 0; i < 5000; i++) attributes[`k${i}`] = 'v';
  return encodeTracesRequest([{ attributes: {}, scopes: [{ name: 's', items: [{ traceId: hexId(99, 16), spanId: hexId(99, 8), name: 'x', startNs: T, endNs: T, attributes }] }] }]);
}

describe('bad input', () => {
  let storedBefore: { traces: number; logs: number; profiles: number };
  before(async () => {
    const { body } = spans('baseline', 10);
    assert.equal((await post('/v1/traces', body, { 'content-type': 'application/x-protobuf' })).status, 200);
    const s = server.telemetry!.store;
    storedBefore = { traces: await s.count('traces'), logs: await s.count('logs'), profiles: await s.count('profiles') };
  });

  const pb = { 'content-type': 'application/x-protobuf' };
  const js = { 'content-type': 'application/json' };
  const cases: { name: string; path: string; body: Uint8Array | string; headers: Record<string, string>; status: number; message: RegExp }[] = [
    { name: 'malformed protobuf (truncated)', path: '/v1/traces', body: spans('x', 3).body.subarray(0, 40), headers: pb, status: 400, message: /malformed protobuf|must be|truncated/ },
    { name: 'malformed protobuf (garbage)', path: '/v1/logs', body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]), headers: pb, status: 400, message: /malformed protobuf/ },
    { name: 'bad JSON', path: '/v1/traces', body: '{"resourceSpans": [', headers: js, status: 400, message: /malformed JSON/ },
    { name: 'JSON of the wrong shape', path: '/v1/logs', body: '{"resourceLogs": {"a": 1}}', headers: js, status: 400, message: /resourceLogs must be a JSON array/ },
    { name: 'wrong gzip', path: '/v1/traces', body: Buffer.from('not gzip at all'), headers: { ...pb, 'content-encoding': 'gzip' }, status: 400, message: /not valid gzip/ },
    { name: 'wrong snappy', path: '/v1/traces', body: Buffer.from([0x40, 0xff, 0xff, 0x01]), headers: { ...pb, 'content-encoding': 'snappy' }, status: 400, message: /not valid snappy/ },
    { name: 'wrong zstd', path: '/v1/logs', body: Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 1]), headers: { ...pb, 'content-encoding': 'zstd' }, status: 400, message: /not valid zstd/ },
    { name: 'unknown encoding', path: '/v1/traces', body: 'x', headers: { ...pb, 'content-encoding': 'br' }, status: 415, message: /unsupported Content-Encoding "br"/ },
    { name: 'wrong content type', path: '/v1/traces', body: 'hello', headers: { 'content-type': 'text/plain' }, status: 415, message: /expects Content-Type application\/x-protobuf or application\/json/ },
    { name: 'no content type', path: '/v1/logs', body: Buffer.from('hello'), headers: {}, status: 415, message: /got none/ },
    { name: 'NaN timestamp', path: '/v1/traces', body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: hexId(7, 16), spanId: hexId(7, 8), startTimeUnixNano: 'NaN' }] }] }] }), headers: js, status: 400, message: /startTimeUnixNano must be an integer/ },
    { name: 'negative timestamp (JSON)', path: '/v1/logs', body: JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: '-5' }] }] }] }), headers: js, status: 400, message: /out of range/ },
    { name: 'negative timestamp (protobuf)', path: '/v1/traces', body: negativeTimestampSpan(), headers: pb, status: 400, message: /out of range/ },
    { name: 'huge attribute set', path: '/v1/traces', body: hugeAttributes(), headers: pb, status: 400, message: /more than 1024 attributes/ },
    { name: 'oversized body', path: '/v1/logs', body: Buffer.alloc(5 * 1024 * 1024, 1), headers: pb, status: 413, message: /larger than the limit/ },
    { name: 'gzip bomb', path: '/v1/logs', body: gzipSync(Buffer.alloc(20 * 1024 * 1024)), headers: { ...pb, 'content-encoding': 'gzip' }, status: 413, message: /larger than the limit of 8388608/ },
    { name: 'short trace id', path: '/v1/traces', body: encodeTracesRequest([{ attributes: {}, scopes: [{ name: 's', items: [{ traceId: 'abcd', spanId: hexId(1, 8), name: 'x', startNs: T, endNs: T }] }] }]), headers: pb, status: 400, message: /trace_id must be 16 bytes, got 2/ },
    { name: 'pprof without service.name', path: '/v1/profiles', body: gzipSync(Buffer.from([1])), headers: {}, status: 400, message: /needs the query parameter service.name/ },
    { name: 'pprof garbage', path: '/v1/profiles?service.name=x', body: Buffer.from([0x12, 0xff, 0xff, 0x7f]), headers: {}, status: 400, message: /malformed pprof/ },
    { name: 'pprof with dangling location', path: '/v1/profiles?service.name=x', body: new ProtobufWriter().message(1, new ProtobufWriter().uint(1, 1)).message(2, new ProtobufWriter().uint(1, 9).uint(2, 1)).string(6, '').string(6, 'cpu').finish(), headers: {}, status: 400, message: /location 9, which is not defined/ },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.status}`, async () => {
      const r = await post(c.path, c.body, c.headers);
      const text = await r.text();
      assert.equal(r.status, c.status, text);
      assert.match(text, c.message);
    });
  }

  it('gRPC: malformed messages and invalid spans → INVALID_ARGUMENT', async () => {
    const bad = await grpcExport('/opentelemetry.proto.collector.trace.v1.TraceService/Export', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    assert.equal(bad.code, grpcStatus.INVALID_ARGUMENT);
    assert.match(bad.details, /malformed protobuf/);
    const neg = await grpcExport('/opentelemetry.proto.collector.trace.v1.TraceService/Export', negativeTimestampSpan());
    assert.equal(neg.code, grpcStatus.INVALID_ARGUMENT);
    assert.match(neg.details, /out of range/);
    const huge = await grpcExport('/opentelemetry.proto.collector.logs.v1.LogsService/Export', hugeAttributes());
    assert.equal(huge.code, grpcStatus.INVALID_ARGUMENT, huge.details);
  });

  it('random byte strings never crash an endpoint', async () => {
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 150; i++) {
      const len = Math.floor(rnd() * 300);
      const body = Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256)));
      const path = ['/v1/traces', '/v1/logs', '/v1/profiles?service.name=f'][i % 3]!;
      const r = await post(path, body, i % 2 ? pb : js);
      assert.ok(r.status === 200 || (r.status >= 400 && r.status < 500), `${path} answered ${r.status} for random body ${i}`);
      await r.arrayBuffer();
    }
    const g = await grpcExport('/opentelemetry.proto.collector.logs.v1.LogsService/Export', Buffer.from([0x0a, 0x03, 0x12, 0x01]));
    assert.ok(g.code === 0 || g.code === grpcStatus.INVALID_ARGUMENT);
  });

  after(async () => {
    // Still up, and nothing that was stored changed (accepted random bodies hold no rows).
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    const s = server.telemetry!.store;
    assert.equal(await s.count('traces'), storedBefore.traces);
    assert.equal(await s.count('logs'), storedBefore.logs);
    assert.equal(await s.count('profiles'), storedBefore.profiles);
    assert.equal((await s.selectSpans({ serviceName: 'baseline' })).length, 10);
  });
});

describe('logs encoder round trip', () => {
  it('protobuf logs with trace context', async () => {
    const body = encodeLogsRequest([{ attributes: { 'service.name': 'pb-logs' }, scopes: [{ name: 'l', items: [
      { timeNs: T + 5n, severityNumber: 17, severityText: 'ERROR', body: 'boom', traceId: hexId(5, 16), spanId: hexId(5, 8), attributes: { a: 1.5 } },
    ] }] }]);
    assert.equal((await post('/v1/logs', body, { 'content-type': 'application/x-protobuf' })).status, 200);
    const [l] = await server.telemetry!.store.selectLogs({ serviceName: 'pb-logs' });
    assert.deepEqual([l!.body, l!.traceId, l!.spanId, l!.attributes, l!.timeNs, l!.observedNs], ['boom', hexId(5, 16), hexId(5, 8), { a: '1.5' }, T + 5n, T + 5n]);
  });
});
