// Samples as Native blocks (sample-block.ts): what chDB reads back from a block equals the batch it
// was made from, sample by sample (name, fingerprint, time, the value's exact bits), for every
// width of the metric-name index; series-days are listed once each; a block cut short is refused
// and stores nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeWriteRequest, type TimeSeries } from '@rootsight/common';
import { SeriesIdentityCache, decodeWriteRequestSamples } from '../src/ingest/write-request-rows.ts';
import type { SampleBatch, SeriesDay } from '../src/storage/clickhouse/metrics-store.ts';
import { RowBinaryWriter } from '../src/storage/clickhouse/row-binary.ts';
import { encodeSampleBlock, sampleBlockColumns } from '../src/storage/clickhouse/sample-block.ts';
import { metricsSeriesSamplesTable } from '../src/storage/clickhouse/schema.ts';
import type { ClickHouseSession } from '../src/storage/clickhouse/session.ts';
import { tempChdbSession } from './chdb-session-fixture.ts';

const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);
const day = 86_400_000;
const now = T0 + 60_000;

/** The batch's samples as "name fingerprint ts valuebits" lines, sorted. */
function expectedRows(b: SampleBatch): string[] {
  const out: string[] = [];
  for (let i = 0; i < b.length; i++) {
    const id = b.series[b.seriesIndex[i]!]!;
    out.push(`${id.metricName} ${id.fingerprint} ${b.timestampsMs[i]} ${Buffer.from(b.valueBytes.subarray(i * 8, i * 8 + 8)).reverse().toString('hex')}`);
  }
  return out.sort();
}

/** The (series, day) pairs a batch needs, computed the plain way, as "fingerprint@day", sorted. */
function expectedDays(b: SampleBatch): string[] {
  const all = new Set<string>();
  for (let i = 0; i < b.length; i++) {
    const id = b.series[b.seriesIndex[i]!]!;
    const d = Math.floor(b.timestampsMs[i]! / day);
    if (!id.writtenDays.includes(d)) all.add(`${id.fingerprint}@${d}`);
  }
  return [...all].sort();
}

const dayKeys = (d: SeriesDay[]) => d.map((x) => `${x.series.fingerprint}@${x.day}`);

