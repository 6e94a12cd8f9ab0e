// The decoded-sample cache of storage reads (metrics/sample-cache.ts): window arithmetic, the
// bound, invalidation by stored batches, and on chDB the race it must not lose: a batch stored
// while a read is in flight keeps that read's windows out of the cache.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { StoredSampleCache, type CachedWindow } from '../src/metrics/sample-cache.ts';
import { ClickHouseSeriesReader } from '../src/metrics/series-reader.ts';
import { encodeSeriesIdentity, MetricsStore, type SampleBatch } from '../src/storage/clickhouse/metrics-store.ts';
import type { ClickHouseDriver } from '../src/storage/clickhouse/driver.ts';
import type { ClickHouseSession } from '../src/storage/clickhouse/session.ts';
import { tempChdbSession } from './chdb-session-fixture.ts';

const W = 3600_000;

function windowData(times: number[]): CachedWindow {
  return { timestamps: Float64Array.from(times), values: Float64Array.from(times.map((t) => t / 1000)), staleAt: [] };
}

const series = encodeSeriesIdentity('m', []);
/** The fingerprint of batchAt's series, as cache keys spell it. */
const M = String(series.fingerprint);
/** Prometheus' stale marker. */
const STALE = 'stale';

/** A batch of series M's samples at these times, with these values (0 when not given). */
function batchAt(times: number[], values: (number | typeof STALE)[] = []): SampleBatch {
  const valueBytes = new Uint8Array(times.length * 8);
  const view = new DataView(valueBytes.buffer);
  values.forEach((v, i) => {
    if (v === STALE) { view.setUint32(i * 8, 0x00000002, true); view.setUint32(i * 8 + 4, 0x7ff00000, true); } else view.setFloat64(i * 8, v, true);
  });
  return { series: [series], length: times.length, seriesIndex: new Uint32Array(times.length), timestampsMs: Float64Array.from(times), valueBytes };
}

