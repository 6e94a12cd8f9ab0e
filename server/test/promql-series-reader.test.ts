// The PromQL read path's RowBinary decoding: series boundaries, duplicate timestamps, and stale
// markers told apart from ordinary NaNs by their bits. And on chDB: reads of resolved series
// (fingerprints named, selectors told apart here) answer exactly as reads through the series table.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ClickHouseSeriesReader, decodeSampleRows, type SeriesRequest } from '../src/metrics/series-reader.ts';
import type { SeriesSamples } from '../src/metrics/engine/evaluator.ts';
import { MetricsStore } from '../src/storage/clickhouse/metrics-store.ts';
import type { ClickHouseSession } from '../src/storage/clickhouse/session.ts';
import { tempChdbSession } from './chdb-session-fixture.ts';

type Row = [fingerprint: bigint, ms: number, value: number | 'stale'];

function encode(rows: Row[]): Uint8Array {
  const b = Buffer.alloc(rows.length * 24);
  rows.forEach(([fp, t, v], i) => {
    b.writeBigUInt64LE(fp, i * 24);
    b.writeDoubleLE(t, i * 24 + 8);
    if (v === 'stale') b.writeBigUInt64LE(0x7ff0000000000002n, i * 24 + 16);
    else b.writeDoubleLE(v, i * 24 + 16);
  });
  return b;
}

describe('decodeSampleRows', () => {
  it('splits rows into series by fingerprint, keeping time order', () => {
    const out = decodeSampleRows(encode([[1n, 1000, 1], [1n, 2000, 2], [0xffff_ffff_ffff_fff0n, 1000, 7]]));
    assert.equal(out.length, 2);
    assert.equal(out[0]!.fingerprint, '1');
    assert.deepEqual([...out[0]!.timestamps], [1000, 2000]);
    assert.deepEqual([...out[0]!.values], [1, 2]);
    assert.equal(out[1]!.fingerprint, '18446744073709551600');
    assert.deepEqual([...out[1]!.values], [7]);
  });

  it('keeps the last copy of a sample sent twice', () => {
    const [s] = decodeSampleRows(encode([[5n, 1000, 1], [5n, 1000, 3], [5n, 2000, 4]]));
    assert.deepEqual([...s!.timestamps], [1000, 2000]);
    assert.deepEqual([...s!.values], [3, 4]);
  });

  it('lists stale markers by their bits and leaves an ordinary NaN a value', () => {
    const [s] = decodeSampleRows(encode([[9n, 1000, NaN], [9n, 2000, 'stale'], [9n, 3000, 5]]));
    assert.deepEqual(s!.staleAt, [2000]);
    assert.equal(s!.timestamps.length, 3);
    assert.ok(Number.isNaN(s!.values[0]!) && Number.isNaN(s!.values[1]!));
  });

  it('a duplicate that replaces a stale marker unmarks it', () => {
    const [s] = decodeSampleRows(encode([[9n, 1000, 'stale'], [9n, 1000, 2]]));
    assert.deepEqual(s!.staleAt, []);
    assert.deepEqual([...s!.values], [2]);
  });

  it('groups series whose rows come interleaved and out of order (several parts, parallel reads)', () => {
    const out = decodeSampleRows(encode([
      [2n, 3000, 23], [2n, 4000, 24], [1n, 3000, 13], [2n, 1000, 21], [2n, 2000, 22], [1n, 1000, 11], [1n, 3000, 'stale'], [1n, 2000, 12],
    ]));
    assert.deepEqual(out.map((s) => s.fingerprint), ['2', '1'], 'first-seen order');
    assert.deepEqual([...out[0]!.timestamps], [1000, 2000, 3000, 4000]);
    assert.deepEqual([...out[0]!.values], [21, 22, 23, 24]);
    assert.deepEqual([...out[1]!.timestamps], [1000, 2000, 3000]);
    assert.deepEqual(out[1]!.staleAt, [3000], 'of two copies of 3000 the later one (a stale marker) wins');
    assert.deepEqual([...out[1]!.values].slice(0, 2), [11, 12]);
  });

  it('with a selector column, a series matched by two selectors comes back once for each', () => {
    const base = encode([[7n, 1000, 1], [7n, 1000, 1], [8n, 1000, 2]]);
    const withSel = Buffer.alloc(base.length + 3);
    [0, 1, 1].forEach((sel, i) => { withSel[i * 25] = sel; withSel.set(base.subarray(i * 24, i * 24 + 24), i * 25 + 1); });
    const out = decodeSampleRows(withSel, true);
    assert.deepEqual(out.map((s) => [s.selector, s.fingerprint, [...s.values]]), [[0, '7', [1]], [1, '7', [1]], [1, '8', [2]]]);
  });

  it('refuses a payload that is not whole rows', () => {
    assert.throws(() => decodeSampleRows(new Uint8Array(25)), /not a whole number of 24-byte rows/);
  });

  it('an empty result is no series', () => {
    assert.deepEqual(decodeSampleRows(new Uint8Array(0)), []);
  });
});

