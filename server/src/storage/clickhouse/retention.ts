// Keeps storage within its limits by dropping whole day partitions: first everything older than
// the signal's retention, then, while a signal is over its byte budget, its oldest day. Also
// reports per-signal usage with a days-left forecast for /api/storage.
import type { ClickHouseDriver } from './driver.ts';
import { localTableName, onCluster } from './ddl.ts';
import { signalTables, signals, type Signal } from './schema.ts';

const dayMs = 86_400_000;

export interface RetentionPolicy {
  /** How long each signal is kept, in ms. */
  retentionMs: Record<Signal, number>;
  /** Bytes on disk each signal may use; 0 = unlimited. */
  budgetBytes: Record<Signal, number>;
}

export const defaultRetentionPolicy: RetentionPolicy = {
  retentionMs: { metrics: 30 * dayMs, traces: 7 * dayMs, logs: 14 * dayMs, profiles: 3 * dayMs },
  budgetBytes: { metrics: 0, traces: 0, logs: 0, profiles: 0 },
};

export interface SignalUsage {
  signal: Signal;
  tables: string[];
  bytesOnDisk: number;
  rows: number;
  partitions: number;
  /** ISO dates (UTC) of the oldest and newest day stored; null when empty. */
  oldestDay: string | null;
  newestDay: string | null;
  retentionDays: number;
  /** Average bytes per day over the last (up to) 7 stored days. */
  ingestBytesPerDay: number;
  budgetBytes: number;
  /** Days until the budget is full at the current rate; null without a budget or without data. */
  daysLeft: number | null;
}

export interface EnforcementResult { dropped: { signal: Signal; table: string; day: string; reason: 'retention' | 'budget' }[] }

interface PartitionInfo { table: string; partitionId: string; bytes: number; rows: number }

export class StorageManager {
  private timer: NodeJS.Timeout | undefined;
  private readonly dropListeners: ((signal: Signal, dayStartMs: number) => void)[] = [];
  private readonly pendingWrites: (() => Promise<void>)[] = [];
  private running: Promise<EnforcementResult> | undefined;

  constructor(
    private readonly db: ClickHouseDriver,
    readonly policy: RetentionPolicy,
    private readonly log: (msg: string) => void = () => undefined,
  ) {}

  /** Called after each dropped day partition (caches of stored data forget that day too). */
  onPartitionDropped(listener: (signal: Signal, dayStartMs: number) => void): void {
    this.dropListeners.push(listener);
  }

  /**
   * Writes acknowledged but possibly not yet in storage (a journal's backlog): awaited before each
   * run and usage report, so they see what senders were told is stored.
   */
  awaitWritesFrom(settled: () => Promise<void>): void {
    this.pendingWrites.push(settled);
  }

