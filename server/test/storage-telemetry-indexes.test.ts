// Span and log inserts on chDB leave skip indexes to the first merge (telemetry-store.ts): a fresh
// part has none and is still found by trace id; after a merge the part has its indexes.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { ClickHouseSession } from '../src/storage/clickhouse/session.ts';
import { TelemetryStore, type LogRow, type SpanRow } from '../src/storage/clickhouse/telemetry-store.ts';
import { tempChdbSession } from './chdb-session-fixture.ts';

let db: ClickHouseSession;
let store: TelemetryStore;
tempChdbSession((session) => { db = session; store = new TelemetryStore(db); }, 'clickhouse');

const T = 1_736_000_000_000_000_000n;
const hexId = (n: number, bytes: number) => n.toString(16).padStart(bytes * 2, '0');

function span(i: number): SpanRow {
  return {
    startNs: T + BigInt(i), endNs: T + BigInt(i) + 10n, traceId: hexId(i + 1, 16), spanId: hexId(i + 1, 8), parentSpanId: '', traceState: '', flags: 0,
    name: `op${i % 3}`, kind: 2, serviceName: 'idx', resourceAttributes: { 'service.name': 'idx' }, scopeName: '', scopeVersion: '',
    attributes: { i: String(i) }, statusCode: 0, statusMessage: '', events: [], links: [],
  };
}

function log(i: number): LogRow {
  return {
    timeNs: T + BigInt(i), observedNs: T + BigInt(i), traceId: hexId(i + 1, 16), spanId: '', flags: 0, severityText: 'INFO', severityNumber: 9,
    serviceName: 'idx', body: `request ${i} done`, resourceAttributes: {}, scopeName: '', scopeVersion: '', attributes: {}, eventName: '',
  };
}

const indexBytes = async (table: string) => (await db.rows(`SELECT sum(secondary_indices_compressed_bytes), count() FROM system.parts WHERE table = '${table}' AND active`))[0]!.map(Number);

it('fresh span and log parts carry no skip indexes, are found by trace id, and get their indexes at the merge', async () => {
  for (let part = 0; part < 3; part++) {
    await store.insertSpans(Array.from({ length: 2000 }, (_, i) => span(part * 2000 + i)));
    await store.insertLogs(Array.from({ length: 2000 }, (_, i) => log(part * 2000 + i)));
  }
  const [spanIndexBytes, spanParts] = await indexBytes('otel_traces');
  assert.equal(spanParts, 3);
  assert.equal(spanIndexBytes, 0, 'inserts built no skip indexes');
  assert.equal((await indexBytes('otel_logs'))[0], 0);

  const wanted = span(4321);
  const found = await store.selectSpans({ traceId: wanted.traceId });
  assert.deepEqual(found.map((s) => s.spanId), [wanted.spanId]);

  await db.exec('OPTIMIZE TABLE otel_traces FINAL');
  await db.exec('OPTIMIZE TABLE otel_logs FINAL');
  const [mergedIndexBytes, mergedParts] = await indexBytes('otel_traces');
  assert.equal(mergedParts, 1);
  assert.ok(mergedIndexBytes > 0, 'the merge built the skip indexes');
  assert.ok((await indexBytes('otel_logs'))[0]! > 0);
  assert.deepEqual((await store.selectSpans({ traceId: wanted.traceId })).map((s) => s.spanId), [wanted.spanId]);
  assert.equal(await store.count('traces'), 6000);
  assert.equal(await store.count('logs'), 6000);
});
