// The series table layout (schema migration 6): labels stored once per series and day, samples by
// fingerprint. Checks that the fingerprint computed here is the one ClickHouse computes, that a
// series' labels are written once per day however many batches carry it, and that rows stored in
// the one-table layout of older versions are moved over and read as the same series as new rows.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ClickHouseSeriesReader } from '../src/metrics/series-reader.ts';
import { MetricsStore, type SampleBatch } from '../src/storage/clickhouse/metrics-store.ts';
import { runMigrations } from '../src/storage/clickhouse/migrations.ts';
import { legacyMetricsSamplesSpec } from '../src/storage/clickhouse/schema.ts';
import { createTableStatements } from '../src/storage/clickhouse/ddl.ts';
import { seriesFingerprint, seriesFingerprintSql } from '../src/storage/clickhouse/series-fingerprint.ts';
import type { ClickHouseSession } from '../src/storage/clickhouse/session.ts';
import { decodeWriteRequestSamples, SeriesIdentityCache } from '../src/ingest/write-request-rows.ts';
import { encodeWriteRequest } from '@rootsight/common';
import { series } from './helpers.ts';
import { tempChdbSession } from './chdb-session-fixture.ts';

const day = 86_400_000;
const T0 = Date.UTC(2024, 2, 1, 23, 0, 0); // an hour before midnight, so batches can span two days
let db: ClickHouseSession;
tempChdbSession((session) => { db = session; });

const batch = (cache: SeriesIdentityCache, ...ts: Parameters<typeof series>[]): SampleBatch =>
  decodeWriteRequestSamples(encodeWriteRequest({ timeseries: ts.map((a) => series(...a)), metadata: [] }), T0 + 2 * day, cache).samples;

it('fingerprints agree with ClickHouse for ASCII, UTF-8 and empty label sets', async () => {
  const cases: [string, [string, string][]][] = [['up', []], ['up', [['instance', 'a:1'], ['job', 'x']]], ['zé_ünïcode', [['a', '✓ ok'], ['b', 'x'.repeat(200)]]]];
  for (const [name, labels] of cases) {
    const [[fromSql]] = await db.rows(`SELECT toString(${seriesFingerprintSql}) FROM (SELECT {n:String} AS metric_name, CAST(({k:Array(String)}, {v:Array(String)}), 'Map(String, String)') AS labels)`,
      { n: name, k: labels.map((l) => l[0]), v: labels.map((l) => l[1]) }) as [[string]];
    assert.equal(seriesFingerprint(name, labels).toString(), fromSql, name);
  }
});

it('writes a series row once per series and day, however many batches carry the series', async () => {
  const store = new MetricsStore(db);
  const cache = new SeriesIdentityCache();
  for (let i = 0; i < 5; i++) {
    await store.insertSampleBatch(batch(cache,
      ['once_a', { job: 'j' }, [[T0 + i * 1000, i]]],
      ['once_b', { job: 'j' }, [[T0 + i * 1000, i], [T0 + i * 1000 + 500, i]]],
    ));
  }
  // A batch that crosses midnight needs the second day's row, once.
  await store.insertSampleBatch(batch(cache, ['once_a', { job: 'j' }, [[T0 + 3600_000 - 1000, 9], [T0 + 3600_000 + 1000, 10]]]));
  await store.insertSampleBatch(batch(cache, ['once_a', { job: 'j' }, [[T0 + 3600_000 + 2000, 11]]]));
  const rows = await db.rows(`SELECT metric_name, toString(day), count() FROM metrics_series WHERE metric_name LIKE 'once_%' GROUP BY metric_name, day ORDER BY metric_name, day`);
  assert.deepEqual(rows.map((r) => [r[0], r[1], Number(r[2])]), [['once_a', '2024-03-01', 1], ['once_a', '2024-03-02', 1], ['once_b', '2024-03-01', 1]]);
  const [[samples]] = await db.rows(`SELECT count() FROM metrics_series_samples WHERE metric_name LIKE 'once_%'`) as [[number]];
  assert.equal(Number(samples), 5 + 10 + 3);
  // A series spanning both days reads as one series.
  const [a] = await new ClickHouseSeriesReader(db).selectSeries([{ name: '__name__', type: '=', value: 'once_a' }], T0 - 1, T0 + 2 * day);
  assert.deepEqual(Array.from(a!.timestamps).slice(-3), [T0 + 3600_000 - 1000, T0 + 3600_000 + 1000, T0 + 3600_000 + 2000]);
});

