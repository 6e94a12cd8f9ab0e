// A ClickHouse server (or cluster) over its HTTP interface, through @clickhouse/client. Used when
// `--clickhouse-url` is set; the same stores and SQL run on it as on chDB.
import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { BinaryFormat, ClickHouseDriver, InsertSettings } from './driver.ts';
import { checkClusterName } from './ddl.ts';
import { runMigrations } from './migrations.ts';
import { ClickHouseQueryError, binaryInsertPrefix, type QueryParams } from './session.ts';

export interface HttpDriverOptions {
  /** e.g. http://user:password@clickhouse:8123/rootsight — user, password and database may ride in the URL. */
  url: string;
  cluster?: string;
  requestTimeoutMs?: number;
  log?: (msg: string) => void;
}

export class ClickHouseHttpDriver implements ClickHouseDriver {
  readonly kind = 'http' as const;

  private constructor(private readonly client: ClickHouseClient, readonly cluster: string | undefined) {}

  /** Connects and brings the schema up to date. */
  static async open(opts: HttpDriverOptions): Promise<ClickHouseHttpDriver> {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      throw new Error(`--clickhouse-url: "${opts.url}" is not a URL; expected e.g. http://localhost:8123/default`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`--clickhouse-url: expected http:// or https://, got ${u.protocol}`);
    const database = decodeURIComponent(u.pathname.replace(/^\/+/, '')) || 'default';
    const username = decodeURIComponent(u.username) || 'default';
    const password = decodeURIComponent(u.password);
    const client = createClient({
      url: `${u.protocol}//${u.host}`,
      username,
      password,
      database,
      request_timeout: opts.requestTimeoutMs ?? 60_000,
      compression: { request: false, response: false },
      // Errors reach the caller as exceptions; the client's own console logging would repeat them.
      log: { level: ClickHouseLogLevel.OFF },
      clickhouse_settings: {
        // Our acks promise the data is stored: wait for the shards, not just the local queue.
        insert_distributed_sync: 1,
        date_time_input_format: 'best_effort',
      },
    });
    const d = new ClickHouseHttpDriver(client, opts.cluster === undefined || opts.cluster === '' ? undefined : checkClusterName(opts.cluster));
    try {
      await runMigrations(d, opts.log);
    } catch (e) {
      await client.close();
      throw e;
    }
    return d;
  }

  async exec(sql: string, params: QueryParams = {}): Promise<void> {
    try {
      await this.client.command({ query: sql, query_params: params as Record<string, unknown> });
    } catch (e) {
      throw toQueryError(e);
    }
  }

  async rows(sql: string, params: QueryParams = {}): Promise<unknown[][]> {
    try {
      const r = await this.client.query({ query: sql, query_params: params as Record<string, unknown>, format: 'JSONCompactEachRow' });
      return await r.json<unknown[]>();
    } catch (e) {
      throw toQueryError(e);
    }
  }

  async rowBinary(sql: string, params: QueryParams = {}): Promise<Uint8Array> {
    try {
      const r = await this.client.exec({ query: `${sql}\nFORMAT RowBinary`, query_params: params as Record<string, unknown> });
      const chunks: Buffer[] = [];
      for await (const c of r.stream) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    } catch (e) {
      throw toQueryError(e);
    }
  }

  async insertJsonRows(table: string, rows: readonly object[], columns?: readonly string[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      await this.client.insert({
        table,
        values: rows as object[],
        format: 'JSONEachRow',
        ...(columns && columns.length > 0 ? { columns: columns as [string, ...string[]] } : {}),
        clickhouse_settings: { max_partitions_per_insert_block: '0' },
      });
    } catch (e) {
      throw toQueryError(e);
    }
  }

  async insertRowBinary(table: string, columns: readonly string[], payload: Uint8Array, settings?: InsertSettings): Promise<void> {
    await this.insertBinary(table, columns, 'RowBinary', payload, settings);
  }

  async insertNative(table: string, columns: readonly string[], payload: Uint8Array, settings?: InsertSettings): Promise<void> {
    await this.insertBinary(table, columns, 'Native', payload, settings);
  }

  private async insertBinary(table: string, columns: readonly string[], format: BinaryFormat, payload: Uint8Array, settings?: InsertSettings): Promise<void> {
    if (payload.length === 0) return;
    try {
      // The client's insert() knows no binary formats; exec() streams any payload after the statement.
      const r = await this.client.exec({ query: binaryInsertPrefix(table, columns, format, settings), values: Readable.from([Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)]) });
      // The response body must be consumed for the socket to be reused.
      for await (const _ of r.stream) { /* drain */ }
    } catch (e) {
      throw toQueryError(e);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

function toQueryError(e: unknown): ClickHouseQueryError {
  const err = e as { message?: string; code?: string };
  const code = err.code !== undefined && /^\d+$/.test(err.code) ? Number(err.code) : undefined;
  return new ClickHouseQueryError(String(err.message ?? e), code);
}
