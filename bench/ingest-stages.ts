// Where ingest time goes, per stage, without HTTP: decode (protobuf → rows/columns), encode (rows →
// a Native block for samples, RowBinary for spans and logs) and insert (chDB), for remote-write
// samples, OTLP spans and OTLP log records; "1p" is the one-pass protobuf → RowBinary path the
// server uses for OTLP protobuf (all of it under encode; remote write's snappy is not timed). Prints
// wall milliseconds per request body and the rate each stage alone would allow, so a change to one
// stage shows up next to the others measured in the same run.
//   node --import tsx bench/ingest-stages.ts [--bodies 40]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWriteRequest, snappyCompress, snappyUncompress, type TimeSeries } from '@rootsight/common';
import { decodeLogsProto, decodeTracesProto } from '../server/src/ingest/otlp-decode.ts';
import { encodeLogsRequest, encodeTracesRequest, type LogInput, type SpanInput } from '../server/src/ingest/otlp-encode.ts';
import { encodeLogsProto } from '../server/src/ingest/otlp-log-rows.ts';
import { encodeTracesProto } from '../server/src/ingest/otlp-span-rows.ts';
import { defaultOtlpLimits } from '../server/src/ingest/otlp-values.ts';
import { SeriesIdentityCache, decodeWriteRequestSamples } from '../server/src/ingest/write-request-rows.ts';
import { MetricsStore } from '../server/src/storage/clickhouse/metrics-store.ts';
import { RowBinaryWriter } from '../server/src/storage/clickhouse/row-binary.ts';
import { encodeSampleBlock } from '../server/src/storage/clickhouse/sample-block.ts';
import { ClickHouseSession } from '../server/src/storage/clickhouse/session.ts';
import { TelemetryStore, encodeLogs, encodeSpans } from '../server/src/storage/clickhouse/telemetry-store.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const bodiesN = arg('bodies', 40);
const perBody = 5000;
const now = BigInt(Date.now()) * 1_000_000n;
let seed = 42;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
const services = ['checkout', 'cart', 'payments', 'catalog', 'auth', 'search'];
const routes = ['GET /api/cart', 'POST /api/checkout', 'GET /api/items/:id', 'GET /health', 'PUT /api/user'];

function sampleBodies(): Uint8Array[] {
  const t0 = Date.now() - 3600_000;
  const out: Uint8Array[] = [];
  for (let b = 0; b < bodiesN; b++) {
    const ts: TimeSeries[] = [];
    for (let k = 0; k < 2000; k++) {
      const labels = [{ name: '__name__', value: `container_metric_${k % 20}` }, { name: 'container_id', value: `/k8s/ns/pod-${Math.floor(k / 20)}/app` }, { name: 'instance', value: `node-${k % 10}:9100` }, { name: 'job', value: 'node-agent' }];
      const points = [];
      for (let j = 0; j < 5; j++) points.push({ timestampMs: t0 + (b * 5 + j) * 1000, value: Math.round(1000 + k + j * (k % 7)) });
      ts.push({ labels, samples: points });
    }
    out.push(snappyCompress(encodeWriteRequest({ timeseries: ts, metadata: [] })));
  }
  return out;
}

function spanBodies(): Uint8Array[] {
  const out: Uint8Array[] = [];
  let id = 1;
  for (let b = 0; b < bodiesN; b++) {
    const items: SpanInput[] = [];
    for (let i = 0; i < perBody; i++, id++) {
      const start = now - BigInt(Math.floor(rnd() * 3600e9));
      items.push({
        traceId: (Math.floor(id / 4) + 1).toString(16).padStart(32, '0'), spanId: id.toString(16).padStart(16, '0'),
        parentSpanId: id % 4 ? (id - 1).toString(16).padStart(16, '0') : undefined, name: pick(routes), kind: 2 + (id % 2),
        startNs: start, endNs: start + BigInt(Math.floor(rnd() * 5e8)),
        attributes: { 'http.method': 'GET', 'http.status_code': pick([200, 200, 200, 404, 500]), 'net.peer.name': `10.0.${id % 200}.${id % 250}`, 'http.route': pick(routes), 'user.id': Math.floor(rnd() * 1e6) },
        status: { code: rnd() < 0.05 ? 2 : 0 },
      });
    }
    out.push(encodeTracesRequest([{ attributes: { 'service.name': pick(services), 'host.name': `node-${id % 7}` }, scopes: [{ name: 'bench', version: '1', items }] }]));
  }
  return out;
}

