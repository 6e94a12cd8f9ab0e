// Reads and writes samples. Input arrives already validated (ingest/ checks it at the HTTP edge);
// every value that came from a request is bound as a query parameter, never formatted into SQL.
import type { MetricMetadata } from '@rootsight/common';
import { anchoredRegex, type LabelMatcher } from '../../metrics/label-matcher.ts';
import { metricsMetadataTable, metricsSeriesSamplesTable, metricsSeriesTable } from './schema.ts';
import { seriesFingerprint } from './series-fingerprint.ts';
import type { ClickHouseDriver } from './driver.ts';
import { payloadBytes, type InsertJournal, type JournalEntry, type JournalPart } from './insert-journal.ts';
import { RowBinaryWriter } from './row-binary.ts';
import { encodeSampleBlock, sampleBlockColumns } from './sample-block.ts';
import type { QueryParams } from './session.ts';

/** A validated sample ready to store: labels sorted, without __name__. */
export interface SampleRow { metricName: string; labels: Record<string, string>; timestampMs: number; value: number }

/**
 * A series as ingest encodes it, once per distinct label set (write-request-rows caches these across
 * requests): its fingerprint and the bytes of its rows in both metrics tables.
 */
export class SeriesIdentity {
  /** Days (since the epoch) whose metrics_series row is known to be stored; bounded, newest last. */
  writtenDays: number[] = [];
  /** The PromQL head's entry for this series (metrics/sample-head.ts keeps it here to skip a lookup per batch). */
  headEntry: unknown = undefined;
  private decimal: string | undefined;

  constructor(
    readonly metricName: string,
    /** Sorted by name, without __name__ and empty values. */
    readonly labels: readonly (readonly [string, string])[],
    readonly fingerprint: bigint,
    /** The fingerprint as 8 little-endian bytes (UInt64), as a sample block copies it per sample. */
    readonly fingerprintBytes: Uint8Array,
    /** RowBinary (metric_name, fingerprint, labels): a metrics_series row after its day. */
    readonly seriesRow: Uint8Array,
  ) {}

  /** The fingerprint in decimal, as PromQL reads and the sample cache name series (made once). */
  get fingerprintText(): string {
    return this.decimal ??= String(this.fingerprint);
  }
}

/**
 * Validated samples in columns, as the remote-write decoder produces them. Values are raw bits so
 * stale markers (a NaN payload) reach storage exactly; series are encoded once per series, not
 * once per sample.
 */
export interface SampleBatch {
  /** Per distinct series. */
  series: SeriesIdentity[];
  length: number;
  /** Per sample: index into `series`. */
  seriesIndex: Uint32Array;
  timestampsMs: Float64Array;
  /** 8 bytes per sample: the Float64 value exactly as received (little-endian). */
  valueBytes: Uint8Array;
  /**
   * Called once the store is done with the batch (stored, and the observer has copied it), so its
   * arrays can be reused; nothing may read them afterwards. A batch that fails is not released:
   * it is left to the garbage collector.
   */
  release?: () => void;
}

/** A series whose metrics_series row for `day` may not be stored yet. */
export interface SeriesDay { series: SeriesIdentity; day: number }

/** Columns of a metrics_series RowBinary payload. */
export const seriesColumns = ['day', 'metric_name', 'fingerprint', 'labels'] as const;

/** Written days remembered per series: enough for a backfill that interleaves a few days. */
const maxWrittenDays = 4;

/** A series' identity and row bytes; `labels` sorted by name, no __name__, no empty values. */
export function encodeSeriesIdentity(metricName: string, labels: readonly (readonly [string, string])[]): SeriesIdentity {
  const fingerprint = seriesFingerprint(metricName, labels);
  const w = new RowBinaryWriter(64 + metricName.length * 3 + labels.length * 48);
  w.string(metricName);
  w.bigU64(fingerprint);
  const keyEnd = w.pos;
  w.varint(labels.length);
  for (const [k, v] of labels) { w.string(k); w.string(v); }
  const row = Uint8Array.prototype.slice.call(w.view());
  return new SeriesIdentity(metricName, labels, fingerprint, row.subarray(keyEnd - 8, keyEnd), row);
}

