// The in-memory head must answer exactly as storage does wherever it answers at all. Random batches
// (out-of-order times across and within batches, repeated samples, stale markers and ordinary
// NaNs) are stored through a MetricsStore that feeds a head, then random selectors over random
// windows are read from both the head and storage (the ClickHouse reader alone) and compared.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { labelsKey } from '../src/metrics/engine/labels.ts';
import type { SeriesSamples } from '../src/metrics/engine/evaluator.ts';
import type { LabelMatcher } from '../src/metrics/label-matcher.ts';
import { SampleHead } from '../src/metrics/sample-head.ts';
import { ClickHouseSeriesReader } from '../src/metrics/series-reader.ts';
import { MetricsStore, encodeSeriesIdentity, type SampleBatch, type SeriesIdentity } from '../src/storage/clickhouse/metrics-store.ts';
import type { ClickHouseSession } from '../src/storage/clickhouse/session.ts';
import { tempChdbSession } from './chdb-session-fixture.ts';

const T0 = Date.UTC(2024, 4, 10, 22, 0, 0);
let db: ClickHouseSession;
tempChdbSession((session) => { db = session; });

let seed = 7;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;

const staleBits = [0x00000002, 0x7ff00000];

/** A batch of samples as raw columns; `value` 'stale' is Prometheus' marker. */
function batchOf(samples: { id: SeriesIdentity; t: number; value: number | 'stale' }[]): SampleBatch {
  const series: SeriesIdentity[] = [];
  const n = samples.length;
  const b: SampleBatch = { series, length: n, seriesIndex: new Uint32Array(n), timestampsMs: new Float64Array(n), valueBytes: new Uint8Array(n * 8) };
  const view = new DataView(b.valueBytes.buffer);
  samples.forEach((s, i) => {
    let si = series.indexOf(s.id);
    if (si < 0) si = series.push(s.id) - 1;
    b.seriesIndex[i] = si;
    b.timestampsMs[i] = s.t;
    if (s.value === 'stale') { view.setUint32(i * 8, staleBits[0]!, true); view.setUint32(i * 8 + 4, staleBits[1]!, true); }
    else view.setFloat64(i * 8, s.value, true);
  });
  return b;
}

const identities = (metrics: string[]): SeriesIdentity[] => metrics.flatMap((m) => ['a', 'b', 'c'].flatMap((job) =>
  ['x', 'y'].map((zone) => encodeSeriesIdentity(m, job === 'c' ? [['job', job]] : [['job', job], ['zone', zone]]))));

/** Series sorted by labels, with plain arrays, for deepEqual (NaN equals NaN there). */
function normal(series: readonly SeriesSamples[]): unknown[] {
  return [...series].sort((a, b) => (labelsKey(a.labels) < labelsKey(b.labels) ? -1 : 1))
    .map((s) => ({ labels: { ...s.labels }, t: Array.from(s.timestamps), v: Array.from(s.values), stale: [...(s.staleAt ?? [])] }));
}

function randomMatchers(metrics: string[]): LabelMatcher[] {
  const out: LabelMatcher[] = [];
  if (rnd() < 0.8) out.push({ name: '__name__', type: '=', value: pick(metrics) });
  else out.push({ name: '__name__', type: '=~', value: `${pick(metrics).slice(0, 5)}.*` });
  if (rnd() < 0.5) out.push(pick<LabelMatcher>([
    { name: 'job', type: '=', value: pick(['a', 'b', 'c']) }, { name: 'job', type: '!=', value: 'a' },
    { name: 'zone', type: '=~', value: 'x|y' }, { name: 'zone', type: '!~', value: 'x' }, { name: 'zone', type: '=', value: '' },
  ]));
  return out;
}

