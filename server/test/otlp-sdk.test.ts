// Traces and logs from the real OpenTelemetry JS SDK (batch processors, the official OTLP
// exporters over http/json, http/protobuf and gRPC) land in ClickHouse and read back exactly:
// the SDK's own in-memory copy of every span / record is the expected value.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SpanKind, SpanStatusCode, context, trace, type Attributes } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as LogsGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as LogsJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogsProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as TraceGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as TraceJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TraceProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { LogRow, SpanRow } from '../src/storage/clickhouse/telemetry-store.ts';
import { removeDir, startTestServer, type TestServer } from './helpers.ts';

import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);
let server: TestServer;

before(async () => {
  server = await startTestServer({ otlpGrpcListen: '127.0.0.1:0' });
});
after(async () => {
  await server.close();
  removeDir(server.dataDir);
});

const hrNs = (t: [number, number]) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

/** How the server stores an SDK attribute value: scalars as text, arrays as JSON. */
function stored(attrs: Attributes): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? JSON.stringify(v) : String(v);
  }
  return out;
}

type Transport = 'http/json' | 'http/protobuf' | 'grpc';
const transports: Transport[] = ['http/json', 'http/protobuf', 'grpc'];

function traceExporter(t: Transport): SpanExporter {
  if (t === 'http/json') return new TraceJson({ url: `${server.url}/v1/traces` });
  if (t === 'http/protobuf') return new TraceProto({ url: `${server.url}/v1/traces` });
  return new TraceGrpc({ url: `http://${server.otlpGrpcAddress}` });
}

function logExporter(t: Transport): LogRecordExporter {
  if (t === 'http/json') return new LogsJson({ url: `${server.url}/v1/logs` });
  if (t === 'http/protobuf') return new LogsProto({ url: `${server.url}/v1/logs` });
  return new LogsGrpc({ url: `http://${server.otlpGrpcAddress}` });
}

describe('traces from the OpenTelemetry SDK', () => {
  for (const transport of transports) {
    it(`${transport}: every span reads back with its ids, parent, times, attributes, events and links`, async () => {
      const service = `checkout-${transport.replace('/', '-')}`;
      const memory = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': service, 'host.name': 'node-1', 'k8s.pod.uid': 'abc' }),
        spanProcessors: [new BatchSpanProcessor(traceExporter(transport), { maxExportBatchSize: 50, scheduledDelayMillis: 50 }), new SimpleSpanProcessor(memory)],
      });
      const tracer = provider.getTracer('shop', '1.2.3');
      for (let i = 0; i < 60; i++) {
        const root = tracer.startSpan(`GET /cart/${i % 3}`, { kind: SpanKind.SERVER, attributes: { 'http.method': 'GET', 'http.status_code': 200 + i, 'ratio': i / 7, 'retry': i % 2 === 0, 'tags': ['a', `b${i}`] } });
        const ctx = trace.setSpan(context.active(), root);
        const child = tracer.startSpan('SELECT carts', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' }, links: [{ context: root.spanContext(), attributes: { 'link.kind': 'follows' } }] }, ctx);
        child.addEvent('rows fetched', { rows: i });
        if (i % 5 === 0) child.setStatus({ code: SpanStatusCode.ERROR, message: `timeout ${i}` });
        child.end();
        root.setStatus({ code: SpanStatusCode.OK });
        root.end();
      }
      await provider.forceFlush();
      const expected = [...memory.getFinishedSpans()]; // the in-memory exporter forgets on shutdown
      await provider.shutdown();

      assert.equal(expected.length, 120);
      const got = await server.telemetry!.store.selectSpans({ serviceName: service });
      assert.equal(got.length, expected.length, 'span count');
      const byId = new Map(got.map((s) => [s.spanId, s]));
      for (const e of expected) {
        const s = byId.get(e.spanContext().spanId);
        assert.ok(s, `span ${e.spanContext().spanId} stored`);
        checkSpan(s, e, service);
      }
    });
  }
});