/** metrics_series rows (day, then the series row) for series-days, each once. */
function encodeSeriesRows(needed: readonly SeriesDay[]): Uint8Array {
  const w = new RowBinaryWriter(needed.reduce((a, s) => a + s.series.seriesRow.length + 2, 0));
  const seen = new Set<string>();
  for (const { series, day } of needed) {
    const k = `${series.fingerprint}:${day}`;
    if (seen.has(k)) continue;
    seen.add(k);
    w.reserve(2);
    w.buf.writeUInt16LE(day, w.pos); // Date: days since the epoch
    w.pos += 2;
    w.bytes(series.seriesRow);
  }
  return w.view();
}

function markWritten(done: readonly SeriesDay[]): void {
  for (const { series, day } of done) {
    if (series.writtenDays.includes(day)) continue;
    if (series.writtenDays.length >= maxWrittenDays) series.writtenDays.shift();
    series.writtenDays.push(day);
  }
}

/** Told about every sample batch once storage holds it, or once writing it failed (see metrics/sample-head.ts). */
export interface StoredSamplesObserver {
  add(batch: SampleBatch): void;
  writeFailed(batch: SampleBatch): void;
}

export interface MetricsStoreOptions {
  /** Told about each batch once storage holds it (the PromQL head). */
  observer?: StoredSamplesObserver;
  /** With a journal, a batch is acknowledged once journaled and inserted behind (chDB only). */
  journal?: InsertJournal;
  /**
   * Journaled bytes not yet inserted beyond which a new batch waits for inserts before it is
   * journaled, so acknowledgements run at most this far ahead of storage. Default 48 MiB (about
   * 2M samples as Native blocks; their columns wait in memory for the head, ~40 MB).
   */
  maxBacklogBytes?: number;
  /**
   * Journaled batches are inserted together once this many bytes wait (default 16 MiB, ~650k
   * samples), once the oldest has waited insertDelayMs, or at once when a reader waits for them
   * (settled()). Every chDB insert has a fixed cost (about 9 ms of engine CPU, and one more part to
   * merge later): ten 10k-sample batches in one insert cost the engine a third of what ten inserts
   * do. 16 rather than 4 MiB: fewer, bigger parts, which chDB did not need to merge during the
   * ingest bench (4 MiB of RowBinary rows: ~0.28 s of merge CPU per million samples).
   */
  insertGroupBytes?: number;
  /** Default 1000 ms; 0 inserts whatever waits as soon as the previous insert is done. */
  insertDelayMs?: number;
  log?: (msg: string) => void;
}

export class MetricsStore {
  private readonly observer: StoredSamplesObserver | undefined;
  private readonly journal: InsertJournal | undefined;
  private readonly log: (msg: string) => void;
  private readonly maxBacklogBytes: number;
  private readonly insertGroupBytes: number;
  private readonly insertDelayMs: number;
  /** Set while the oldest waiting batch is younger than insertDelayMs and the group is small. */
  private groupTimer: ReturnType<typeof setTimeout> | undefined;
  private groupWaitOver = false;
  /** Journaled batches waiting for their insert, oldest first; one worker inserts them in turns. */
  private queue: { seq: number; entry: JournalEntry; batches: readonly SampleBatch[]; newSeries: boolean }[] = [];
  private seriesWrites = 0;
  private worker: Promise<void> | undefined;
  private journaledSeq = 0;
  private insertedSeq = 0;
  private waiters: { seq: number; resolve: () => void }[] = [];
  private backlogBytes = 0;
  private closed = false;
  private lastFailure = '';

  constructor(private readonly db: ClickHouseDriver, opts: MetricsStoreOptions = {}) {
    this.observer = opts.observer;
    this.journal = opts.journal;
    this.log = opts.log ?? (() => undefined);
    this.maxBacklogBytes = opts.maxBacklogBytes ?? 48 * 1024 * 1024;
    this.insertGroupBytes = opts.insertGroupBytes ?? 16 * 1024 * 1024;
    this.insertDelayMs = opts.insertDelayMs ?? 1000;
  }