function logBodies(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let b = 0; b < bodiesN; b++) {
    const items: LogInput[] = [];
    for (let i = 0; i < perBody; i++) {
      items.push({
        timeNs: now - BigInt(Math.floor(rnd() * 3600e9)), severityNumber: pick([9, 9, 9, 13, 17]), severityText: pick(['INFO', 'INFO', 'WARN', 'ERROR']),
        body: `${pick(routes)} completed in ${Math.floor(rnd() * 900)}ms for user ${Math.floor(rnd() * 1e5)} request_id=${Math.floor(rnd() * 1e12).toString(16)}`,
        attributes: { 'log.file.path': '/var/log/app.log', 'thread': `worker-${Math.floor(rnd() * 16)}` },
      });
    }
    out.push(encodeLogsRequest([{ attributes: { 'service.name': pick(services), 'host.name': 'node-1' }, scopes: [{ name: 'bench', items }] }]));
  }
  return out;
}

interface Stage { decode: number; encode: number; insert: number; rows: number }

async function run(bodies: Uint8Array[], one: (b: Uint8Array, s: Stage) => Promise<void>): Promise<Stage> {
  const s: Stage = { decode: 0, encode: 0, insert: 0, rows: 0 };
  for (const b of bodies) await one(b, s);
  return s;
}

const timed = <T>(s: Stage, key: 'decode' | 'encode' | 'insert', f: () => T): T => {
  const t = performance.now();
  const r = f();
  s[key] += performance.now() - t;
  return r;
};

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function report(name: string, s: Stage): void {
  const n = bodiesN;
  const per = (ms: number) => `${(ms / n).toFixed(1)} ms (${fmt(s.rows / (ms / 1000))}/s)`;
  const total = s.decode + s.encode + s.insert;
  console.log(`${name.padEnd(8)} per body of ${fmt(s.rows / n)}: decode ${per(s.decode)}, encode ${per(s.encode)}, insert ${per(s.insert)}; all stages ${fmt(s.rows / (total / 1000))}/s`);
}

const dir = mkdtempSync(join(tmpdir(), 'rootsight-bench-stages-'));
const db = await ClickHouseSession.open(join(dir, 'clickhouse'));
try {
  const metrics = new MetricsStore(db);
  const telemetry = new TelemetryStore(db);
  const cache = new SeriesIdentityCache();
  const [sb, tb, lb] = [sampleBodies(), spanBodies(), logBodies()];
  const m = await run(sb, async (body, s) => {
    const d = timed(s, 'decode', () => decodeWriteRequestSamples(snappyUncompress(body, 1 << 30), Date.now(), cache));
    const [w, seriesDays] = timed(s, 'encode', () => { const w = new RowBinaryWriter(1024 + d.samples.length * 32); return [w, encodeSampleBlock(d.samples, w)] as const; });
    const t = performance.now();
    await metrics.insertEncodedSamples(w.view(), seriesDays);
    s.insert += performance.now() - t;
    s.rows += d.samples.length;
  });
  const t = await run(tb, async (body, s) => {
    const rows = timed(s, 'decode', () => decodeTracesProto(body, defaultOtlpLimits));
    const w = timed(s, 'encode', () => { const w = new RowBinaryWriter(rows.length * 200); encodeSpans(rows, w); return w; });
    const t0 = performance.now();
    await telemetry.insertEncodedSpans(w.view());
    s.insert += performance.now() - t0;
    s.rows += rows.length;
  });
  const l = await run(lb, async (body, s) => {
    const rows = timed(s, 'decode', () => decodeLogsProto(body, defaultOtlpLimits, now));
    const w = timed(s, 'encode', () => { const w = new RowBinaryWriter(rows.length * 200); encodeLogs(rows, w); return w; });
    const t0 = performance.now();
    await telemetry.insertEncodedLogs(w.view());
    s.insert += performance.now() - t0;
    s.rows += rows.length;
  });
  // The HTTP/gRPC path for protobuf: wire bytes → RowBinary in one pass (counted as "encode").
  const t1 = await run(tb, async (body, s) => {
    const w = new RowBinaryWriter(body.length * 2);
    const rows = timed(s, 'encode', () => encodeTracesProto(body, defaultOtlpLimits, w));
    const t0 = performance.now();
    await telemetry.insertEncodedSpans(w.view());
    s.insert += performance.now() - t0;
    s.rows += rows;
  });
  const l1 = await run(lb, async (body, s) => {
    const w = new RowBinaryWriter(body.length * 2);
    const rows = timed(s, 'encode', () => encodeLogsProto(body, defaultOtlpLimits, now, w));
    const t0 = performance.now();
    await telemetry.insertEncodedLogs(w.view());
    s.insert += performance.now() - t0;
    s.rows += rows;
  });
  report('samples', m);
  report('spans', t);
  report('spans 1p', t1);
  report('logs', l);
  report('logs 1p', l1);
} finally {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
