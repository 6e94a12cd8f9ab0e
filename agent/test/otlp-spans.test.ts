// Spans made from captured requests, encoded by us and decoded with the official OTLP
// protobuf definitions (generated code of @opentelemetry/otlp-transformer 0.57).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { ProtobufWriter } from '@rootsight/common';
import { encodeExportTraceRequest, encodeSpan, type AgentSpan, type SpanResource } from '../src/export/otlp-traces.ts';
import { MAX_BATCH_SPANS, SpanExporter } from '../src/export/span-exporter.ts';
import { parseTraceparent, spanFromRequest, type CapturedRequest } from '../src/requests/request-span.ts';

/** An ExportTraceServiceRequest of one span, encoded as SpanExporter does it. */
function exportRequest(resource: SpanResource, span: AgentSpan): Uint8Array {
  const w = new ProtobufWriter();
  encodeSpan(w, 2, span);
  return encodeExportTraceRequest([{ resource, encodedSpans: w.finish() }], '0.1.0');
}

const require = createRequire(import.meta.url);
const root = require('otlp-official-protos/build/src/generated/root.js');
const ExportTraceServiceRequest = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const resource = { serviceName: '/docker/web', containerId: '/docker/web', hostName: 'node-1', hostId: 'abc' };
const base: CapturedRequest = {
  protocol: 'http', direction: 'outbound', request: { method: 'GET', path: '/api/items?id=1', host: 'web:8080' },
  response: { status: '5xx', code: 503 }, startUnixNano: 1_763_700_000_123_456_789n, durationNs: 2_500_000n, peerIp: '10.0.0.2', peerPort: 8080,
};

function decode(body: Uint8Array) {
  return ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), { longs: String, bytes: String, enums: Number });
}

test('an HTTP client span decodes with the official definitions', () => {
  const span = spanFromRequest(base)!;
  const obj = decode(exportRequest(resource, span));
  const rs = obj.resourceSpans[0];
  const res = Object.fromEntries(rs.resource.attributes.map((a: { key: string; value: { stringValue: string } }) => [a.key, a.value.stringValue]));
  assert.deepEqual(res, { 'service.name': '/docker/web', 'container.id': '/docker/web', 'host.name': 'node-1', 'host.id': 'abc' });
  assert.equal(rs.scopeSpans[0].scope.name, 'rootsight-agent');
  const s = rs.scopeSpans[0].spans[0];
  assert.equal(s.name, 'GET');
  assert.equal(s.kind, 3);
  assert.equal(s.startTimeUnixNano, '1763700000123456789');
  assert.equal(s.endTimeUnixNano, '1763700000125956789');
  assert.equal(s.status.code, 2, 'a 503 is an error');
  const attrs = Object.fromEntries(s.attributes.map((a: { key: string; value: Record<string, unknown> }) => [a.key, Object.values(a.value)[0]]));
  assert.deepEqual(attrs, { 'net.peer.name': '10.0.0.2', 'net.peer.port': '8080', 'http.url': 'http://web:8080/api/items?id=1', 'http.method': 'GET', 'http.status_code': '503' });
  assert.equal(Buffer.from(s.traceId, 'base64').length, 16);
  assert.equal(Buffer.from(s.spanId, 'base64').length, 8);
});

test('a request with a traceparent joins that trace as a child', () => {
  const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const span = spanFromRequest({ ...base, direction: 'inbound', request: { ...base.request, traceparent: tp } })!;
  const s = decode(exportRequest(resource, span)).resourceSpans[0].scopeSpans[0].spans[0];
  assert.equal(Buffer.from(s.traceId, 'base64').toString('hex'), '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(Buffer.from(s.parentSpanId, 'base64').toString('hex'), '00f067aa0ba902b7');
  assert.notEqual(Buffer.from(s.spanId, 'base64').toString('hex'), '00f067aa0ba902b7');
  assert.equal(s.kind, 2, 'inbound is a server span');
  for (const bad of ['', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', '00-xyz-00f067aa0ba902b7-01']) {
    assert.equal(parseTraceparent(bad), undefined, bad);
  }
});

test('database spans: statement, system, failure; metrics-only protocols make no span', () => {
  const pg = spanFromRequest({ ...base, protocol: 'postgres', request: { statement: 'SELECT 1' }, response: { status: 'failed' } })!;
  assert.equal(pg.name, 'query');
  assert.deepEqual([pg.attributes['db.system'], pg.attributes['db.statement'], pg.error], ['postgresql', 'SELECT 1', true]);
  const redis = spanFromRequest({ ...base, protocol: 'redis', request: { method: 'GET', statement: 'GET key' }, response: { status: 'ok' } })!;
  assert.deepEqual([redis.name, redis.attributes['db.operation'], redis.error], ['GET', 'GET', false]);
  assert.equal(spanFromRequest({ ...base, protocol: 'kafka' }), undefined);
  assert.equal(spanFromRequest({ ...base, protocol: 'postgres', request: {} }), undefined, 'no statement, no span');
});

test('the exporter batches per container and POSTs OTLP protobuf to /v1/traces with the API key', async () => {
  const bodies: Buffer[] = [];
  let key: string | undefined;
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => { bodies.push(Buffer.concat(chunks)); key = req.headers['x-api-key'] as string; res.writeHead(200).end(); });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const exporter = new SpanExporter({ url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v1/traces`, apiKey: 'k1', scopeVersion: '0.1.0' });
  const total = MAX_BATCH_SPANS + 188;
  for (let i = 0; i < total; i++) exporter.add(i % 2 ? resource : { ...resource, containerId: '/docker/other', serviceName: '/docker/other' }, spanFromRequest(base)!);
  await exporter.flush();
  exporter.close();
  srv.close();
  assert.equal(key, 'k1');
  const spans = bodies.map(decode).flatMap((o) => o.resourceSpans).map((rs: { scopeSpans: Array<{ spans: unknown[] }> }) => rs.scopeSpans[0]!.spans.length);
  assert.equal(spans.reduce((a: number, b: number) => a + b, 0), total);
  assert.equal(bodies.length, 2, `one batch at ${MAX_BATCH_SPANS} spans, one for the rest`);
  assert.equal(exporter.stats.sentItems, total);
});