  /** Time of the newest stored sample (ms; 0 when there is none). */
  async newestSampleMs(): Promise<number> {
    const [[ms]] = await this.db.rows(`SELECT toUnixTimestamp64Milli(max(ts)) FROM ${metricsSeriesSamplesTable}`) as [[number | string]];
    return Number(ms);
  }

  /**
   * Counts inserts that stored series rows: while it is unchanged, matchers resolve to the same
   * series (rows only ever appear through this store when it is the only writer, as with chDB).
   */
  seriesGeneration(): number {
    return this.seriesWrites;
  }

  /** Bytes acknowledged (journaled) but not yet inserted. */
  insertBacklogBytes(): number {
    return this.backlogBytes;
  }

  /**
   * Resolves once every batch acknowledged so far is in storage (and in the observer). Readers wait
   * for it, so what a sender was told is stored is also what a query reads.
   */
  settled(): Promise<void> {
    const seq = this.journaledSeq;
    if (this.insertedSeq >= seq || this.closed) return Promise.resolve();
    const p = new Promise<void>((resolve) => this.waiters.push({ seq, resolve }));
    this.scheduleInsert(); // someone waits: no reason to wait for a bigger group
    return p;
  }

  /** Stops retrying failed inserts and waits for the one running; what is left stays journaled. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.groupTimer);
    this.groupTimer = undefined;
    await this.worker;
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  /**
   * Stores an encoded samples payload (Native blocks, see encodeSampleBlock; several are stored as
   * their concatenation, without making it) after the series rows it needs;
   * resolves once it is durable. Series rows go first so that a reader never sees samples without
   * their labels; a series is marked written only once its row is durable (journaled batches are
   * inserted in order, so a later batch's samples never overtake it). `batches` are the same
   * samples as columns, for the observer.
   */
  async insertEncodedSamples(payload: Uint8Array | readonly Uint8Array[], seriesDays: readonly SeriesDay[] = [], batches: readonly SampleBatch[] = []): Promise<void> {
    const needed = seriesDays.filter((s) => !s.series.writtenDays.includes(s.day));
    const parts: JournalPart[] = [];
    if (needed.length > 0) parts.push({ table: metricsSeriesTable, columns: seriesColumns, format: 'RowBinary', payload: encodeSeriesRows(needed) });
    if (payloadBytes(payload) > 0) parts.push({ table: metricsSeriesSamplesTable, columns: sampleBlockColumns, format: 'Native', payload });
    if (!this.journal) {
      try {
        for (const p of parts) {
          const bytes = p.payload instanceof Uint8Array ? p.payload : Buffer.concat(p.payload);
          if (p.format === 'Native') await this.db.insertNative(p.table, p.columns, bytes);
          else await this.db.insertRowBinary(p.table, p.columns, bytes);
        }
      } catch (e) {
        if (this.observer) for (const b of batches) this.observer.writeFailed(b);
        throw e;
      }
      markWritten(needed);
      if (needed.length > 0) this.seriesWrites++;
      for (const b of batches) { this.observer?.add(b); b.release?.(); }
      return;
    }
    if (parts.length === 0) return;
    // Behind by more than the backlog allows: wait, so the sender is paced by storage (and the
    // ingest queue in front of us answers 503 when it fills) instead of the journal growing.
    while (this.backlogBytes > this.maxBacklogBytes && !this.closed) {
      // Storage failing: refuse now (the sender retries) rather than hold the request.
      if (this.lastFailure) throw new Error(`inserting earlier batches is failing: ${this.lastFailure}`);
      await Promise.race([this.settled(), new Promise((r) => setTimeout(r, 200))]);
    }
    const entry = await this.journal.append(parts);
    markWritten(needed);
    this.backlogBytes += entry.bytes;
    this.queue.push({ seq: ++this.journaledSeq, entry, batches, newSeries: needed.length > 0 });
    this.scheduleInsert();
  }

