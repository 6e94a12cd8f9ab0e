// The process's single chDB connection. chDB is a process-wide engine: it serves exactly one data
// directory at a time, so a second open (even on another path) is refused with a clear error
// instead of the engine's generic one.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
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

/**
 * chDB's raw insert entry point. The package's public insert() accepts only text formats (its
 * whitelist), but the native call underneath hands any `INSERT … FORMAT x` prefix plus a byte
 * payload to the engine, and binary RowBinary is several times cheaper to produce and to parse
 * than JSON. Resolved once; storage-drivers.test.ts checks it round-trips, so a chdb upgrade that
 * moves it fails a test instead of production.
 */
type NativeRawInsert = (connection: unknown, prefix: string, payload: Uint8Array, countLines: boolean) => Promise<unknown>;
let nativeRawInsert: NativeRawInsert | undefined;
function rawInsertEntry(): NativeRawInsert {
  if (nativeRawInsert) return nativeRawInsert;
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('chdb'));
  const native = (require(join(root, 'dist/loader.js')) as { loadNative(): Record<string, unknown> }).loadNative();
  const fn = native['InsertRawAsyncConnection'];
  if (typeof fn !== 'function') throw new Error('this chdb build has no InsertRawAsyncConnection; binary inserts need chdb 3.4');
  nativeRawInsert = fn as NativeRawInsert;
  return nativeRawInsert;
}

/** `INSERT INTO t (a, \`b.c\`) SETTINGS … FORMAT RowBinary`; names are ours (schema.ts), checked anyway. */
export function rowBinaryInsertPrefix(table: string, columns: readonly string[]): string {
  const ident = /^[A-Za-z_][A-Za-z0-9_.]*$/;
  for (const n of [table, ...columns]) if (!ident.test(n)) throw new Error(`not a column or table name: "${n}"`);
  // A push may legitimately span many days (backfill); the per-insert partition cap is a guard
  // for interactive users, not for us.
  return `INSERT INTO ${table} (${columns.map((c) => `\`${c}\``).join(', ')}) SETTINGS max_partitions_per_insert_block = 0 FORMAT RowBinary`;
}

export class ClickHouseSession implements ClickHouseDriver {
  readonly kind = 'chdb' as const;
  readonly cluster = undefined;

  /** Binary inserts run outside the chdb wrapper's own bookkeeping; close() waits for them. */
  private readonly inflight = new Set<Promise<unknown>>();

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

  async rowBinary(sql: string, params: QueryParams = {}): Promise<Uint8Array> {
    try {
      const r = Object.keys(params).length > 0
        ? await this.session.queryBindAsync(sql, params, { format: 'RowBinary' })
        : await this.session.queryAsync(sql, { format: 'RowBinary' });
      return r.bytes();
    } catch (e) {
      throw toQueryError(e);
    }
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

  async insertRowBinary(table: string, columns: readonly string[], payload: Uint8Array): Promise<void> {
    if (payload.length === 0) return;
    const prefix = rowBinaryInsertPrefix(table, columns);
    const connection = this.session.connection;
    if (!connection) throw new ClickHouseQueryError('chDB session is closed', undefined);
    const p = rawInsertEntry()(connection, prefix, payload, false);
    const done = p.then(() => undefined, () => undefined);
    this.inflight.add(done);
    void done.then(() => this.inflight.delete(done));
    try {
      await p;
    } catch (e) {
      throw toQueryError(e);
    }
  }

  async close(): Promise<void> {
    // Tearing the connection down under a running insert would crash the engine.
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
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