describe('samples as Native blocks', () => {
  let db: ClickHouseSession;
  tempChdbSession((session) => { db = session; });

  /** Inserts one payload into an empty samples table and reads every row back like expectedRows. */
  async function roundTrip(payload: Uint8Array): Promise<string[]> {
    await db.exec(`TRUNCATE TABLE ${metricsSeriesSamplesTable}`);
    await db.insertNative(metricsSeriesSamplesTable, sampleBlockColumns, payload);
    const rows = await db.rows(`SELECT metric_name, toString(fingerprint), toString(toUnixTimestamp64Milli(ts)), leftPad(lower(hex(reinterpretAsUInt64(value))), 16, '0') FROM ${metricsSeriesSamplesTable}`);
    return rows.map((r) => r.join(' ')).sort();
  }

  it('300 fuzzed requests, several blocks per payload, read back sample for sample with their series-days', async () => {
    let seed = 11;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const cache = new SeriesIdentityCache();
    const w = new RowBinaryWriter(16); // starts tiny: the encoder must make its own room
    let expected: string[] = [];
    for (let n = 0; n < 300; n++) {
      const ts: TimeSeries[] = [];
      for (let k = 0, count = Math.floor(rnd() * 12); k < count; k++) {
        const labels = [{ name: '__name__', value: `m_${Math.floor(rnd() * 6)}${rnd() < 0.1 ? 'ü'.repeat(60) : ''}` }, { name: 'job', value: `j${Math.floor(rnd() * 3)}` }, { name: 'pod', value: rnd() < 0.2 ? '' : 'ü'.repeat(Math.floor(rnd() * 40)) }];
        const samples = [];
        // Several days, out of order and repeated times, NaN and infinities.
        for (let j = 0, m = Math.floor(rnd() * 30); j < m; j++) samples.push({ timestampMs: T0 - Math.floor(rnd() * 3) * day + Math.floor(rnd() * 5000), value: rnd() < 0.1 ? NaN : rnd() < 0.1 ? -Infinity : (rnd() - 0.5) * 1e6 });
        ts.push({ labels, samples });
      }
      const { samples } = decodeWriteRequestSamples(encodeWriteRequest({ timeseries: ts, metadata: [] }), now, cache);
      const before = w.pos;
      const days = encodeSampleBlock(samples, w);
      if (samples.length === 0) assert.equal(w.pos, before, 'an empty batch adds no block');
      assert.deepEqual(dayKeys(days).sort(), expectedDays(samples), `request ${n}`);
      assert.equal(new Set(dayKeys(days)).size, days.length, 'each series-day once');
      // Some series-days become written, as a stored batch would make them.
      for (const d of days) if (rnd() < 0.5) d.series.writtenDays.push(d.day);
      expected.push(...expectedRows(samples));
      if (n % 50 === 49) {
        assert.deepEqual(await roundTrip(w.view()), expected.sort(), `requests up to ${n}`);
        w.pos = 0;
        expected = [];
      }
    }
  });

  it('indexes metric names by one, two or four bytes as the dictionary needs', async () => {
    for (const names of [255, 256, 70_000]) {
      const ts: TimeSeries[] = [];
      for (let k = 0; k < names; k++) ts.push({ labels: [{ name: '__name__', value: `wide_${k}` }], samples: [{ timestampMs: T0 + k, value: k }] });
      // A second series of the first name after all the others: indexes must not follow the series order.
      ts.push({ labels: [{ name: '__name__', value: 'wide_0' }, { name: 'again', value: 'yes' }], samples: [{ timestampMs: T0, value: -1 }] });
      const { samples } = decodeWriteRequestSamples(encodeWriteRequest({ timeseries: ts, metadata: [] }), now, new SeriesIdentityCache(200_000), { maxSeries: 1_000_000, maxLabelsPerSeries: 10 });
      const w = new RowBinaryWriter();
      encodeSampleBlock(samples, w);
      const got = await roundTrip(w.view());
      assert.equal(got.length, names + 1);
      assert.deepEqual(got, expectedRows(samples), `${names} names`);
    }
  });

  it('refuses a block cut short or with a column missing, and stores nothing of it', async () => {
    const { samples } = decodeWriteRequestSamples(encodeWriteRequest({ timeseries: [{ labels: [{ name: '__name__', value: 'cut' }], samples: [{ timestampMs: T0, value: 1 }, { timestampMs: T0 + 1000, value: 2 }] }], metadata: [] }), now);
    const w = new RowBinaryWriter();
    encodeSampleBlock(samples, w);
    const whole = w.view();
    await db.exec(`TRUNCATE TABLE ${metricsSeriesSamplesTable}`);
    for (const cut of [whole.length - 1, whole.length - 9, Math.floor(whole.length / 2), 3]) {
      await assert.rejects(db.insertNative(metricsSeriesSamplesTable, sampleBlockColumns, whole.subarray(0, cut)), /Cannot read|CANNOT_READ|ATTEMPT_TO_READ_AFTER_EOF|INCORRECT_DATA|Unexpected|NOT_FOUND_COLUMN|INCORRECT_NUMBER|THERE_IS_NO_COLUMN|Cannot parse/, `cut at ${cut} of ${whole.length}`);
    }
    await assert.rejects(db.insertNative(metricsSeriesSamplesTable, ['metric_name', 'nope'], whole), /nope/);
    assert.equal(Number((await db.rows(`SELECT count() FROM ${metricsSeriesSamplesTable}`))[0]![0]), 0);
    assert.deepEqual(await roundTrip(whole), expectedRows(samples));
  });
});
