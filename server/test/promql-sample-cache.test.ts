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

function batchAt(times: number[]): SampleBatch {
  return {
    series: [encodeSeriesIdentity('m', [])], length: times.length, seriesIndex: new Uint32Array(times.length),
    timestampsMs: Float64Array.from(times), valueBytes: new Uint8Array(times.length * 8),
  };
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

  it('a stored batch drops exactly the windows its times fall in, for every series', () => {
    const c = new StoredSampleCache({ windowMs: W });
    const t = c.beginRead(0, 5);
    for (let w = 0; w <= 5; w++) for (const fp of ['1', '2']) c.put(t, fp, w, windowData([w * W + 10]));
    c.endRead(t);
    c.storedBatch(batchAt([3 * W + 5, 2 * W + 7, 2 * W + 1])); // windows 2 and 3, times out of order
    for (let w = 0; w <= 5; w++) {
      for (const fp of ['1', '2']) assert.equal(c.get(fp, w) !== undefined, w < 2 || w > 3, `fp ${fp} window ${w}`);
    }
    assert.equal(c.stats().entries, 8);
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

  it('an invalidation spanning very many windows clears everything', () => {
    const c = new StoredSampleCache({ windowMs: W });
    const t = c.beginRead(0, 0);
    c.put(t, '1', 0, windowData([1]));
    c.endRead(t);
    c.invalidate(10 * W, 1e6 * W);
    assert.equal(c.stats().entries, 0);
  });
});

describe('ClickHouseSeriesReader with the sample cache (chDB)', () => {
  let db: ClickHouseSession;
  tempChdbSession((session) => { db = session; });
  let cache: StoredSampleCache;
  let store: MetricsStore;
  let clock = 0;
  /** Past the time windows stay live after a write. */
  const later = () => { clock += 60_000; };
  // Three hours back, aligned to a window: old data, as the head would not hold after a restart.
  const base = Math.floor((Date.now() - 3 * W) / W) * W;
  const matchers = [{ name: '__name__', type: '=' as const, value: 'late_metric' }];

  before(() => {
    cache = new StoredSampleCache({ windowMs: W, now: () => clock });
    store = new MetricsStore(db, { observer: { add: (b) => cache.storedBatch(b), writeFailed: (b) => cache.storedBatch(b) } });
  });

  const reader = (driver: ClickHouseDriver) => new ClickHouseSeriesReader(driver, { cache, settled: () => store.settled(), seriesGeneration: () => store.seriesGeneration() });
  const times = (s: { timestamps: ArrayLike<number> }[]) => s.flatMap((x) => [...Array.from(x.timestamps)]);

  it('serves a repeated read from the cache and a later out-of-order sample from storage', async () => {
    await store.insertSamples([0, 1, 2, 3].map((i) => ({ metricName: 'late_metric', labels: { a: 'x' }, timestampMs: base + 60_000 * (i + 1), value: i })));
    later();
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
    later();
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
    later();
    assert.deepEqual(times(await inFlight), [t0 + 60_000], 'the read started before the batch was stored');
    assert.deepEqual(times(await reader(db).selectSeries(matchers, t0, t0 + W)), [t0 + 30_000, t0 + 60_000], 'the next read sees it');
    assert.ok(cache.stats().voidedReads >= 1);
  });

  it('a window written to just now is read as asked and not kept; the older ones of the same read are', async () => {
    const t0 = base + 4 * W; // windows 4w+1..4w+3 of their own: (t0, t0 + 3W]
    const at = [t0 + 1000, t0 + W + 1000, t0 + 2 * W + 1000];
    await store.insertSamples(at.map((t, i) => ({ metricName: 'late_metric', labels: { a: 'z' }, timestampMs: t, value: i })));
    later();
    await store.insertSamples([{ metricName: 'late_metric', labels: { a: 'z' }, timestampMs: t0 + 2 * W + 2000, value: 9 }]); // the newest window is live
    const r = reader(db);
    const z = [...matchers, { name: 'a', type: '=' as const, value: 'z' }];
    const want = [...at, t0 + 2 * W + 2000];
    const before = cache.stats().entries;
    assert.deepEqual(times(await r.selectSeries(z, t0 + 500, t0 + 3 * W)), want);
    assert.equal(cache.stats().entries, before + 2, 'the two older windows are kept, the live one is not');
    assert.deepEqual(times(await r.selectSeries(z, t0 + 500, t0 + 2 * W + 1500)), want.slice(0, 3), 'clipped inside the live window');
    later();
    assert.deepEqual(times(await r.selectSeries(z, t0, t0 + 3 * W)), want);
    assert.equal(cache.stats().entries, before + 3, 'no longer live: kept');
  });
});
