// Versioned schema changes, in order, for every signal. Each migration runs once per database
// (recorded in rootsight_schema_migrations); statements are also idempotent (IF NOT EXISTS), so a
// crash between a statement and its record only repeats harmless work. Data directories created
// before this list existed already hold the metrics tables: migration 1 finds them and moves on.
import type { ClickHouseDriver } from './driver.ts';
import { createTableStatements, localTableName, onCluster, type DdlTarget, type TableSpec } from './ddl.ts';
import {
  logsSpec, logsTable, metricsMetadataSpec, metricsSamplesSpec, metricsSamplesTable, migrationsSpec, migrationsTable,
  profileSamplesSpec, profileStacksSpec, tracesSpec, tracesTable,
} from './schema.ts';

export interface Migration {
  version: number;
  name: string;
  statements(target: DdlTarget): string[];
}

const tables = (...specs: TableSpec[]) => (target: DdlTarget) => specs.flatMap((s) => createTableStatements(s, target));

export const migrations: readonly Migration[] = [
  { version: 1, name: 'metrics samples and metadata', statements: tables(metricsSamplesSpec, metricsMetadataSpec) },
  { version: 2, name: 'otel_traces', statements: tables(tracesSpec) },
  { version: 3, name: 'otel_logs', statements: tables(logsSpec) },
  { version: 4, name: 'profiling samples and stacks', statements: tables(profileSamplesSpec, profileStacksSpec) },
  {
    // Ingest writes many small parts; with the default base (5) ClickHouse rewrote every row about
    // three times in merges, half of all insert CPU for metrics (bench/ingest-stages.ts). A higher
    // base merges more parts at once, less often: fewer rewrites, somewhat more parts between merges.
    version: 5, name: 'fewer, wider merges for the ingest tables',
    statements: (target) => [metricsSamplesTable, tracesTable, logsTable].map((t) => `ALTER TABLE ${localTableName(t, target)}${onCluster(target)} MODIFY SETTING merge_selector_base = 20`),
  },
];

export function schemaStatementsFor(target: DdlTarget): string[] {
  return [...createTableStatements(migrationsSpec, target), ...migrations.flatMap((m) => m.statements(target))];
}

/** Applies every migration not yet recorded; returns the versions it applied. */
export async function runMigrations(db: ClickHouseDriver, log: (msg: string) => void = () => undefined): Promise<number[]> {
  const target: DdlTarget = { cluster: db.cluster };
  for (const stmt of createTableStatements(migrationsSpec, target)) await db.exec(stmt);
  const done = new Set((await db.rows(`SELECT DISTINCT version FROM ${migrationsTable}`)).map((r) => Number(r[0])));
  const applied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    for (const stmt of m.statements(target)) await db.exec(stmt);
    await db.insertJsonRows(migrationsTable, [{ version: m.version, name: m.name, applied_at: Math.floor(Date.now() / 1000) }]);
    log(`storage: applied schema migration ${m.version} (${m.name})`);
    applied.push(m.version);
  }
  return applied;
}
