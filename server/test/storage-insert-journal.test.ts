// Metrics acknowledged once journaled: what was journaled reaches storage even when the process
// dies before inserting it (the next start inserts it first), a half-written batch (never
// acknowledged) is not replayed, readers see every acknowledged batch, and a failing insert is
// retried while the head stops answering for its times.
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { encodeWriteRequest } from '@rootsight/common';
import { decodeWriteRequestSamples, SeriesIdentityCache } from '../src/ingest/write-request-rows.ts';
import { SampleHead } from '../src/metrics/sample-head.ts';
import { ClickHouseSeriesReader } from '../src/metrics/series-reader.ts';
import { InsertJournal, type JournalStorage } from '../src/storage/clickhouse/insert-journal.ts';
import { MetricsStore, seriesColumns, type SampleBatch } from '../src/storage/clickhouse/metrics-store.ts';
import { RowBinaryWriter } from '../src/storage/clickhouse/row-binary.ts';
import { encodeSampleBlock, sampleBlockColumns } from '../src/storage/clickhouse/sample-block.ts';
import { metricsSeriesSamplesTable } from '../src/storage/clickhouse/schema.ts';
import type { ClickHouseSession } from '../src/storage/clickhouse/session.ts';
import { series } from './helpers.ts';
import { tempChdbSession } from './chdb-session-fixture.ts';

const T0 = Date.UTC(2024, 6, 1, 12, 0, 0);
let dir: string;
let db: ClickHouseSession;
const journalDir = () => join(dir, 'journal');
tempChdbSession((session, tmp) => { db = session; dir = tmp; }, 'ch');

const batch = (name: string, samples: [number, number][]): SampleBatch =>
  decodeWriteRequestSamples(encodeWriteRequest({ timeseries: [series(name, { job: 'j' }, samples)], metadata: [] }), T0 + 86_400_000, new SeriesIdentityCache()).samples;

/** A metrics_series RowBinary row: the day, then the series' row bytes. */
function seriesRow(day: number, row: Uint8Array): Uint8Array {
  const w = new RowBinaryWriter();
  w.buf.writeUInt16LE(day, 0);
  w.pos = 2;
  w.bytes(row);
  return w.view();
}

const read = async (reader: ClickHouseSeriesReader, name: string) =>
  (await reader.selectSeries([{ name: '__name__', type: '=', value: name }], T0 - 60_000, T0 + 60_000)).map((s) => Array.from(s.values));

it('readers see every acknowledged batch; the journal is empty once inserted', async () => {
  const journal = await InsertJournal.open(journalDir(), db);
  const store = new MetricsStore(db, { journal });
  const reader = new ClickHouseSeriesReader(db, { settled: () => store.settled() });
  for (let i = 0; i < 5; i++) await store.insertSampleBatch(batch('journaled', [[T0 + i * 1000, i]]));
  assert.deepEqual(await read(reader, 'journaled'), [[0, 1, 2, 3, 4]]);
  assert.deepEqual(readdirSync(journalDir()), []);
  await store.close();
});

it('batches journaled while an insert runs go into storage together, one INSERT per table', async () => {
  const paths: string[] = [];
  const counting: JournalStorage = { insertFile: async (table, columns, file, format) => { paths.push(file); await db.insertFile(table, columns, file, format); } };
  const store = new MetricsStore(db, { journal: await InsertJournal.open(journalDir(), counting) });
  const reader = new ClickHouseSeriesReader(db, { settled: () => store.settled() });
  await Promise.all(Array.from({ length: 20 }, (_, i) => store.insertSampleBatch(batch(`together_${i % 3}`, [[T0 + i * 1000, i]]))));
  const values = await Promise.all([0, 1, 2].map((k) => read(reader, `together_${k}`)));
  assert.deepEqual(values.map((v) => v[0]!.length), [7, 7, 6]);
  assert.ok(paths.length < 20 * 2, `${paths.length} inserts for 20 batches`);
  assert.ok(paths.some((p) => p.includes('{')), 'several files in one insert');
  assert.deepEqual(readdirSync(journalDir()), []);
  await store.close();
});

