// The process's single chDB connection. chDB is a process-wide engine: it serves exactly one data
// directory at a time, so a second open (even on another path) is refused with a clear error
// instead of the engine's generic one.
import { mkdirSync, rmSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Session, drainPending } from 'chdb';
import type { BinaryFormat, ClickHouseDriver, InsertSettings } from './driver.ts';
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

const identifier = /^[A-Za-z_][A-Za-z0-9_.]*$/;

function checkNames(table: string, columns: readonly string[]): void {
  if (columns.length === 0) throw new Error(`insert into ${table}: no columns`);
  for (const n of [table, ...columns]) if (!identifier.test(n)) throw new Error(`not a column or table name: "${n}"`);
}

const sqlString = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

const columnList = (columns: readonly string[]) => columns.map((c) => `\`${c}\``).join(', ');

/** The SETTINGS list of a RowBinary insert: the partition cap lifted, plus the caller's settings. */
export function insertSettingsList(settings: InsertSettings = {}): string {
  // A push may legitimately span many days (backfill); the per-insert partition cap is a guard
  // for interactive users, not for us.
  const list = ['max_partitions_per_insert_block = 0'];
  for (const [name, value] of Object.entries(settings)) {
    if (!/^[a-z_0-9]+$/.test(name) || !Number.isFinite(value)) throw new Error(`not an insert setting: ${name} = ${value}`);
    list.push(`${name} = ${value}`);
  }
  return list.join(', ');
}

/**
 * `INSERT INTO t (a, \`b.c\`) SETTINGS … FORMAT RowBinary` (or Native), the statement a binary
 * body follows over HTTP. Names are ours (schema.ts), checked anyway.
 */
export function binaryInsertPrefix(table: string, columns: readonly string[], format: BinaryFormat, settings?: InsertSettings): string {
  checkNames(table, columns);
  return `INSERT INTO ${table} (${columnList(columns)}) SETTINGS ${insertSettingsList(settings)} FORMAT ${format}`;
}

export class ClickHouseSession implements ClickHouseDriver {
  readonly kind = 'chdb' as const;
  readonly cluster = undefined;

  /** Column types per table, for the structure argument of file() (see insertRowBinary). */
  private readonly columnTypes = new Map<string, Map<string, string>>();
  private spoolSeq = 0;
  private readonly spoolDir: string;

  private constructor(private readonly session: Session, readonly path: string) {
    this.spoolDir = join(path, 'rootsight-insert-spool');
    // Files left by a crash were never acknowledged (an ack waits for the insert that reads them).
    rmSync(this.spoolDir, { recursive: true, force: true });
    mkdirSync(this.spoolDir, { recursive: true });
  }

  /**
   * Opens the data directory and migrates its schema. `schemaVersion` stops the migrations at that
   * version, so a test can make a database as an older release left it; the server never sets it.
   */
  static async open(path: string, opts: { schemaVersion?: number } = {}): Promise<ClickHouseSession> {
    if (openPath !== undefined) {
      throw new Error(`chDB is already open on ${openPath} in this process; only one data directory per process is possible, close the other server first`);
    }
    mkdirSync(path, { recursive: true });
    openPath = path;
    try {
      const s = new ClickHouseSession(new Session(path), path);
      try {
        await runMigrations(s, undefined, opts.schemaVersion);
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

  /**
   * chDB's insert API takes text formats only (its raw entry point with inline binary data
   * silently drops rows at some byte patterns), so the payload goes through a spool file that an
   * INSERT … SELECT reads with file(…, 'RowBinary'): ~9× cheaper for the engine than JSONEachRow.
   * The file is written by the thread pool and removed once the insert has finished.
   */
  async insertRowBinary(table: string, columns: readonly string[], payload: Uint8Array, settings?: InsertSettings): Promise<void> {
    await this.insertPayload(table, columns, 'RowBinary', payload, settings);
  }

  async insertNative(table: string, columns: readonly string[], payload: Uint8Array, settings?: InsertSettings): Promise<void> {
    await this.insertPayload(table, columns, 'Native', payload, settings);
  }

  private async insertPayload(table: string, columns: readonly string[], format: BinaryFormat, payload: Uint8Array, settings?: InsertSettings): Promise<void> {
    if (payload.length === 0) return;
    checkNames(table, columns);
    const file = join(this.spoolDir, `${process.pid}-${++this.spoolSeq}.${format.toLowerCase()}`);
    await writeFile(file, payload);
    try {
      await this.insertFile(table, columns, file, format, settings);
    } finally {
      await unlink(file).catch(() => undefined);
    }
  }

  /** Inserts a file (or a file() glob) of `format` holding `columns` in order; the file stays. */
  async insertFile(table: string, columns: readonly string[], file: string, format: BinaryFormat, settings?: InsertSettings): Promise<void> {
    checkNames(table, columns);
    // pread into one reused buffer: file()'s default, mmap, page-faults on every 4 KiB it reads
    // (in the ingest bench chDB's threads took ~27,000 page faults per 2M samples with mmap and
    // 18,000-22,000 with pread; on a VM each costs microseconds).
    const settingsList = `${insertSettingsList(settings)}, storage_file_read_method = 'pread'`;
    if (format === 'Native') {
      await this.run(`INSERT INTO ${table} (${columnList(columns)}) SETTINGS ${settingsList}
      SELECT * FROM file(${sqlString(file)}, 'Native')`, {}, 'TSV');
      return;
    }
    const types = await this.typesOf(table);
    const structure = columns.map((c) => {
      const t = types.get(c);
      if (t === undefined) throw new ClickHouseQueryError(`table ${table} has no column ${c}`, undefined);
      return `\`${c}\` ${t}`;
    }).join(', ');
    // Literals rather than bound parameters: bound queries share one process-wide queue in the
    // chdb binding, and both strings are ours (spool path, types from system.columns).
    await this.run(`INSERT INTO ${table} (${columnList(columns)}) SETTINGS ${settingsList}
      SELECT * FROM file(${sqlString(file)}, 'RowBinary', ${sqlString(structure)})`, {}, 'TSV');
  }

  private async typesOf(table: string): Promise<Map<string, string>> {
    let types = this.columnTypes.get(table);
    if (!types) {
      const rows = await this.rows('SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {table:String}', { table });
      if (rows.length === 0) throw new ClickHouseQueryError(`no table ${table}`, undefined);
      // The file is read as plain String where the table says LowCardinality(String): same bytes in
      // RowBinary, and converting on insert costs the engine ~30% less than reading dictionaries.
      types = new Map(rows.map((r) => [r[0] as string, (r[1] as string).replace(/LowCardinality\(([^()]*)\)/g, '$1')]));
      this.columnTypes.set(table, types);
    }
    return types;
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