describe('StoredSampleCache', () => {
  it('windows are left-open like PromQL ranges: (k·W, (k+1)·W]', () => {
    const c = new StoredSampleCache({ windowMs: W });
    assert.equal(c.windowOf(W), 0);
    assert.equal(c.windowOf(W + 1), 1);
    assert.equal(c.windowOf(2 * W), 1);
    assert.equal(c.firstWindowAfter(W - 1), 0);
    assert.equal(c.firstWindowAfter(W), 1, 'a range starting (exclusive) at W has nothing in window 0');
    assert.equal(c.windowStart(3), 3 * W);
  });

  it('a stored batch is merged into the entries of its series in its windows; the rest are untouched', () => {
    const c = new StoredSampleCache({ windowMs: W });
    const t = c.beginRead(0, 5);
    for (let w = 0; w <= 5; w++) for (const fp of [M, '2']) c.put(t, fp, w, windowData([w * W + 10]));
    c.endRead(t);
    const before = c.get(M, 2)!;
    c.storedBatch(batchAt([3 * W + 5, 2 * W + 7, 2 * W + 1, 3 * W + 20], [1, 2, 3, 4])); // windows 2 and 3, times out of order
    assert.deepEqual(Array.from(c.get(M, 2)!.timestamps), [2 * W + 1, 2 * W + 7, 2 * W + 10]);
    assert.deepEqual(Array.from(c.get(M, 2)!.values), [3, 2, (2 * W + 10) / 1000]);
    assert.deepEqual(Array.from(c.get(M, 3)!.timestamps), [3 * W + 5, 3 * W + 10, 3 * W + 20]);
    assert.deepEqual(Array.from(before.timestamps), [2 * W + 10], 'a view handed out before is unchanged');
    for (let w = 0; w <= 5; w++) assert.deepEqual(Array.from(c.get('2', w)!.timestamps), [w * W + 10], 'another series');
    assert.equal(c.stats().entries, 12);
    assert.equal(c.stats().samples, 10 * (1 + 16) + 2 * (16 + 16), 'two entries now with room for 16 samples');
    assert.equal(c.stats().merges, 3, "window 3's two runs of rows merged one after the other");
  });

  it('later samples are appended in place, beyond the views handed out; a repeated time replaces; stale markers stay stale', () => {
    const c = new StoredSampleCache({ windowMs: W });
    const t = c.beginRead(5, 5);
    c.put(t, M, 5, windowData([5 * W + 10]));
    c.endRead(t);
    c.storedBatch(batchAt([5 * W + 20], [20]));
    const first = c.get(M, 5)!;
    c.storedBatch(batchAt([5 * W + 30, 5 * W + 40], [30, STALE]));
    const second = c.get(M, 5)!;
    assert.equal(second.timestamps.buffer, first.timestamps.buffer, 'appended in place');
    assert.equal(c.stats().samples, 16 + 16, 'the room after the samples counts');
    assert.deepEqual(Array.from(first.timestamps), [5 * W + 10, 5 * W + 20]);
    assert.deepEqual(Array.from(second.timestamps), [5 * W + 10, 5 * W + 20, 5 * W + 30, 5 * W + 40]);
    assert.deepEqual(Array.from(second.values), [(5 * W + 10) / 1000, 20, 30, NaN]);
    assert.deepEqual(second.staleAt, [5 * W + 40]);
    // The same time again, twice in one batch (the later row wins): replaced, in new columns.
    c.storedBatch(batchAt([5 * W + 40, 5 * W + 20, 5 * W + 40], [1, 21, 41]));
    const third = c.get(M, 5)!;
    assert.deepEqual(Array.from(third.timestamps), [5 * W + 10, 5 * W + 20, 5 * W + 30, 5 * W + 40]);
    assert.deepEqual(Array.from(third.values), [(5 * W + 10) / 1000, 21, 30, 41]);
    assert.deepEqual(third.staleAt, [], 'the stale marker was replaced');
    assert.deepEqual(Array.from(second.values), [(5 * W + 10) / 1000, 20, 30, NaN], 'the earlier view is unchanged');
    assert.equal(c.stats().samples, 16 + 16);
  });

  it('a failed batch drops the entries of its series in its windows; a batch over very many windows clears everything', () => {
    const c = new StoredSampleCache({ windowMs: W });
    const t = c.beginRead(0, 5);
    for (let w = 0; w <= 5; w++) for (const fp of [M, '2']) c.put(t, fp, w, windowData([w * W + 10]));
    c.endRead(t);
    c.writeFailed(batchAt([3 * W + 5, 1 * W + 7]));
    for (let w = 0; w <= 5; w++) assert.equal(c.get(M, w) !== undefined, w !== 1 && w !== 3, `window ${w}`);
    assert.equal(c.stats().entries, 10);
    c.storedBatch(batchAt([10 * W, 1e6 * W]));
    assert.equal(c.stats().entries, 0);
  });

  it('a read in flight when a batch lands in its windows keeps nothing; one elsewhere is unaffected', () => {
    const c = new StoredSampleCache({ windowMs: W });
    const hit = c.beginRead(4, 6), spared = c.beginRead(8, 9);
    c.storedBatch(batchAt([5 * W + 100]));
    c.put(hit, '1', 4, windowData([4 * W + 1]));
    c.put(spared, '1', 8, windowData([8 * W + 1]));
    c.endRead(hit); c.endRead(spared);
    assert.equal(c.get('1', 4), undefined);
    assert.ok(c.get('1', 8));
    assert.equal(c.stats().voidedReads, 1);
    // clear() (retention dropped days) voids every read in flight.
    const t = c.beginRead(100, 100);
    c.clear();
    c.put(t, '1', 100, windowData([100 * W + 1]));
    c.endRead(t);
    assert.equal(c.stats().entries, 0);
  });

  it('stays within its sample bound, dropping the least recently used', () => {
    const c = new StoredSampleCache({ windowMs: W, maxSamples: 1000 });
    const t = c.beginRead(0, 1000);
    const fifty = Array.from({ length: 50 }, (_, i) => i + 1);
    for (let w = 0; w < 100; w++) {
      c.put(t, 'a', w, windowData(fifty.map((x) => w * W + x)));
      if (w > 0) assert.ok(c.get('a', 0), 'window 0 is used after every put, so it is never the oldest');
      assert.ok(c.stats().samples <= 1000, `samples ${c.stats().samples}`);
    }
    c.endRead(t);
    const s = c.stats();
    assert.ok(s.evictions >= 80, `evictions ${s.evictions}`);
    assert.ok(s.entries <= 1000 / 66 + 1, `entries ${s.entries}`); // 50 samples + 16 per entry
    assert.ok(c.get('a', 99), 'the newest entry is held');
    assert.equal(c.get('a', 50), undefined, 'an old unused one is gone');
  });

  it('a window read twice (concurrent reads) is held once, the later copy', () => {
    const c = new StoredSampleCache({ windowMs: W, maxSamples: 100 });
    const t = c.beginRead(0, 10);
    c.put(t, '1', 0, windowData([1]));
    c.put(t, '1', 0, windowData([1, 2]));
    assert.deepEqual([...c.get('1', 0)!.timestamps], [1, 2]);
    assert.equal(c.stats().entries, 1);
    assert.equal(c.stats().samples, 2 + 16);
    for (let w = 1; w <= 10; w++) c.put(t, '1', w, windowData([w * W + 1])); // evicts window 0 and more
    c.endRead(t);
    assert.equal(c.get('1', 0), undefined);
    assert.ok(c.stats().samples <= 100);
  });

});

