// The binary ingest path: remote-write bytes decoded straight to sample columns, encoded as
// Native blocks (sample-block.ts; spans and logs as RowBinary) and inserted through chDB. Checks that every row arrives (whatever bytes the payload
// holds), that values keep their exact bits (Prometheus stale markers included), and that bad
// requests are refused with the same messages as before.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeWriteRequest, ProtobufWriter, type TimeSeries } from '@rootsight/common';
import { SampleColumnsPool } from '../src/ingest/sample-columns.ts';
import { InvalidSamplesError, SeriesIdentityCache, decodeWriteRequestSamples } from '../src/ingest/write-request-rows.ts';
import { ClickHouseSeriesReader } from '../src/metrics/series-reader.ts';
import { MetricsStore } from '../src/storage/clickhouse/metrics-store.ts';
import { seriesFingerprint } from '../src/storage/clickhouse/series-fingerprint.ts';
import { RowBinaryWriter } from '../src/storage/clickhouse/row-binary.ts';
import type { ClickHouseSession } from '../src/storage/clickhouse/session.ts';
import { TelemetryStore, type LogRow, type SpanRow } from '../src/storage/clickhouse/telemetry-store.ts';
import { tempChdbSession } from './chdb-session-fixture.ts';
import { series } from './helpers.ts';

const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);
const now = T0 + 60_000;
const staleBytes = Buffer.from('020000000000f07f', 'hex'); // 0x7ff0000000000002, little-endian

/** A WriteRequest whose sample values are given as raw 8-byte patterns (JS numbers cannot carry every NaN). */
function rawRequest(series: { labels: [string, string][]; samples: [number, Buffer][] }[]): Uint8Array {
  const w = new ProtobufWriter();
  for (const s of series) {
    const ts = new ProtobufWriter();
    for (const [k, v] of s.labels) ts.message(1, new ProtobufWriter().string(1, k).string(2, v));
    for (const [t, bits] of s.samples) {
      const sample = new ProtobufWriter().int64(2, t);
      const bytes = Buffer.concat([Buffer.from([0x09]), bits, Buffer.from(sample.finish())]);
      ts.bytes(2, bytes);
    }
    w.message(1, ts);
  }
  return w.finish();
}

const f64 = (v: number) => { const b = Buffer.alloc(8); b.writeDoubleLE(v); return b; };