it('batches wait to be inserted as one group until the group is big enough, its delay is over or a reader waits', async () => {
  const paths: string[] = [];
  const settings: unknown[] = [];
  const counting: JournalStorage = { insertFile: async (table, columns, file, format, s) => { paths.push(file); settings.push(s); await db.insertFile(table, columns, file, format, s); } };
  // Neither the size nor the delay is reached here: only the reader starts the insert.
  const store = new MetricsStore(db, { journal: await InsertJournal.open(journalDir(), counting), insertGroupBytes: 1 << 30, insertDelayMs: 60_000 });
  const reader = new ClickHouseSeriesReader(db, { settled: () => store.settled() });
  for (let i = 0; i < 6; i++) await store.insertSampleBatch(batch('grouped', [[T0 + i * 1000, i]]));
  assert.deepEqual(paths, [], 'acknowledged (journaled) without an insert yet');
  assert.ok(store.insertBacklogBytes() > 0);
  assert.deepEqual(await read(reader, 'grouped'), [[0, 1, 2, 3, 4, 5]]);
  assert.equal(paths.length, 2, `one insert per table for all six batches: ${paths.join(' ')}`);
  assert.deepEqual(settings, [{ os_thread_priority: 10 }, { os_thread_priority: 10 }], 'inserts behind the acknowledgement run at a lower OS priority');
  assert.deepEqual(readdirSync(journalDir()), []);
  await store.close();

  // A group over the size threshold goes in without a reader asking.
  paths.length = 0;
  const eager = new MetricsStore(db, { journal: await InsertJournal.open(journalDir(), counting), insertGroupBytes: 1, insertDelayMs: 60_000 });
  await eager.insertSampleBatch(batch('eager', [[T0, 1]]));
  const deadline = Date.now() + 10_000;
  while (eager.insertBacklogBytes() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(eager.insertBacklogBytes(), 0);
  assert.ok(paths.length > 0);
  await eager.close();
});

it('a journaled batch left by a dead process is inserted at the next open; a half-written one is not', async () => {
  // A batch journaled but never inserted (the process died), and a .tmp file it was still writing.
  const dead = await InsertJournal.open(journalDir(), db);
  const b = batch('replayed', [[T0, 7], [T0 + 1000, 8]]);
  const w = new RowBinaryWriter();
  const days = encodeSampleBlock(b, w);
  assert.equal(days.length, 1);
  await dead.append([{ table: 'metrics_series', columns: seriesColumns, format: 'RowBinary', payload: seriesRow(days[0]!.day, days[0]!.series.seriesRow) }, { table: metricsSeriesSamplesTable, columns: sampleBlockColumns, format: 'Native', payload: w.view() }]);
  const half = new RowBinaryWriter();
  encodeSampleBlock(batch('half_written', [[T0, 1]]), half);
  writeFileSync(join(journalDir(), `000000000099-0-${metricsSeriesSamplesTable}-${sampleBlockColumns.join('+')}.native.tmp`), half.view());
  // Samples journaled as RowBinary rows by an earlier release (before Native blocks) are replayed too.
  const old = batch('rowbinary_left', [[T0, 5]]);
  const oldRow = new RowBinaryWriter();
  oldRow.string('rowbinary_left'); oldRow.bigU64(old.series[0]!.fingerprint); oldRow.i64(T0); oldRow.f64(5);
  writeFileSync(join(journalDir(), `000000000098-0-metrics_series-${seriesColumns.join('+')}.rowbinary`), seriesRow(Math.floor(T0 / 86_400_000), old.series[0]!.seriesRow));
  writeFileSync(join(journalDir(), `000000000098-1-${metricsSeriesSamplesTable}-${sampleBlockColumns.join('+')}.rowbinary`), oldRow.view());

  const logs: string[] = [];
  await InsertJournal.open(journalDir(), db, (m) => logs.push(m));
  assert.match(logs.join('\n'), /inserted 4 acknowledged metrics file/);
  assert.deepEqual(readdirSync(journalDir()), []);
  const reader = new ClickHouseSeriesReader(db);
  assert.deepEqual(await read(reader, 'replayed'), [[7, 8]]);
  assert.deepEqual(await read(reader, 'rowbinary_left'), [[5]]);
  assert.deepEqual(await read(reader, 'half_written'), []);
});

it('a failing insert is retried until it succeeds; meanwhile the head declines its times', async () => {
  let failures = 2;
  const flaky: JournalStorage = {
    insertFile: async (table, columns, file, format) => {
      if (failures > 0) { failures--; throw new Error('disk hiccup'); }
      await db.insertFile(table, columns, file, format);
    },
  };
  const head = new SampleHead(await new MetricsStore(db).newestSampleMs());
  const logs: string[] = [];
  const store = new MetricsStore(db, { journal: await InsertJournal.open(journalDir(), flaky), observer: head, log: (m) => logs.push(m) });
  const reader = new ClickHouseSeriesReader(db, { head, settled: () => store.settled() });
  const t = T0 + 3_600_000;
  await store.insertSampleBatch(batch('flaky', [[t, 1], [t + 1000, 2]]));
  assert.ok(store.insertBacklogBytes() > 0);
  const m = [{ name: '__name__', type: '=' as const, value: 'flaky' }];
  assert.deepEqual((await reader.selectSeries(m, t - 1000, t + 5000)).map((s) => Array.from(s.values)), [[1, 2]]);
  assert.equal(store.insertBacklogBytes(), 0);
  assert.equal(logs.filter((l) => /retrying/.test(l)).length, 1, 'one log line per distinct failure');
  assert.equal(head.select(m, t - 1000, t + 5000), undefined, 'storage may have held part of it: the head declines');
  assert.ok(head.select(m, t + 1000, t + 5000));
  await store.close();
});

it('a batch is released for reuse only once stored and copied by the observer, never while its insert is retried', async () => {
  let failures = 1;
  const flaky: JournalStorage = {
    insertFile: async (table, columns, file, format) => {
      if (failures > 0) { failures--; throw new Error('disk hiccup'); }
      await db.insertFile(table, columns, file, format);
    },
  };
  const events: string[] = [];
  const observer = { add: () => events.push('add'), writeFailed: () => events.push('failed') };
  const store = new MetricsStore(db, { journal: await InsertJournal.open(journalDir(), flaky), observer, log: () => undefined });
  const b = batch('released', [[T0, 1]]);
  b.release = () => events.push('release');
  await store.insertSampleBatch(b);
  assert.deepEqual(events, [], 'acknowledged (journaled): still waiting for its insert');
  await store.settled();
  assert.deepEqual(events, ['failed', 'add', 'release']);
  await store.close();
});
