// Schema migration 6 -> 7 on a real chDB data directory: a database as version 6 left it, with
// samples stored under its codecs, is reopened the normal way; migration 7 switches the samples
// table's time and value columns to LZ4, and samples stored before and after read back bit for bit.
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { ClickHouseSeriesReader } from '../src/metrics/series-reader.ts';
import { MetricsStore, type SampleRow } from '../src/storage/clickhouse/metrics-store.ts';
import { metricsSeriesSamplesTable } from '../src/storage/clickhouse/schema.ts';
import { ClickHouseSession } from '../src/storage/clickhouse/session.ts';
import { removeDir, tempDataDir } from './helpers.ts';

const T0 = Date.UTC(2024, 4, 10, 8, 0, 0);
const dir = tempDataDir();
after(() => removeDir(dir));

/** Values that exercise Gorilla's XOR encoding and the float edges; timestamps with uneven gaps for Delta. */
const awkward = [0, -0, 1, -1.5, Math.PI, 1e300, -1e-300, 5e-324, Number.MAX_VALUE, Infinity, -Infinity, 0.1 + 0.2, 2 ** 53 + 2, 123456.789];
const rows = (job: string, fromMs: number, values: number[]): SampleRow[] =>
  values.map((value, i) => ({ metricName: 'migrated', labels: { job }, timestampMs: fromMs + i * 15_000 + (i % 3) * 7, value }));

async function codecs(db: ClickHouseSession): Promise<Record<string, string>> {
  const r = await db.rows(`SELECT name, compression_codec FROM system.columns WHERE database = currentDatabase() AND table = {t:String} AND name IN ('ts', 'value')`, { t: metricsSeriesSamplesTable });
  return Object.fromEntries(r.map((x) => [String(x[0]), String(x[1])]));
}

async function activeParts(db: ClickHouseSession): Promise<string[]> {
  const r = await db.rows(`SELECT name FROM system.parts WHERE database = currentDatabase() AND table = {t:String} AND active ORDER BY name`, { t: metricsSeriesSamplesTable });
  return r.map((x) => String(x[0]));
}

async function readBack(db: ClickHouseSession): Promise<Map<string, { timestamps: number[]; values: number[] }>> {
  const series = await new ClickHouseSeriesReader(db).selectSeries([{ name: '__name__', type: '=', value: 'migrated' }], T0 - 86_400_000, T0 + 86_400_000);
  return new Map(series.map((s) => [s.labels['job']!, { timestamps: Array.from(s.timestamps), values: Array.from(s.values) }]));
}

function expected(rs: SampleRow[]): { timestamps: number[]; values: number[] } {
  return { timestamps: rs.map((r) => r.timestampMs), values: rs.map((r) => r.value) };
}

it('a version 6 database migrates to 7: LZ4 codecs, samples from before and after read back exactly', async () => {
  const before = [...rows('before', T0, awkward), ...rows('both', T0, awkward.slice(0, 7))];
  const afterRows = [...rows('after', T0 + 3600_000, [...awkward].reverse()), ...rows('both', T0 + 7 * 15_000, awkward.slice(7))];

  // Version 6, as it was released: migration 6 creates the samples table from today's spec, so its
  // codecs are set back to what version 6 wrote (ZSTD(1) after Delta/Gorilla) before any data.
  let db = await ClickHouseSession.open(dir, { schemaVersion: 6 });
  let partsAtVersion6: string[] = [];
  const versions = async () => (await db.rows('SELECT version FROM rootsight_schema_migrations ORDER BY version')).map((r) => Number(r[0]));
  try {
    assert.deepEqual(await versions(), [1, 2, 3, 4, 5, 6]);
    await db.exec(`ALTER TABLE ${metricsSeriesSamplesTable} MODIFY COLUMN ts CODEC(Delta, ZSTD(1)), MODIFY COLUMN value CODEC(Gorilla, ZSTD(1))`);
    assert.deepEqual(await codecs(db), { ts: 'CODEC(Delta(8), ZSTD(1))', value: 'CODEC(Gorilla(8), ZSTD(1))' });
    const store = new MetricsStore(db);
    await store.insertSamples(before);
    await store.close();
    partsAtVersion6 = await activeParts(db);
    assert.ok(partsAtVersion6.length > 0);
  } finally {
    await db.close();
  }

  // Opened as the server opens it: every migration, so 7 runs.
  db = await ClickHouseSession.open(dir);
  try {
    assert.deepEqual(await versions(), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(await codecs(db), { ts: 'CODEC(Delta(8), LZ4)', value: 'CODEC(Gorilla(8), LZ4)' });
    // The codec change rewrites nothing: the parts written under version 6 are still there.
    const parts = await activeParts(db);
    for (const p of partsAtVersion6) assert.ok(parts.includes(p), `part ${p} kept`);
    const store = new MetricsStore(db);
    await store.insertSamples(afterRows);
    await store.close();

    const read = await readBack(db);
    assert.deepEqual([...read.keys()].sort(), ['after', 'before', 'both']);
    // deepStrictEqual compares with Object.is: -0 stays -0 and the infinities and 5e-324 are exact.
    assert.deepStrictEqual(read.get('before'), expected(rows('before', T0, awkward)));
    assert.deepStrictEqual(read.get('after'), expected(rows('after', T0 + 3600_000, [...awkward].reverse())));
    // One series whose samples straddle the migration: old parts and new parts read as one.
    assert.deepStrictEqual(read.get('both'), expected([...rows('both', T0, awkward.slice(0, 7)), ...rows('both', T0 + 7 * 15_000, awkward.slice(7))]));
  } finally {
    await db.close();
  }

  // Reopened again: nothing left to migrate, the data still reads the same.
  db = await ClickHouseSession.open(dir);
  try {
    assert.deepEqual(await versions(), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal((await readBack(db)).get('both')!.values.length, awkward.length);
  } finally {
    await db.close();
  }
});
