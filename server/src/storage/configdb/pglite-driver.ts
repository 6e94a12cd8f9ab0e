// In-process PostgreSQL (WASM). One instance per data directory; PGlite serialises all queries
// of an instance, so transactions from concurrent requests queue instead of interleaving.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { SqlDriver, SqlExecutor, SqlParam } from './sql.ts';

interface PgliteLike {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
  exec(sql: string): Promise<unknown>;
}

function executor(db: PgliteLike): SqlExecutor {
  return {
    async query<R extends object>(sql: string, params: readonly SqlParam[] = []): Promise<R[]> {
      return (await db.query<R>(sql, [...params])).rows;
    },
    async exec(sql: string): Promise<void> {
      await db.exec(sql);
    },
  };
}

export async function openPgliteDriver(dir: string): Promise<SqlDriver> {
  mkdirSync(dir, { recursive: true });
  const db = await PGlite.create(dir);
  const base = executor(db);
  return {
    kind: 'pglite',
    ...base,
    transaction: (fn) => db.transaction((tx) => fn(executor(tx))),
    close: () => db.close(),
  };
}