  /** Whether the batches waiting should be inserted now rather than grow into a bigger group. */
  private insertDue(): boolean {
    return this.waiters.length > 0 || this.groupWaitOver || this.backlogBytes >= this.insertGroupBytes || this.insertDelayMs === 0;
  }

  /** Starts the insert worker when a group is due, or the timer that makes it due. */
  private scheduleInsert(): void {
    if (this.worker || this.closed || this.queue.length === 0) return;
    if (this.insertDue()) {
      clearTimeout(this.groupTimer);
      this.groupTimer = undefined;
      this.worker = this.insertQueued().finally(() => {
        this.worker = undefined;
        this.scheduleInsert();
      });
      return;
    }
    if (this.groupTimer) return;
    this.groupTimer = setTimeout(() => {
      this.groupTimer = undefined;
      this.groupWaitOver = true;
      this.scheduleInsert();
    }, this.insertDelayMs);
    // Nothing is lost if the process exits meanwhile: the batches are journaled.
    this.groupTimer.unref();
  }

  /**
   * Inserts journaled batches while a group is due: each turn takes every batch waiting (one INSERT
   * per table for all of them), retrying a failed turn until it succeeds (they were acknowledged)
   * or the store closes.
   */
  private async insertQueued(): Promise<void> {
    for (let attempt = 0; this.queue.length > 0 && !this.closed && (attempt > 0 || this.insertDue());) {
      this.groupWaitOver = false;
      const turn = this.queue.slice();
      try {
        await this.journal!.commit(turn.map((t) => t.entry), [metricsSeriesTable, metricsSeriesSamplesTable]);
      } catch (e) {
        // Storage may hold part of these now: the head must not answer for their times.
        if (this.observer) for (const t of turn) for (const b of t.batches) this.observer.writeFailed(b);
        const msg = (e as Error).message;
        if (msg !== this.lastFailure) this.log(`storage: inserting acknowledged metrics failed, retrying (they stay journaled): ${msg}`);
        this.lastFailure = msg;
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt++)));
        continue;
      }
      attempt = 0;
      this.lastFailure = '';
      this.queue.splice(0, turn.length);
      for (const t of turn) {
        if (t.newSeries) this.seriesWrites++;
        this.backlogBytes -= t.entry.bytes;
        for (const b of t.batches) { this.observer?.add(b); b.release?.(); }
      }
      this.insertedSeq = turn.at(-1)!.seq;
      this.waiters = this.waiters.filter((w) => (w.seq <= this.insertedSeq ? (w.resolve(), false) : true));
    }
  }

  async insertSampleBatch(batch: SampleBatch): Promise<void> {
    const w = new RowBinaryWriter(Math.max(1024, batch.length * 30));
    const seriesDays = encodeSampleBlock(batch, w);
    await this.insertEncodedSamples(w.view(), seriesDays, [batch]);
  }

  async insertSamples(rows: readonly SampleRow[]): Promise<void> {
    if (rows.length === 0) return;
    const ids = new Map<string, number>();
    const batch: SampleBatch = {
      series: [], length: rows.length, seriesIndex: new Uint32Array(rows.length),
      timestampsMs: new Float64Array(rows.length), valueBytes: new Uint8Array(rows.length * 8),
    };
    const values = new DataView(batch.valueBytes.buffer);
    rows.forEach((r, i) => {
      const labels = Object.entries(r.labels).filter(([, v]) => v !== '').sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const key = JSON.stringify([r.metricName, labels]);
      let si = ids.get(key);
      if (si === undefined) {
        si = batch.series.push(encodeSeriesIdentity(r.metricName, labels)) - 1;
        ids.set(key, si);
      }
      batch.seriesIndex[i] = si;
      batch.timestampsMs[i] = r.timestampMs;
      values.setFloat64(i * 8, r.value, true);
    });
    await this.insertSampleBatch(batch);
  }

  async insertMetadata(items: readonly MetricMetadata[], nowMs: number): Promise<void> {
    await this.db.insertJsonRows(metricsMetadataTable, items.map((m) => ({
      metric_family_name: m.family, type: m.type, help: m.help, unit: m.unit, updated_at: nowMs,
    })));
  }

  /** Label sets (with __name__) of series matching all matchers with samples in (fromMs, toMs]; no samples read. */
  async selectLabelSets(matchers: readonly LabelMatcher[], fromMs: number, toMs: number): Promise<Record<string, string>[]> {
    await this.settled();
    const params: QueryParams = { from: fromMs, to: toMs };
    const where = matchers.map((m, i) => matcherPredicate(m, i, params));
    await this.checkRegexes(matchers, params);
    const name = matchers.find((m) => m.name === '__name__' && m.type === '=');
    const range = 'ts > fromUnixTimestamp64Milli({from:Int64}) AND ts <= fromUnixTimestamp64Milli({to:Int64})';
    const sql = `SELECT metric_name, labels FROM ${metricsSeriesTable}
      WHERE ${seriesDaysPredicate('from', 'to')} ${where.map((w) => `AND ${w}`).join(' ')}
        AND fingerprint ${this.db.cluster ? 'GLOBAL IN' : 'IN'} (SELECT fingerprint FROM ${metricsSeriesSamplesTable} WHERE ${range}${name ? ` AND metric_name = {v${matchers.indexOf(name)}:String}` : ''})
      LIMIT 1 BY fingerprint`;
    const rows = await this.db.rows(sql, params);
    return rows.map(([name, labels]) => ({ __name__: name as string, ...(labels as Record<string, string>) }));
  }

  /**
   * ClickHouse compiles a regex only when some row reaches it, so a broken pattern over an empty
   * range would silently match nothing. Compile each one against a constant to surface the error.
   */
  private async checkRegexes(matchers: readonly LabelMatcher[], params: QueryParams): Promise<void> {
    const probes = matchers.flatMap((m, i) => (m.type === '=~' || m.type === '!~' ? [`match('', {v${i}:String})`] : []));
    if (probes.length === 0) return;
    const used = Object.fromEntries(Object.entries(params).filter(([k]) => k.startsWith('v')));
    await this.db.rows(`SELECT ${probes.join(', ')}`, used);
  }

  /** Latest known type/help per metric family. */
  async metadata(): Promise<MetricMetadata[]> {
    const rows = await this.db.rows(`SELECT metric_family_name, argMax(type, updated_at), argMax(help, updated_at), argMax(unit, updated_at)
      FROM ${metricsMetadataTable} GROUP BY metric_family_name ORDER BY metric_family_name`);
    return rows.map(([family, type, help, unit]) => ({ family, type, help, unit }) as MetricMetadata);
  }
}

/**
 * The metrics_series days that can hold series with samples in (from, to]; parameter names of
 * the two Int64 bounds.
 */
export function seriesDaysPredicate(from: string, to: string): string {
  return `day >= toDate(fromUnixTimestamp64Milli({${from}:Int64})) AND day <= toDate(fromUnixTimestamp64Milli({${to}:Int64}))`;
}

/** Builds one WHERE term; the label name and value are both bound parameters. */
function matcherPredicate(m: LabelMatcher, i: number, params: QueryParams): string {
  const v = `{v${i}:String}`;
  let column: string;
  if (m.name === '__name__') {
    column = 'metric_name';
  } else {
    params[`k${i}`] = m.name;
    column = `labels[{k${i}:String}]`; // a missing key reads as '', as a missing label does in PromQL
  }
  switch (m.type) {
    case '=': params[`v${i}`] = m.value; return `${column} = ${v}`;
    case '!=': params[`v${i}`] = m.value; return `${column} != ${v}`;
    case '=~': params[`v${i}`] = anchoredRegex(m.value); return `match(${column}, ${v})`;
    case '!~': params[`v${i}`] = anchoredRegex(m.value); return `NOT match(${column}, ${v})`;
  }
}