describe('remote write decoding', () => {
  it('reuses pooled sample columns only once released, and takes them back from a refused request', () => {
    const pool = new SampleColumnsPool();
    const cache = new SeriesIdentityCache();
    const req = (name: string, v: number) => encodeWriteRequest({ timeseries: [series(name, { job: 'j' }, [[T0, v], [T0 + 1000, v + 1]])], metadata: [] });
    const a = decodeWriteRequestSamples(req('a', 10), now, cache, undefined, pool).samples;
    const b = decodeWriteRequestSamples(req('b', 20), now, cache, undefined, pool).samples;
    assert.notEqual(a.timestampsMs, b.timestampsMs, 'a is not released yet: b gets its own columns');
    a.release!();
    a.release!(); // a second release must not put the same columns in the pool twice
    assert.equal(pool.size, 1);
    const c = decodeWriteRequestSamples(req('c', 30), now, cache, undefined, pool).samples;
    assert.equal(c.timestampsMs, a.timestampsMs, "c decodes into a's released columns");
    assert.equal(pool.size, 0);
    assert.deepEqual([c.length, ...c.timestampsMs.subarray(0, 2)], [2, T0, T0 + 1000]);
    assert.deepEqual([...new Float64Array(c.valueBytes.slice(0, 16).buffer)], [30, 31]);
    assert.deepEqual([...new Float64Array(b.valueBytes.slice(0, 16).buffer)], [20, 21], 'b is untouched');
    assert.throws(() => decodeWriteRequestSamples(encodeWriteRequest({ timeseries: [series('late', {}, [[now + 7_200_000, 1]])], metadata: [] }), now, cache, undefined, pool), InvalidSamplesError);
    assert.equal(pool.size, 1, 'a refused request gives its columns back');
  });

  it('keeps value bits exactly, including the stale marker', () => {
    const body = rawRequest([{ labels: [['__name__', 'up'], ['job', 'x']], samples: [[T0, f64(1)], [T0 + 1000, staleBytes], [T0 + 2000, f64(-0)]] }]);
    const { samples } = decodeWriteRequestSamples(body, now);
    assert.equal(samples.length, 3);
    assert.deepEqual([...samples.timestampsMs.subarray(0, 3)], [T0, T0 + 1000, T0 + 2000]);
    assert.equal(Buffer.from(samples.valueBytes.subarray(8, 16)).toString('hex'), '020000000000f07f');
    assert.equal(Buffer.from(samples.valueBytes.subarray(16, 24)).toString('hex'), '0000000000000080');
  });

  it('sorts labels, drops empty ones, and encodes each label set once per request and across requests', () => {
    const cache = new SeriesIdentityCache();
    const req = (v: number) => encodeWriteRequest({ timeseries: [
      { labels: [{ name: '__name__', value: 'm' }, { name: 'z', value: '1' }, { name: 'a', value: '2' }, { name: 'empty', value: '' }], samples: [{ timestampMs: T0, value: v }, { timestampMs: T0 + 1, value: v }] },
    ], metadata: [] });
    const a = decodeWriteRequestSamples(req(1), now, cache);
    const b = decodeWriteRequestSamples(req(2), now, cache);
    assert.equal(cache.size, 1);
    assert.equal(a.samples.series[0], b.samples.series[0], 'the cached identity is reused');
    const id = a.samples.series[0]!;
    assert.equal(id.fingerprint, seriesFingerprint('m', [['a', '2'], ['z', '1']]));
    const expected = new RowBinaryWriter();
    expected.string('m');
    expected.bigU64(id.fingerprint);
    const keyBytes = expected.pos;
    expected.stringMap({ a: '2', z: '1' });
    assert.deepEqual(Buffer.from(id.seriesRow), Buffer.from(expected.view()));
    assert.deepEqual(Buffer.from(id.fingerprintBytes), Buffer.from(expected.view().subarray(keyBytes - 8, keyBytes)));
    assert.deepEqual([...a.samples.seriesIndex.subarray(0, 2)], [0, 0]);
  });

  it('reads samples whatever their field order and with unknown fields (the general path)', () => {
    // The timestamp before the value; an unknown field 3 after either layout.
    const t = new ProtobufWriter().int64(2, T0).finish();
    const reversed = Buffer.concat([Buffer.from(t), Buffer.from([0x09]), f64(2.5), Buffer.from([0x18, 0x05])]);
    const w = new ProtobufWriter();
    const ts = new ProtobufWriter().message(1, new ProtobufWriter().string(1, '__name__').string(2, 'order'));
    ts.bytes(2, reversed);
    ts.bytes(2, Buffer.concat([Buffer.from([0x09]), f64(3.5), Buffer.from(new ProtobufWriter().int64(2, T0 + 1000).finish()), Buffer.from([0x18, 0x01])]));
    w.message(1, ts);
    const { samples } = decodeWriteRequestSamples(w.finish(), now);
    assert.deepEqual([...samples.timestampsMs.subarray(0, 2)], [T0, T0 + 1000]);
    assert.deepEqual([0, 1].map((i) => Buffer.from(samples.valueBytes.subarray(i * 8, i * 8 + 8)).readDoubleLE()), [2.5, 3.5]);
  });

  it('refuses what Prometheus refuses, naming the series', () => {
    const bad = (ts: TimeSeries) => () => decodeWriteRequestSamples(encodeWriteRequest({ timeseries: [ts], metadata: [] }), now);
    assert.throws(bad({ labels: [{ name: '__name__', value: 'm' }, { name: 'a', value: '1' }, { name: 'a', value: '2' }], samples: [] }), /label "a" appears twice/);
    assert.throws(bad({ labels: [{ name: '__name__', value: 'm' }, { name: 'bad-name', value: '1' }], samples: [] }), /invalid label name "bad-name"/);
    assert.throws(bad({ labels: [{ name: 'job', value: 'x' }], samples: [] }), /missing metric name/);
    assert.throws(bad({ labels: [{ name: '__name__', value: 'neg' }, { name: 'job', value: 'x' }], samples: [{ timestampMs: -1000, value: 1 }] }),
      (e: Error) => e instanceof InvalidSamplesError && /series neg\{job="x"\}: sample timestamp -1000 ms is out of range/.test(e.message));
    assert.throws(bad({ labels: [{ name: '__name__', value: 'future' }], samples: [{ timestampMs: now + 2 * 3600_000, value: 1 }] }), /out of range/);
    assert.throws(() => decodeWriteRequestSamples(Buffer.from([0x0a, 0x05, 0x12, 0x09, 0x09]), now), /invalid WriteRequest protobuf/);
  });
});