describe('reads of resolved series on chDB', () => {
  const T0 = Date.UTC(2024, 4, 1, 23, 58, 0); // two minutes before midnight: ranges span two days
  let db: ClickHouseSession;
  let store: MetricsStore;
  tempChdbSession((session) => { db = session; });
  before(async () => {
    store = new MetricsStore(db);
    const rows = [];
    for (let i = 0; i < 40; i++) {
      for (const job of ['a', 'b', 'c']) rows.push({ metricName: 'rr_requests', labels: { job, code: job === 'c' ? '500' : '200' }, timestampMs: T0 + i * 15_000, value: i });
      rows.push({ metricName: 'rr_cores', labels: { job: 'a' }, timestampMs: T0 + i * 15_000, value: 4 });
    }
    rows.push({ metricName: 'rr_requests', labels: { job: 'a', code: '200' }, timestampMs: T0 + 5 * 15_000 + 1, value: Number.NaN });
    await store.insertSamples(rows);
  });

  const flat = (out: SeriesSamples[][]) => out.map((ss) => ss.map((s) => JSON.stringify([s.labels, Array.from(s.timestamps), Array.from(s.values, String), s.staleAt])).sort());

  it('one series under several selectors with different ranges, a selector matching nothing, one outside its range, two naming only their metric over one range', async () => {
    const requests: SeriesRequest[] = [
      { matchers: [{ name: '__name__', type: '=', value: 'rr_requests' }], fromMs: T0 - 1, toMs: T0 + 10 * 60_000 },
      { matchers: [{ name: '__name__', type: '=', value: 'rr_requests' }, { name: 'code', type: '=~', value: '5..' }], fromMs: T0 + 60_000, toMs: T0 + 3 * 60_000 },
      { matchers: [{ name: 'job', type: '=', value: 'a' }], fromMs: T0 + 30_000, toMs: T0 + 90_000 },
      { matchers: [{ name: '__name__', type: '=', value: 'rr_none' }], fromMs: T0 - 1, toMs: T0 + 10 * 60_000 },
      { matchers: [{ name: '__name__', type: '=', value: 'rr_cores' }], fromMs: T0 + 3600_000, toMs: T0 + 7200_000 },
      // Names only its metric, over the same range as the first: read through one shared term.
      { matchers: [{ name: '__name__', type: '=', value: 'rr_cores' }], fromMs: T0 - 1, toMs: T0 + 10 * 60_000 },
    ];
    const throughSeriesTable = await new ClickHouseSeriesReader(db).selectSeriesMany(requests);
    const resolved = await new ClickHouseSeriesReader(db, { seriesGeneration: () => store.seriesGeneration() }).selectSeriesMany(requests);
    assert.deepEqual(flat(resolved), flat(throughSeriesTable));
    // The reference itself is what the data says.
    assert.deepEqual(throughSeriesTable.map((ss) => ss.length), [3, 1, 2, 0, 0, 1]);
    const jobA = throughSeriesTable[2]!.find((s) => s.labels['__name__'] === 'rr_requests')!;
    assert.deepEqual(Array.from(jobA.timestamps), [T0 + 45_000, T0 + 60_000, T0 + 75_000, T0 + 75_001, T0 + 90_000]);
    assert.deepEqual(jobA.staleAt ?? [], [], 'an ordinary NaN is not a stale marker');
    assert.deepEqual(Array.from(throughSeriesTable[1]![0]!.timestamps), Array.from({ length: 8 }, (_, k) => T0 + 75_000 + k * 15_000));
  });
});
