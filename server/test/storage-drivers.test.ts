// The cluster DDL (no ClickHouse server on this machine, so the generated statements are checked
// as text) and the HTTP driver's request path against a small local server that speaks enough of
// ClickHouse's HTTP interface for our calls: commands, JSONCompactEachRow selects with bound
// parameters, JSONEachRow inserts with a column list, RowBinary and Native inserts.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { it } from 'node:test';
import { encodeWriteRequest } from '@rootsight/common';
import { decodeWriteRequestSamples } from '../src/ingest/write-request-rows.ts';
import { createTableStatements, localTableName } from '../src/storage/clickhouse/ddl.ts';
import { ClickHouseHttpDriver } from '../src/storage/clickhouse/http-driver.ts';
import { MetricsStore } from '../src/storage/clickhouse/metrics-store.ts';
import { migrations, schemaStatementsFor } from '../src/storage/clickhouse/migrations.ts';
import { RowBinaryWriter } from '../src/storage/clickhouse/row-binary.ts';
import { encodeSampleBlock } from '../src/storage/clickhouse/sample-block.ts';
import { tracesSpec } from '../src/storage/clickhouse/schema.ts';
import { TelemetryStore } from '../src/storage/clickhouse/telemetry-store.ts';
import { series } from './helpers.ts';

