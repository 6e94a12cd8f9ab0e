// At start the PromQL head is filled from storage with the newest stored samples, as Prometheus
// replays its write-ahead log into its head block. Without it the head covers only what arrives
// after the restart, and until it has covered a dashboard's window again, reads of recent data go
// through the sample cache, whose first read of each series and window is a storage query.
//
// Exactness: the head answers for times after the replayed span's start, so it must hold every
// stored sample after it. The replay reads them all back before the server takes any write (the
// journal left by the previous run is already inserted), and chDB's data directory has no other
// writer.
import type { ClickHouseDriver } from '../storage/clickhouse/driver.ts';
import { MetricsStore, seriesDaysPredicate } from '../storage/clickhouse/metrics-store.ts';
import { metricsSeriesSamplesTable, metricsSeriesTable } from '../storage/clickhouse/schema.ts';
import type { Labels } from './engine/labels.ts';
import { defaultHeadSamples, SampleHead, type SampleHeadOptions } from './sample-head.ts';
import { decodeSampleRows } from './series-reader.ts';

const minuteMs = 60_000;
/** Spans tried, longest first: the first whose samples fill at most half the head is replayed. */
const replaySpansMs = [120, 60, 30, 10].map((m) => m * minuteMs);
/** Samples are read in slices of this much time, so a read's buffer stays small. */
const sliceMs = 10 * minuteMs;

export interface HeadReplay {
  head: SampleHead;
  /** What was replayed: none when storage was empty or even the shortest span did not fit. */
  samples: number;
  series: number;
  spanMs: number;
}

/** A head holding the newest stored samples (the last 2 h of them, less when those would fill over half of it). */
export async function replayHead(db: ClickHouseDriver, opts: SampleHeadOptions = {}): Promise<HeadReplay> {
  const newest = await new MetricsStore(db).newestSampleMs();
  const budget = (opts.maxSamples ?? defaultHeadSamples) / 2;
  let spanMs = 0, count = 0;
  for (const span of replaySpansMs) {
    const [[n]] = await db.rows(`SELECT count() FROM ${metricsSeriesSamplesTable} WHERE ts > fromUnixTimestamp64Milli({from:Int64})`, { from: newest - span }) as [[number | string]];
    if (Number(n) <= budget) { spanMs = span; count = Number(n); break; }
  }
  if (count === 0) return { head: new SampleHead(newest, opts), samples: 0, series: 0, spanMs: 0 };
  const from = newest - spanMs;
  const head = new SampleHead(from, opts);
  const labels = await labelSets(db, from, newest);
  let samples = 0;
  for (let a = from; a < newest; a += sliceMs) {
    const bytes = await db.rowBinary(`SELECT fingerprint, toFloat64(toUnixTimestamp64Milli(ts)), value FROM ${metricsSeriesSamplesTable}
      WHERE ts > fromUnixTimestamp64Milli({a:Int64}) AND ts <= fromUnixTimestamp64Milli({b:Int64})`, { a, b: Math.min(a + sliceMs, newest) });
    for (const s of decodeSampleRows(bytes)) {
      const l = labels.get(s.fingerprint);
      if (!l) throw new Error(`head replay: series ${s.fingerprint} has samples but no label set`);
      head.replay(BigInt(s.fingerprint), l, s.timestamps, s.values, s.staleAt);
      samples += s.timestamps.length;
    }
  }
  return { head, samples, series: labels.size, spanMs };
}

/** Label sets (with __name__) of the series with samples in (from, to], by decimal fingerprint: one query. */
async function labelSets(db: ClickHouseDriver, from: number, to: number): Promise<Map<string, Labels>> {
  const rows = await db.rows(`SELECT toString(fingerprint), metric_name, labels FROM ${metricsSeriesTable}
    WHERE ${seriesDaysPredicate('from', 'to')} AND fingerprint IN (SELECT fingerprint FROM ${metricsSeriesSamplesTable}
      WHERE ts > fromUnixTimestamp64Milli({from:Int64}) AND ts <= fromUnixTimestamp64Milli({to:Int64}))
    LIMIT 1 BY fingerprint`, { from, to });
  return new Map(rows.map(([fp, name, labels]) => [fp as string, { __name__: name as string, ...(labels as Record<string, string>) }]));
}