describe('ClickHouseSeriesReader with the sample cache (chDB)', () => {
  let db: ClickHouseSession;
  tempChdbSession((session) => { db = session; });
  let cache: StoredSampleCache;
  let store: MetricsStore;
  // Three hours back, aligned to a window: old data, as the head would not hold after a restart.
  const base = Math.floor((Date.now() - 3 * W) / W) * W;
  const matchers = [{ name: '__name__', type: '=' as const, value: 'late_metric' }];

  before(() => {
    cache = new StoredSampleCache({ windowMs: W });
    store = new MetricsStore(db, { observer: { add: (b) => cache.storedBatch(b), writeFailed: (b) => cache.writeFailed(b) } });
  });

  const reader = (driver: ClickHouseDriver) => new ClickHouseSeriesReader(driver, { cache, settled: () => store.settled(), seriesGeneration: () => store.seriesGeneration() });
  const times = (s: { timestamps: ArrayLike<number> }[]) => s.flatMap((x) => [...Array.from(x.timestamps)]);

  it('serves a repeated read from the cache and a later out-of-order sample from storage', async () => {
    await store.insertSamples([0, 1, 2, 3].map((i) => ({ metricName: 'late_metric', labels: { a: 'x' }, timestampMs: base + 60_000 * (i + 1), value: i })));
    const r = reader(db);
    assert.deepEqual(times(await r.selectSeries(matchers, base, base + W)), [1, 2, 3, 4].map((i) => base + 60_000 * i));
    const misses = cache.stats().misses;
    assert.deepEqual(times(await r.selectSeries(matchers, base + 30_000, base + W)), [1, 2, 3, 4].map((i) => base + 60_000 * i));
    assert.equal(cache.stats().misses, misses, 'the second read was answered by the cache');
    await store.insertSamples([{ metricName: 'late_metric', labels: { a: 'x' }, timestampMs: base + 90_000, value: 42 }]);
    const [s] = await r.selectSeries(matchers, base, base + W);
    assert.deepEqual([...Array.from(s!.timestamps)], [60_000, 90_000, 120_000, 180_000, 240_000].map((d) => base + d));
    assert.equal(s!.values[1], 42);
  });

  it('a batch stored while a read is in flight keeps that read out of the cache', async () => {
    const t0 = base + 2 * W; // a window of its own
    await store.insertSamples([{ metricName: 'late_metric', labels: { a: 'y' }, timestampMs: t0 + 60_000, value: 1 }]);
    // The read's storage query has returned (without the batch below) but the read is not done.
    let reached!: () => void, release!: () => void;
    const atGate = new Promise<void>((r) => { reached = r; });
    const gate = new Promise<void>((r) => { release = r; });
    const gated = new Proxy(db, {
      get(target, key) {
        if (key === 'rowBinary') return async (sql: string, params: never) => { const out = await target.rowBinary(sql, params); reached(); await gate; return out; };
        const v = Reflect.get(target, key) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as ClickHouseDriver;
    const inFlight = reader(gated).selectSeries(matchers, t0, t0 + W);
    await atGate;
    await store.insertSamples([{ metricName: 'late_metric', labels: { a: 'y' }, timestampMs: t0 + 30_000, value: 7 }]);
    release();
    assert.deepEqual(times(await inFlight), [t0 + 60_000], 'the read started before the batch was stored');
    assert.deepEqual(times(await reader(db).selectSeries(matchers, t0, t0 + W)), [t0 + 30_000, t0 + 60_000], 'the next read sees it');
    assert.ok(cache.stats().voidedReads >= 1);
  });

  it('windows written to while cached stay cached and equal to storage: batches are merged in, a new series is read', async () => {
    const t0 = base + 4 * W; // windows of their own: (t0, t0 + 3W]
    const at = [t0 + 1000, t0 + W + 1000, t0 + 2 * W + 1000];
    await store.insertSamples(at.map((t, i) => ({ metricName: 'late_metric', labels: { a: 'z' }, timestampMs: t, value: i })));
    const r = reader(db);
    const direct = new ClickHouseSeriesReader(db, { settled: () => store.settled(), seriesGeneration: () => store.seriesGeneration() }); // storage alone
    const m = [...matchers, { name: 'a', type: '=~' as const, value: 'z|w' }];
    const read = async (x: ClickHouseSeriesReader) => JSON.stringify((await x.selectSeries(m, t0, t0 + 3 * W)).map((s) => [s.labels, Array.from(s.timestamps), Array.from(s.values)])
      .sort((p, q) => JSON.stringify(p[0]).localeCompare(JSON.stringify(q[0])))); // in no set order
    assert.equal(await read(r), await read(direct));
    const entries = cache.stats().entries;
    // Later samples into the newest window, an out-of-order one into the middle one.
    await store.insertSamples([{ metricName: 'late_metric', labels: { a: 'z' }, timestampMs: t0 + 2 * W + 5000, value: 7 }]);
    await store.insertSamples([{ metricName: 'late_metric', labels: { a: 'z' }, timestampMs: t0 + W + 500, value: 8 }]);
    const misses = cache.stats().misses;
    assert.equal(await read(r), await read(direct));
    assert.equal(cache.stats().misses, misses, 'answered from the cache');
    assert.equal(cache.stats().entries, entries);
    // A new series in those windows: the matchers resolve anew, and only it is read from storage.
    await store.insertSamples([{ metricName: 'late_metric', labels: { a: 'w' }, timestampMs: t0 + W + 700, value: 9 }]);
    const got = await read(r);
    assert.equal(got, await read(direct));
    assert.match(got, /"a":"w"/);
    assert.equal(cache.stats().misses, misses + 3, "the new series' three windows");
  });
});