  /** Runs once now and then every intervalMs. */
  start(intervalMs = 3_600_000): void {
    const tick = () => {
      this.enforce().catch((e: Error) => this.log(`storage: retention run failed: ${e.message}`));
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One retention + budget pass; concurrent callers share the run in progress. */
  enforce(nowMs = Date.now()): Promise<EnforcementResult> {
    return (this.running ??= this.enforceOnce(nowMs).finally(() => { this.running = undefined; }));
  }

  private async enforceOnce(nowMs: number): Promise<EnforcementResult> {
    for (const settled of this.pendingWrites) await settled();
    const result: EnforcementResult = { dropped: [] };
    for (const signal of signals) {
      const parts = await this.partitions(signal);
      // A day partition holds [day, day+1); drop it once all of it is older than the retention.
      const cutoff = nowMs - this.policy.retentionMs[signal];
      for (const p of parts) {
        if (dayStartMs(p.partitionId) + dayMs <= cutoff) {
          await this.drop(signal, p.table, p.partitionId);
          result.dropped.push({ signal, table: p.table, day: dayIso(p.partitionId), reason: 'retention' });
        }
      }
      const budget = this.policy.budgetBytes[signal];
      if (budget <= 0) continue;
      let left = (await this.partitions(signal));
      let total = left.reduce((a, p) => a + p.bytes, 0);
      // Oldest day first, across the signal's tables; the newest day always stays.
      while (total > budget) {
        const days = [...new Set(left.map((p) => p.partitionId))].sort();
        if (days.length <= 1) break;
        const oldest = days[0]!;
        for (const p of left.filter((x) => x.partitionId === oldest)) {
          await this.drop(signal, p.table, p.partitionId);
          result.dropped.push({ signal, table: p.table, day: dayIso(p.partitionId), reason: 'budget' });
          total -= p.bytes;
        }
        left = left.filter((x) => x.partitionId !== oldest);
      }
    }
    for (const d of result.dropped) this.log(`storage: dropped ${d.table} partition ${d.day} (${d.reason})`);
    return result;
  }

  async usage(nowMs = Date.now()): Promise<SignalUsage[]> {
    for (const settled of this.pendingWrites) await settled();
    const out: SignalUsage[] = [];
    for (const signal of signals) {
      const parts = await this.partitions(signal, true);
      const dated = parts.filter((p) => isDayPartition(p.partitionId));
      const days = [...new Set(dated.map((p) => p.partitionId))].sort();
      const bytes = parts.reduce((a, p) => a + p.bytes, 0);
      const rows = parts.filter((p) => p.table === signalTables[signal][0]).reduce((a, p) => a + p.rows, 0);
      // Rate from the last up-to-7 stored days; today's partial day counts by its elapsed fraction.
      const recent = days.slice(-7);
      let rate = 0;
      if (recent.length > 0) {
        const recentBytes = dated.filter((p) => recent.includes(p.partitionId)).reduce((a, p) => a + p.bytes, 0);
        const first = dayStartMs(recent[0]!);
        const spanDays = Math.max((Math.min(nowMs, dayStartMs(recent.at(-1)!) + dayMs) - first) / dayMs, 1 / 24);
        rate = recentBytes / spanDays;
      }
      const budget = this.policy.budgetBytes[signal];
      out.push({
        signal,
        tables: [...signalTables[signal]],
        bytesOnDisk: bytes,
        rows,
        partitions: days.length,
        oldestDay: days.length ? dayIso(days[0]!) : null,
        newestDay: days.length ? dayIso(days.at(-1)!) : null,
        retentionDays: this.policy.retentionMs[signal] / dayMs,
        ingestBytesPerDay: Math.round(rate),
        budgetBytes: budget,
        daysLeft: budget > 0 && rate > 0 ? Math.max(0, Math.round(((budget - bytes) / rate) * 10) / 10) : null,
      });
    }
    return out;
  }

  private async partitions(signal: Signal, includeUndated = false): Promise<PartitionInfo[]> {
    const target = { cluster: this.db.cluster };
    const tables = signalTables[signal].map((t) => localTableName(t, target));
    const source = this.db.cluster ? `clusterAllReplicas(${this.db.cluster}, system.parts)` : 'system.parts';
    const rows = await this.db.rows(`SELECT table, partition_id, sum(bytes_on_disk), sum(rows) FROM ${source}
      WHERE active AND database = currentDatabase() AND table IN {tables:Array(String)}
      GROUP BY table, partition_id ORDER BY partition_id, table`, { tables });
    return rows
      .map((r) => ({ table: signalTables[signal][tables.indexOf(r[0] as string)]!, partitionId: r[1] as string, bytes: Number(r[2]), rows: Number(r[3]) }))
      .filter((p) => includeUndated || isDayPartition(p.partitionId));
  }

  private async drop(signal: Signal, table: string, partitionId: string): Promise<void> {
    const target = { cluster: this.db.cluster };
    // The id comes from system.parts and is checked to be YYYYMMDD: safe to format into the statement.
    if (!isDayPartition(partitionId)) throw new Error(`refusing to drop partition "${partitionId}" of ${table}`);
    await this.db.exec(`ALTER TABLE ${localTableName(table, target)}${onCluster(target)} DROP PARTITION ID '${partitionId}'`);
    for (const l of this.dropListeners) l(signal, dayStartMs(partitionId));
  }
}

function isDayPartition(id: string): boolean {
  return /^\d{8}$/.test(id);
}

function dayStartMs(id: string): number {
  return Date.UTC(Number(id.slice(0, 4)), Number(id.slice(4, 6)) - 1, Number(id.slice(6, 8)));
}

function dayIso(id: string): string {
  return `${id.slice(0, 4)}-${id.slice(4, 6)}-${id.slice(6, 8)}`;
}