it('single node: MergeTree tables partitioned by day, no ON CLUSTER', () => {
  const all = schemaStatementsFor({});
  for (const s of all) assert.doesNotMatch(s, /ON CLUSTER|Replicated|Distributed/);
  const traces = createTableStatements(tracesSpec, {});
  assert.equal(traces.length, 1);
  assert.match(traces[0]!, /^CREATE TABLE IF NOT EXISTS otel_traces \(/);
  assert.match(traces[0]!, /ENGINE = MergeTree\n\s+PARTITION BY toDate\(Timestamp\)/);
  assert.match(traces[0]!, /TraceId FixedString\(16\) DEFAULT unhex\(TraceIdHex\)/);
  // Every growing table is partitioned by day so retention can drop partitions.
  for (const m of migrations) for (const s of m.statements({})) if (/^CREATE/.test(s) && !/metrics_metadata/.test(s)) assert.match(s, /PARTITION BY (toDate\(|day\n)/, s.slice(0, 60));
  // Settings changes address the table that holds the parts.
  assert.ok(all.includes('ALTER TABLE metrics_samples MODIFY SETTING merge_selector_base = 20'));
  assert.ok(schemaStatementsFor({ cluster: 'prod' }).includes('ALTER TABLE otel_traces_local ON CLUSTER prod MODIFY SETTING merge_selector_base = 20'));
});

it('cluster: ReplicatedMergeTree local tables and Distributed fronts, all ON CLUSTER', () => {
  const [local, dist] = createTableStatements(tracesSpec, { cluster: 'prod' });
  assert.match(local!, /^CREATE TABLE IF NOT EXISTS otel_traces_local ON CLUSTER prod \(/);
  assert.match(local!, /ENGINE = ReplicatedMergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/otel_traces_local', '\{replica\}'\)/);
  assert.equal(dist, 'CREATE TABLE IF NOT EXISTS otel_traces ON CLUSTER prod AS otel_traces_local ENGINE = Distributed(prod, currentDatabase(), otel_traces_local, cityHash64(TraceId))');
  const all = schemaStatementsFor({ cluster: 'prod' });
  assert.ok(all.some((s) => /ReplicatedReplacingMergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/profiling_stacks_local', '\{replica\}', LastSeen\)/.test(s)));
  for (const s of all) assert.match(s, / ON CLUSTER prod /);
  assert.equal(localTableName('otel_logs', { cluster: 'prod' }), 'otel_logs_local');
  assert.throws(() => createTableStatements(tracesSpec, { cluster: 'a; DROP' }), /not a valid cluster name/);
});

interface SeenRequest { query: string; params: Record<string, string>; body: string; raw: Buffer }

async function fakeClickHouse(): Promise<{ url: string; seen: SeenRequest[]; close: () => Promise<void> }> {
  const seen: SeenRequest[] = [];
  const applied = new Set<number>();
  const readBody = (req: IncomingMessage) => new Promise<Buffer>((r) => { const b: Buffer[] = []; req.on('data', (c: Buffer) => b.push(c)); req.on('end', () => r(Buffer.concat(b))); });
  const server = createServer(async (req, res) => {
    const u = new URL(req.url!, 'http://x');
    const raw = await readBody(req);
    const body = raw.toString();
    // The client sends the statement in the body, or in ?query= for inserts (then the body is the data).
    let query = u.searchParams.get('query') ?? '';
    let data = '';
    if (query) data = body; else query = body;
    const params = Object.fromEntries([...u.searchParams].filter(([k]) => k.startsWith('param_')).map(([k, v]) => [k.slice(6), v]));
    seen.push({ query: query.trim(), params, body: data, raw: data === '' ? Buffer.alloc(0) : raw });
    res.setHeader('X-ClickHouse-Summary', '{"read_rows":"0"}');
    if (req.headers.authorization !== `Basic ${Buffer.from('writer:s3cret').toString('base64')}`) {
      res.statusCode = 516;
      res.setHeader('X-ClickHouse-Exception-Code', '516');
      return res.end('Code: 516. DB::Exception: writer: Authentication failed. (AUTHENTICATION_FAILED)');
    }
    if (/^INSERT INTO rootsight_schema_migrations/.test(query)) for (const l of data.split('\n')) if (l) applied.add((JSON.parse(l) as { version: number }).version);
    if (/^SELECT DISTINCT version/.test(query)) return res.end([...applied].map((v) => `[${v}]\n`).join(''));
    if (/^SELECT lower\(hex\(TraceId\)\)/.test(query)) return res.end('["0102030405060708090a0b0c0d0e0f10","1112131415161718","0000000000000000","2024-01-01 00:00:00.000000001","5","",0,"GET",2,"svc",{},"s","",{"a":"b"},0,"",[],[],[],[],[],[],[]]\n');
    if (/^SELECT/.test(query)) return res.end('');
    res.end('');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://writer:s3cret@127.0.0.1:${port}/telemetry`, seen, close: () => new Promise((r) => server.close(() => r())) };
}

it('HTTP driver: migrations, bound parameters and inserts go over ClickHouse HTTP', async () => {
  const fake = await fakeClickHouse();
  try {
    const db = await ClickHouseHttpDriver.open({ url: fake.url, cluster: 'prod' });
    try {
      const ddl = fake.seen.filter((s) => /^(CREATE|ALTER)/.test(s.query));
      assert.equal(ddl.length, schemaStatementsFor({ cluster: 'prod' }).length, 'every DDL statement sent once');
      assert.ok(ddl.every((s) => / ON CLUSTER prod /.test(s.query)));
      const recorded = fake.seen.filter((s) => s.query.startsWith('INSERT INTO rootsight_schema_migrations'));
      assert.equal(recorded.length, migrations.length);

      // A second open finds every migration applied and sends no migration DDL beyond the bookkeeping table.
      const before = fake.seen.length;
      const again = await ClickHouseHttpDriver.open({ url: fake.url, cluster: 'prod' });
      await again.close();
      assert.equal(fake.seen.slice(before).filter((s) => s.query.startsWith('CREATE')).length, 2, 'only the migrations table (local + distributed)');

      const store = new TelemetryStore(db);
      await store.insertSpans([{ startNs: 1_700_000_000_000_000_001n, endNs: 1_700_000_000_000_000_006n, traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '1112131415161718', parentSpanId: '', traceState: '', flags: 0, name: 'GET', kind: 2, serviceName: 'svc', resourceAttributes: {}, scopeName: 's', scopeVersion: '', attributes: { a: 'b' }, statusCode: 0, statusMessage: '', events: [], links: [] }]);
      const insert = fake.seen.at(-1)!;
      // Spans travel as RowBinary in the request body, ids as bytes.
      assert.match(insert.query, /^INSERT INTO otel_traces \(`Timestamp`, `TraceId`, `SpanId`, `ParentSpanId`, .*`Links.Attributes`\) SETTINGS max_partitions_per_insert_block = 0 FORMAT RowBinary$/);
      assert.equal(insert.raw.readBigInt64LE(0), 1_700_000_000_000_000_001n);
      assert.equal(insert.raw.subarray(8, 24).toString('hex'), '0102030405060708090a0b0c0d0e0f10');
      assert.equal(insert.raw.subarray(24, 32).toString('hex'), '1112131415161718');
      assert.equal(insert.raw.subarray(32, 40).toString('hex'), '0000000000000000');

      // Samples travel as a Native block, after their series row (RowBinary).
      const samples = decodeWriteRequestSamples(encodeWriteRequest({ timeseries: [series('up', { job: 'j' }, [[1_700_000_000_000, 1], [1_700_000_015_000, 0]])], metadata: [] }), 1_700_000_060_000).samples;
      const block = new RowBinaryWriter();
      encodeSampleBlock(samples, block);
      await new MetricsStore(db).insertSampleBatch(samples);
      const [seriesInsert, samplesInsert] = fake.seen.slice(-2);
      assert.match(seriesInsert!.query, /^INSERT INTO metrics_series \(`day`, `metric_name`, `fingerprint`, `labels`\) SETTINGS max_partitions_per_insert_block = 0 FORMAT RowBinary$/);
      assert.match(samplesInsert!.query, /^INSERT INTO metrics_series_samples \(`metric_name`, `fingerprint`, `ts`, `value`\) SETTINGS max_partitions_per_insert_block = 0 FORMAT Native$/);
      assert.deepEqual(samplesInsert!.raw, Buffer.from(block.view()));

      const spans = await store.selectSpans({ traceId: '0102030405060708090a0b0c0d0e0f10' });
      assert.deepEqual(fake.seen.at(-1)!.params, { limit: '100000', traceId: '0102030405060708090a0b0c0d0e0f10' });
      assert.equal(spans[0]!.startNs, 1_704_067_200_000_000_001n);
      assert.deepEqual(spans[0]!.attributes, { a: 'b' });
    } finally {
      await db.close();
    }
    await assert.rejects(ClickHouseHttpDriver.open({ url: fake.url.replace('s3cret', 'wrong') }), /Authentication failed/);
  } finally {
    await fake.close();
  }
});