it('moves rows of the one-table layout over: old and new rows of a series read as one', async () => {
  // Make the database look like one from before migration 6, holding samples in the old layout.
  for (const s of createTableStatements(legacyMetricsSamplesSpec, {})) await db.exec(s);
  await db.insertJsonRows('metrics_samples', [
    { metric_name: 'moved', labels: { job: 'old', zone: 'é' }, ts: T0 - 2000, value: 1 },
    { metric_name: 'moved', labels: { job: 'old', zone: 'é' }, ts: T0 - 1000, value: 2 },
    { metric_name: 'moved', labels: { job: 'other' }, ts: T0 - 1000, value: 5 },
  ]);
  await db.exec('ALTER TABLE rootsight_schema_migrations DELETE WHERE version = 6 SETTINGS mutations_sync = 1');
  assert.deepEqual(await runMigrations(db), [6]);
  assert.equal((await db.rows(`SELECT name FROM system.tables WHERE database = currentDatabase() AND name = 'metrics_samples'`)).length, 0, 'the old table is gone');

  const store = new MetricsStore(db);
  await store.insertSampleBatch(batch(new SeriesIdentityCache(), ['moved', { zone: 'é', job: 'old' }, [[T0, 3]]]));
  const read = await new ClickHouseSeriesReader(db).selectSeries([{ name: '__name__', type: '=', value: 'moved' }], T0 - day, T0 + day);
  const byJob = new Map(read.map((s) => [s.labels['job'], s]));
  assert.equal(read.length, 2);
  assert.deepEqual(byJob.get('old')!.labels, { __name__: 'moved', job: 'old', zone: 'é' });
  assert.deepEqual(Array.from(byJob.get('old')!.timestamps), [T0 - 2000, T0 - 1000, T0]);
  assert.deepEqual(Array.from(byJob.get('old')!.values), [1, 2, 3]);
  assert.deepEqual(Array.from(byJob.get('other')!.values), [5]);
  assert.deepEqual((await store.selectLabelSets([{ name: 'job', type: '=~', value: 'o.*' }], T0 - day, T0 + day)).map((l) => l['job']).sort(), ['old', 'other']);
});

it('with a series generation, resolved series are reused until new series rows are stored', async () => {
  const store = new MetricsStore(db);
  const cache = new SeriesIdentityCache();
  const reader = new ClickHouseSeriesReader(db, { seriesGeneration: () => store.seriesGeneration() });
  const m = [{ name: '__name__', type: '=' as const, value: 'gen_m' }];
  const read = async () => (await reader.selectSeries(m, T0 - 1, T0 + 60_000)).map((s) => [s.labels['job'], Array.from(s.values)]).sort();
  await store.insertSampleBatch(batch(cache, ['gen_m', { job: 'a' }, [[T0, 1]]]));
  assert.deepEqual(await read(), [['a', [1]]]);
  const g = store.seriesGeneration();
  await store.insertSampleBatch(batch(cache, ['gen_m', { job: 'a' }, [[T0 + 1000, 2]]]));
  assert.equal(store.seriesGeneration(), g, 'no new series row');
  assert.deepEqual(await read(), [['a', [1, 2]]]);
  await store.insertSampleBatch(batch(cache, ['gen_m', { job: 'b' }, [[T0 + 1000, 3]]]));
  assert.ok(store.seriesGeneration() > g);
  assert.deepEqual(await read(), [['a', [1, 2]], ['b', [3]]]);
});