it('answers exactly as storage for random out-of-order batches with repeats, stale markers and NaNs', async () => {
  const head = new SampleHead(await new MetricsStore(db).newestSampleMs());
  const store = new MetricsStore(db, { observer: head });
  const storage = new ClickHouseSeriesReader(db);
  const metrics = ['head_rand_one', 'head_rand_two', 'head_other'];
  const ids = identities(metrics);
  const written = new Map<string, number | 'stale'>(); // a repeated time repeats its value (storage keeps either copy)
  for (let b = 0; b < 12; b++) {
    const samples: { id: SeriesIdentity; t: number; value: number | 'stale' }[] = [];
    for (let k = 0; k < 1000; k++) {
      const id = pick(ids);
      // Mostly moving forward, sometimes far back (late data), across midnight.
      const t = T0 + Math.floor((rnd() < 0.8 ? b * 600 + rnd() * 900 : rnd() * 8000) * 1000);
      const key = `${id.fingerprint}:${t}`;
      let value = written.get(key);
      if (value === undefined) {
        const r = rnd();
        value = r < 0.05 ? 'stale' : r < 0.08 ? NaN : Math.round(rnd() * 1000) / 10;
        written.set(key, value);
      }
      samples.push({ id, t, value });
    }
    await store.insertSampleBatch(batchOf(samples));
  }
  let compared = 0;
  for (let q = 0; q < 60; q++) {
    const matchers = randomMatchers(metrics);
    const from = T0 + Math.floor(rnd() * 9000) * 1000 - 500_000;
    const to = from + Math.floor(rnd() * 4000) * 1000;
    const fromHead = head.select(matchers, from, to);
    assert.ok(fromHead, `the head covers everything written here (${JSON.stringify(matchers)})`);
    const fromStorage = await storage.selectSeries(matchers, from, to);
    assert.deepEqual(normal(fromHead), normal(fromStorage), `${JSON.stringify(matchers)} (${from}, ${to}]`);
    compared += fromStorage.length;
  }
  assert.ok(compared > 50, `compared ${compared} series`);
  // A stale marker is reported as such, and a plain NaN is not.
  const all = head.select([{ name: '__name__', type: '=~', value: 'head_.*' }], T0 - 1, T0 + 10_000_000)!;
  assert.ok(all.some((s) => (s.staleAt ?? []).length > 0));
  assert.ok(all.some((s) => Array.from(s.values).some((v, i) => Number.isNaN(v) && !(s.staleAt ?? []).includes(s.timestamps[i]!))));
});

it('declines windows before what it covers, and still matches storage after reclaiming memory', async () => {
  const start = await new MetricsStore(db).newestSampleMs();
  const head = new SampleHead(start, { maxSamples: 1500 });
  const store = new MetricsStore(db, { observer: head });
  const storage = new ClickHouseSeriesReader(db);
  const ids = identities(['head_reclaim']);
  const base = start + 1000;
  for (let b = 0; b < 10; b++) {
    const samples = [];
    for (const id of ids) for (let j = 0; j < 40; j++) samples.push({ id, t: base + (b * 40 + j) * 1000, value: b * 40 + j });
    await store.insertSampleBatch(batchOf(samples));
  }
  const m: LabelMatcher[] = [{ name: '__name__', type: '=', value: 'head_reclaim' }];
  assert.equal(head.select(m, start - 1, base + 1000), undefined, 'data from before the head started is storage\'s');
  const { completeAfterMs, samples, reclaims } = head.stats();
  assert.ok(reclaims > 0 && samples <= 1500, `reclaimed (${samples} samples held)`);
  assert.ok(completeAfterMs > start);
  assert.equal(head.select(m, completeAfterMs - 1, base + 400_000), undefined);
  const from = completeAfterMs, to = base + 400_000;
  assert.deepEqual(normal(head.select(m, from, to)!), normal(await storage.selectSeries(m, from, to)));

  // Retention: the head forgets what storage dropped and stops answering for it.
  head.forgetThrough(base + 380_000);
  assert.equal(head.select(m, base + 370_000, to), undefined);
  assert.equal(head.select(m, base + 380_000, to)![0]!.timestamps.length, 19);

  // A failed write: storage may hold part of it, so the head stops answering up to its newest time.
  head.writeFailed(batchOf([{ id: ids[0]!, t: base + 395_000, value: 1 }]));
  assert.equal(head.select(m, base + 390_000, to), undefined);
  assert.ok(head.select(m, base + 395_000, to));
});

it('a regex JavaScript might read differently from RE2 goes to storage', () => {
  const head = new SampleHead(0);
  assert.equal(head.select([{ name: '__name__', type: '=~', value: 'a\\d+' }], 0, 1), undefined);
  assert.equal(head.select([{ name: 'job', type: '=~', value: '[ab]' }], 0, 1), undefined);
  assert.deepEqual(head.select([{ name: 'job', type: '=~', value: 'a|b' }], 0, 1), []);
});
