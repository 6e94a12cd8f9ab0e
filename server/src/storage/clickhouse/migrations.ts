// Versioned schema changes, in order, for every signal. Each migration runs once per database
// (recorded in rootsight_schema_migrations); statements are also idempotent (IF NOT EXISTS), so a
// crash between a statement and its record only repeats harmless work. Data directories created
// before this list existed already hold the metrics tables: migration 1 finds them and moves on.
import type { ClickHouseDriver } from './driver.ts';
import { createTableStatements, localTableName, onCluster, type DdlTarget, type TableSpec } from './ddl.ts';
import {
  legacyMetricsSamplesSpec, legacyMetricsSamplesTable, logsSpec, logsTable, metricsMetadataSpec, metricsSeriesSamplesSpec,
  metricsSeriesSamplesTable, metricsSeriesSpec, metricsSeriesTable, migrationsSpec, migrationsTable, profileSamplesSpec,
  profileStacksSpec, tracesSpec, tracesTable,
} from './schema.ts';
import { seriesFingerprintSql } from './series-fingerprint.ts';

export interface Migration {
  version: number;
  name: string;
  statements(target: DdlTarget): string[];
  /** Data changes after the statements (copying rows between layouts); not DDL, so not in schemaStatementsFor. */
  moveData?(db: ClickHouseDriver, target: DdlTarget): Promise<void>;
}

const tables = (...specs: TableSpec[]) => (target: DdlTarget) => specs.flatMap((s) => createTableStatements(s, target));

export const migrations: readonly Migration[] = [
  { version: 1, name: 'metrics samples and metadata', statements: tables(legacyMetricsSamplesSpec, metricsMetadataSpec) },
  { version: 2, name: 'otel_traces', statements: tables(tracesSpec) },
  { version: 3, name: 'otel_logs', statements: tables(logsSpec) },
  { version: 4, name: 'profiling samples and stacks', statements: tables(profileSamplesSpec, profileStacksSpec) },
  {
    // Ingest writes many small parts; with the default base (5) ClickHouse rewrote every row about
    // three times in merges, half of all insert CPU for metrics (bench/ingest-stages.ts). A higher
    // base merges more parts at once, less often: fewer rewrites, somewhat more parts between merges.
    version: 5, name: 'fewer, wider merges for the ingest tables',
    statements: (target) => [legacyMetricsSamplesTable, tracesTable, logsTable].map((t) => `ALTER TABLE ${localTableName(t, target)}${onCluster(target)} MODIFY SETTING merge_selector_base = 20`),
  },
  {
    // Labels once per series per day instead of in every sample row: a sample insert carries
    // (name, fingerprint, time, value), ~5× cheaper for the engine. The legacy table is created
    // here too (a no-op where it exists) so that a run interrupted after the copy's DROP can repeat.
    version: 6, name: 'metrics series table; samples by fingerprint',
    statements: tables(legacyMetricsSamplesSpec, metricsSeriesSpec, metricsSeriesSamplesSpec),
    moveData: moveLegacySamples,
  },
  {
    // Ingest CPU over bytes on disk: the samples table's time and value columns compress with LZ4
    // after Delta/Gorilla instead of ZSTD(1) (insert ~0.31 -> ~0.21 s engine CPU per million
    // samples; ~0.45 -> ~0.55 B per sample). Existing parts keep ZSTD until merged; reads take both.
    version: 7, name: 'samples table: LZ4 for time and value',
    statements: (target) => [`ALTER TABLE ${localTableName(metricsSeriesSamplesTable, target)}${onCluster(target)} MODIFY COLUMN ts CODEC(Delta, LZ4), MODIFY COLUMN value CODEC(Gorilla, LZ4)`],
  },
];

/**
 * Copies the one-table layout's rows into the series and samples tables, computing the new
 * fingerprint in SQL, then drops the old table. A crash between the copy and the drop repeats the
 * copy: series rows fold (ReplacingMergeTree) and a sample stored twice for one timestamp reads as one.
 */
async function moveLegacySamples(db: ClickHouseDriver, target: DdlTarget): Promise<void> {
  const settings = 'SETTINGS max_partitions_per_insert_block = 0';
  await db.exec(`INSERT INTO ${metricsSeriesTable} (day, metric_name, fingerprint, labels) ${settings}
    SELECT day, metric_name, ${seriesFingerprintSql}, labels
    FROM (SELECT toDate(ts) AS day, metric_name, any(labels) AS labels FROM ${legacyMetricsSamplesTable} GROUP BY day, metric_name, fingerprint)`);
  await db.exec(`INSERT INTO ${metricsSeriesSamplesTable} (metric_name, fingerprint, ts, value) ${settings}
    SELECT metric_name, ${seriesFingerprintSql}, ts, value FROM ${legacyMetricsSamplesTable}`);
  await db.exec(`DROP TABLE IF EXISTS ${legacyMetricsSamplesTable}${onCluster(target)} SYNC`);
  if (target.cluster) await db.exec(`DROP TABLE IF EXISTS ${localTableName(legacyMetricsSamplesTable, target)}${onCluster(target)} SYNC`);
}

export function schemaStatementsFor(target: DdlTarget): string[] {
  return [...createTableStatements(migrationsSpec, target), ...migrations.flatMap((m) => m.statements(target))];
}

/** Applies every migration not yet recorded, up to `lastVersion`; returns the versions it applied. */
export async function runMigrations(db: ClickHouseDriver, log: (msg: string) => void = () => undefined, lastVersion = Infinity): Promise<number[]> {
  const target: DdlTarget = { cluster: db.cluster };
  for (const stmt of createTableStatements(migrationsSpec, target)) await db.exec(stmt);
  const done = new Set((await db.rows(`SELECT DISTINCT version FROM ${migrationsTable}`)).map((r) => Number(r[0])));
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version > lastVersion) break;
    if (done.has(m.version)) continue;
    for (const stmt of m.statements(target)) await db.exec(stmt);
    await m.moveData?.(db, target);
    await db.insertJsonRows(migrationsTable, [{ version: m.version, name: m.name, applied_at: Math.floor(Date.now() / 1000) }]);
    log(`storage: applied schema migration ${m.version} (${m.name})`);
    applied.push(m.version);
  }
  return applied;
}