function checkSpan(s: SpanRow, e: ReadableSpan, service: string): void {
  assert.equal(s.traceId, e.spanContext().traceId);
  assert.equal(s.parentSpanId, e.parentSpanContext?.spanId ?? '');
  assert.equal(s.name, e.name);
  assert.equal(s.kind, e.kind + 1, 'OTLP kind = API kind + 1');
  assert.equal(s.startNs, hrNs(e.startTime));
  assert.equal(s.endNs, hrNs(e.endTime));
  assert.equal(s.serviceName, service);
  assert.deepEqual(s.attributes, stored(e.attributes));
  assert.deepEqual(s.resourceAttributes, stored(e.resource.attributes));
  assert.equal(s.scopeName, 'shop');
  assert.equal(s.scopeVersion, '1.2.3');
  assert.equal(s.statusCode, e.status.code);
  assert.equal(s.statusMessage, e.status.message ?? '');
  assert.deepEqual(s.events.map((x) => ({ name: x.name, t: x.timeNs, a: x.attributes })), e.events.map((x) => ({ name: x.name, t: hrNs(x.time), a: stored(x.attributes ?? {}) })));
  assert.deepEqual(s.links.map((l) => ({ t: l.traceId, s: l.spanId, a: l.attributes })), e.links.map((l) => ({ t: l.context.traceId, s: l.context.spanId, a: stored(l.attributes ?? {}) })));
}

describe('logs from the OpenTelemetry SDK', () => {
  for (const transport of transports) {
    it(`${transport}: every record reads back with body, severity, attributes and trace context`, async () => {
      const service = `billing-${transport.replace('/', '-')}`;
      const memory = new InMemoryLogRecordExporter();
      const provider = new LoggerProvider({
        resource: resourceFromAttributes({ 'service.name': service }),
        processors: [new BatchLogRecordProcessor({ exporter: logExporter(transport), maxExportBatchSize: 40, scheduledDelayMillis: 50 }), new SimpleLogRecordProcessor({ exporter: memory })],
      });
      const logger = provider.getLogger('billing-logger', '0.9');
      const tracer = new BasicTracerProvider().getTracer('t');
      for (let i = 0; i < 100; i++) {
        const span = tracer.startSpan('op');
        logger.emit({
          severityNumber: i % 2 ? SeverityNumber.ERROR : SeverityNumber.INFO,
          severityText: i % 2 ? 'ERROR' : 'INFO',
          body: `invoice ${i} ${'x'.repeat(i)}`,
          attributes: { 'invoice.id': i, 'customer': `c${i % 7}`, 'amount': i * 1.25 },
          timestamp: new Date(Date.UTC(2025, 0, 2, 3, 4, 5) + i),
          context: i % 3 === 0 ? trace.setSpan(context.active(), span) : context.active(),
        });
        span.end();
      }
      await provider.forceFlush();
      const expected = [...memory.getFinishedLogRecords()];
      await provider.shutdown();

      assert.equal(expected.length, 100);
      const got = await server.telemetry!.store.selectLogs({ serviceName: service });
      assert.equal(got.length, 100, 'record count');
      const byBody = new Map(got.map((l) => [l.body, l]));
      for (const e of expected) {
        const l = byBody.get(String(e.body));
        assert.ok(l, `record "${String(e.body).slice(0, 20)}" stored`);
        checkLog(l, e, service);
      }
    });
  }
});

function checkLog(l: LogRow, e: ReadableLogRecord, service: string): void {
  assert.equal(l.timeNs, hrNs(e.hrTime));
  assert.equal(l.observedNs, hrNs(e.hrTimeObserved));
  assert.equal(l.severityNumber, e.severityNumber);
  assert.equal(l.severityText, e.severityText);
  assert.equal(l.serviceName, service);
  assert.deepEqual(l.attributes, stored(e.attributes as Attributes));
  assert.equal(l.traceId, e.spanContext?.traceId ?? '');
  assert.equal(l.spanId, e.spanContext?.spanId ?? '');
  assert.equal(l.scopeName, 'billing-logger');
  assert.equal(l.scopeVersion, '0.9');
}
