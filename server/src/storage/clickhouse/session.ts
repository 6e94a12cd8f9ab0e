// The process's single chDB connection. chDB is a process-wide engine: it serves exactly one data
// directory at a time, so a second open (even on another path) is refused with a clear error
// instead of the engine's generic one.
import { mkdirSync } from 'node:fs';
import { Session, drainPending } from 'chdb';
import type { ClickHouseDriver } from './driver.ts';
import { runMigrations } from './migrations.ts';

/** Values bound server-side to `{name:Type}` placeholders; never spliced into SQL text. */
export type QueryParams = Record<string, string | number | bigint | boolean | readonly string[]>;

export class ClickHouseQueryError extends Error {
  constructor(message: string, readonly clickhouseCode: number | undefined) {
    super(message);
    this.name = 'ClickHouseQueryError';
  }
}

/** ClickHouse's code for a regular expression RE2 could not compile: a user error, not ours. */
export const CANNOT_COMPILE_REGEXP = 427;

let openPath: string | undefined;

export class ClickHouseSession implements ClickHouseDriver {
  readonly kind = 'chdb' as const;
  readonly cluster = undefined;

  private constructor(private readonly session: Session, readonly path: string) {}

  static async open(path: string): Promise<ClickHouseSession> {
    if (openPath !== undefined) {
      throw new Error(`chDB is already open on ${openPath} in this process; only one data directory per process is possible, close the other server first`);
    }
    mkdirSync(path, { recursive: true });
    openPath = path;
    try {
      const s = new ClickHouseSession(new Session(path), path);
      try {
        await runMigrations(s);
      } catch (e) {
        await s.close();
        throw e;
      }
      return s;
    } catch (e) {
      openPath = undefined;
      throw e;
    }
  }

  async exec(sql: string, params: QueryParams = {}): Promise<void> {
    await this.run(sql, params, 'TSV');
  }

  /**
   * Runs a SELECT and returns its rows as positional arrays. Denormal floats come back as the
   * strings "nan", "inf", "-inf" (see parseFloatCell) because JSON has no literal for them.
   */
  async rows(sql: string, params: QueryParams = {}): Promise<unknown[][]> {
    const text = await this.run(sql, params, 'JSONCompactEachRow');
    const out: unknown[][] = [];
    for (const line of text.split('\n')) if (line) out.push(JSON.parse(line) as unknown[]);
    return out;
  }

  /** Inserts rows through the engine's JSONEachRow parser; resolves once the data is written. */
  async insertJsonRows(table: string, rows: readonly object[], columns?: readonly string[]): Promise<void> {
    if (rows.length === 0) return;
    const payload = Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n'));
    try {
      // A push may legitimately span many days (backfill); the per-insert partition cap is a
      // guard for interactive users, not for us.
      await this.session.insert({ table, values: payload, format: 'JSONEachRow', ...(columns ? { columns } : {}), settings: { max_partitions_per_insert_block: 0 } });
    } catch (e) {
      throw toQueryError(e);
    }
  }

  async close(): Promise<void> {
    this.session.close();
    // close() may defer the real teardown behind running work; wait so the path can be reopened.
    await drainPending();
    if (openPath === this.path) openPath = undefined;
  }

  private async run(sql: string, params: QueryParams, format: string): Promise<string> {
    try {
      const r = Object.keys(params).length > 0
        ? await this.session.queryBindAsync(sql, params, { format })
        : await this.session.queryAsync(sql, { format });
      return r.text();
    } catch (e) {
      throw toQueryError(e);
    }
  }
}

function toQueryError(e: unknown): ClickHouseQueryError {
  const err = e as { message?: string; clickhouseCode?: number };
  return new ClickHouseQueryError(String(err.message ?? e), typeof err.clickhouseCode === 'number' ? err.clickhouseCode : undefined);
}

/** Parses a Float64 cell of a JSON result, where ClickHouse quotes the denormals. */
export function parseFloatCell(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'nan' || v === '-nan') return NaN;
  if (v === 'inf' || v === '+inf') return Infinity;
  if (v === '-inf') return -Infinity;
  if (v === null) return NaN;
  return Number(v);
}