describe('RowBinary inserts through chDB', () => {
  let db: ClickHouseSession;
  tempChdbSession((session) => { db = session; });

  it('stores every row of a large batch whose bytes include newlines, NULs and quotes', async () => {
    // Timestamps and values are chosen so the payload holds 0x0a, 0x00, 0x27, 0x5c bytes everywhere.
    const n = 50_000;
    const series: TimeSeries[] = [];
    for (let s = 0; s < 100; s++) {
      const samples = [];
      for (let i = 0; i < n / 100; i++) samples.push({ timestampMs: T0 + i * 2570 + s, value: i === 7 ? NaN : i * 10.1 + s });
      series.push({ labels: [{ name: '__name__', value: `bulk_${s % 3}` }, { name: 'quote', value: `it's \\ "${s}"\n` }, { name: 'zero', value: `a\u0000b${s}` }], samples });
    }
    const body = rawRequest([{ labels: [['__name__', 'stale_test'], ['job', 'x']], samples: [[T0, f64(1)], [T0 + 15_000, staleBytes], [T0 + 30_000, f64(NaN)]] }]);
    const store = new MetricsStore(db);
    await store.insertSampleBatch(decodeWriteRequestSamples(encodeWriteRequest({ timeseries: series, metadata: [] }), T0 + n * 2570).samples);
    await store.insertSampleBatch(decodeWriteRequestSamples(body, now).samples);
    const [[count, sum, names, nans]] = await db.rows(`SELECT count(), sum(if(isNaN(value), 0, value)), uniqExact(metric_name), countIf(isNaN(value)) FROM metrics_series_samples WHERE metric_name LIKE 'bulk_%'`) as [[string | number, number, number, number]];
    assert.equal(Number(count), n);
    assert.equal(Number(names), 3);
    assert.equal(Number(nans), 100);
    let expectedSum = 0;
    for (let s = 0; s < 100; s++) for (let i = 0; i < n / 100; i++) if (i !== 7) expectedSum += i * 10.1 + s;
    assert.ok(Math.abs(sum - expectedSum) < 1e-6 * expectedSum, `${sum} vs ${expectedSum}`);
    const labels = await db.rows(`SELECT labels FROM metrics_series WHERE metric_name = 'bulk_1' LIMIT 1`);
    assert.match((labels[0]![0] as Record<string, string>)['quote']!, /^it's \\ "\d+"\n$/);

    // The stale marker keeps its bits in the table; a plain NaN keeps its own.
    const bits = await db.rows(`SELECT toUnixTimestamp64Milli(ts), lower(hex(reverse(reinterpretAsString(value)))) FROM metrics_series_samples WHERE metric_name = 'stale_test' ORDER BY ts`);
    assert.deepEqual(bits.map((r) => [Number(r[0]), r[1]]), [[T0, '3ff0000000000000'], [T0 + 15_000, '7ff0000000000002'], [T0 + 30_000, '7ff8000000000000']]);
    // …and after a merge rewrites the part.
    await db.exec('OPTIMIZE TABLE metrics_series_samples FINAL');
    const merged = await db.rows(`SELECT count() FROM metrics_series_samples WHERE reinterpretAsUInt64(value) = 9218868437227405314`);
    assert.equal(Number(merged[0]![0]), 1);
    // The PromQL read path reports it.
    const [stale] = await new ClickHouseSeriesReader(db).selectSeries([{ name: '__name__', type: '=', value: 'stale_test' }], T0 - 1, T0 + 60_000);
    assert.deepEqual(stale!.staleAt, [T0 + 15_000]);
    assert.ok(Number.isNaN(stale!.values[1]));
  });

  it('refuses a payload that does not match the columns, and stores nothing of it', async () => {
    const before = Number((await db.rows('SELECT count() FROM metrics_series_samples'))[0]![0]);
    const w = new RowBinaryWriter();
    w.string('m');
    w.u64(1);
    w.i64(T0); // value missing
    await assert.rejects(db.insertRowBinary('metrics_series_samples', ['metric_name', 'fingerprint', 'ts', 'value'], w.view()), /Cannot read all data|CANNOT_READ_ALL_DATA|ATTEMPT_TO_READ_AFTER_EOF/);
    await assert.rejects(db.insertRowBinary('metrics_series_samples', ['metric_name', 'nope'], w.view()), /no column nope/);
    assert.equal(Number((await db.rows('SELECT count() FROM metrics_series_samples'))[0]![0]), before);
  });

  it('spans and log records round-trip: ids as bytes, every string width, events and links', async () => {
    const store = new TelemetryStore(db);
    const long = 'x'.repeat(300);
    const wide = 'é'.repeat(50); // 100 bytes: short in chars, long in bytes
    const res = { 'service.name': 'svc', 'host.name': 'h' };
    const base = { traceState: 'k=v', flags: 1, kind: 3, serviceName: 'svc', resourceAttributes: res, scopeName: 'scope', scopeVersion: '1.0', statusCode: 2, statusMessage: 'boom ✗' };
    const spans: SpanRow[] = [
      { ...base, startNs: 1_736_000_000_123_456_789n, endNs: 1_736_000_000_223_456_789n, traceId: 'ab'.repeat(16), spanId: '01'.repeat(8), parentSpanId: '', name: 'GET /ü',
        attributes: { long, wide, 'ключ': 'значение' }, events: [{ timeNs: 1_736_000_000_150_000_000n, name: 'exception', attributes: { 'exception.message': long } }],
        links: [{ traceId: 'cd'.repeat(16), spanId: '02'.repeat(8), traceState: 'a=b', attributes: { l: '1' } }] },
      { ...base, startNs: 1_736_000_001_000_000_000n, endNs: 1_736_000_001_000_000_000n, traceId: 'ab'.repeat(16), spanId: '03'.repeat(8), parentSpanId: '01'.repeat(8), name: wide,
        attributes: {}, events: [], links: [] },
    ];
    await store.insertSpans(spans);
    assert.deepEqual(await store.selectSpans({ traceId: 'ab'.repeat(16) }), spans);

    const log: LogRow = { timeNs: 1_736_000_002_000_000_001n, observedNs: 1_736_000_002_000_000_002n, traceId: 'ef'.repeat(16), spanId: '04'.repeat(8), flags: 1,
      severityText: 'WARN', severityNumber: 13, serviceName: 'svc-logs', body: `line with\ttab, quote ' and ${wide}${long}`, resourceAttributes: res,
      scopeName: 's', scopeVersion: '', attributes: { a: 'b' }, eventName: 'ev' };
    const orphan: LogRow = { ...log, timeNs: log.timeNs + 1n, traceId: '', spanId: '', body: '' };
    await store.insertLogs([log, orphan]);
    assert.deepEqual(await store.selectLogs({ serviceName: 'svc-logs' }), [log, orphan]);
  });
});
