// PostgreSQL over the network (`--pg-url`): several server replicas share one config database.
import pg from 'pg';
import type { SqlDriver, SqlExecutor, SqlParam } from './sql.ts';

interface PgQueryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

function executor(c: PgQueryable): SqlExecutor {
  return {
    async query<R extends object>(sql: string, params: readonly SqlParam[] = []): Promise<R[]> {
      return (await c.query(sql, [...params])).rows as R[];
    },
    async exec(sql: string): Promise<void> {
      await c.query(sql);
    },
  };
}

export async function openPostgresDriver(connectionString: string, log: (msg: string) => void): Promise<SqlDriver> {
  const pool = new pg.Pool({ connectionString, max: 10, idleTimeoutMillis: 30_000 });
  // An idle client that loses its server emits 'error' on the pool; without a listener that would
  // crash the process. The next query gets a fresh connection.
  pool.on('error', (e) => log(`config database connection lost: ${e.message}`));
  const c = await pool.connect().catch(async (e: Error) => {
    await pool.end().catch(() => undefined);
    throw new Error(`cannot connect to PostgreSQL (--pg-url ${redact(connectionString)}): ${e.message}`);
  });
  c.release();
  return {
    kind: 'postgres',
    ...executor(pool),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const out = await fn(executor(client));
        await client.query('COMMIT');
        return out;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/** The URL without its password, for error messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
