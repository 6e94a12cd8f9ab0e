// Command-line flags (and env vars of the same names) for telemetry ingest and storage, and their
// translation into startServer options. bin/cli.ts appends these to the server's flags.
import type { RetentionPolicy } from '../storage/clickhouse/retention.ts';
import type { Signal } from '../storage/clickhouse/schema.ts';

export interface TelemetryFlagSpec { name: string; help: string; default?: string }

export const telemetryServerFlags: TelemetryFlagSpec[] = [
  { name: 'otlp-grpc-listen', help: 'address of the OTLP gRPC receiver (traces, logs); empty = off', default: '127.0.0.1:4317' },
  { name: 'clickhouse-url', help: 'ClickHouse server to store in instead of the embedded chDB, e.g. http://user:pass@host:8123/db', default: '' },
  { name: 'clickhouse-cluster', help: 'ClickHouse cluster name: tables become ReplicatedMergeTree + Distributed, DDL runs ON CLUSTER', default: '' },
  { name: 'retention-metrics', help: 'how long metrics are kept', default: '30d' },
  { name: 'retention-traces', help: 'how long traces are kept', default: '7d' },
  { name: 'retention-logs', help: 'how long logs are kept', default: '14d' },
  { name: 'retention-profiles', help: 'how long profiles are kept', default: '3d' },
  { name: 'budget-metrics', help: 'disk budget for metrics (e.g. 20GiB); oldest days are dropped above it; 0 = unlimited', default: '0' },
  { name: 'budget-traces', help: 'disk budget for traces; 0 = unlimited', default: '0' },
  { name: 'budget-logs', help: 'disk budget for logs; 0 = unlimited', default: '0' },
  { name: 'budget-profiles', help: 'disk budget for profiles; 0 = unlimited', default: '0' },
  { name: 'ingest-queue-bytes', help: 'per signal, bytes of accepted data waiting for storage before ingest answers 429', default: '64MiB' },
];

export class TelemetryFlagError extends Error {}

/** "7d", "12h", "30m", "90s" → ms. */
export function parseRetention(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(d|h|m|s)$/.exec(value.trim());
  if (!m) throw new TelemetryFlagError(`--${flag}: invalid duration "${value}", expected e.g. 7d, 36h`);
  const n = Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[m[2] as 'd' | 'h' | 'm' | 's'];
  if (n <= 0) throw new TelemetryFlagError(`--${flag}: must be positive`);
  return n;
}

/** "0", "500MB", "20GiB", "1.5TB", plain bytes → bytes. */
export function parseBytes(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?$/i.exec(value.trim());
  if (!m) throw new TelemetryFlagError(`--${flag}: invalid size "${value}", expected e.g. 0, 500MB, 20GiB`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };
  return Math.round(Number(m[1]) * mult[unit]!);
}

export interface TelemetryServerSettings {
  otlpGrpcListen?: string;
  clickhouseUrl?: string;
  clickhouseCluster?: string;
  retention: RetentionPolicy;
  ingestQueueBytes: number;
}

export function telemetrySettingsFromFlags(f: Record<string, string | undefined>): TelemetryServerSettings {
  const signals: Signal[] = ['metrics', 'traces', 'logs', 'profiles'];
  const get = (name: string) => f[name] ?? telemetryServerFlags.find((s) => s.name === name)!.default ?? '';
  return {
    otlpGrpcListen: get('otlp-grpc-listen') || undefined,
    clickhouseUrl: get('clickhouse-url') || undefined,
    clickhouseCluster: get('clickhouse-cluster') || undefined,
    retention: {
      retentionMs: Object.fromEntries(signals.map((s) => [s, parseRetention(get(`retention-${s}`), `retention-${s}`)])) as Record<Signal, number>,
      budgetBytes: Object.fromEntries(signals.map((s) => [s, parseBytes(get(`budget-${s}`), `budget-${s}`)])) as Record<Signal, number>,
    },
    ingestQueueBytes: parseBytes(get('ingest-queue-bytes'), 'ingest-queue-bytes'),
  };
}
