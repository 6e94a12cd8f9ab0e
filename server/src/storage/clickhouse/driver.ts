// What the stores need from ClickHouse, whichever way it is reached: chDB in this process
// (session.ts) or a ClickHouse server / cluster over HTTP (http-driver.ts). SQL is the same dialect
// in both; only the table layout differs in cluster mode (see ddl.ts).
import type { QueryParams } from './session.ts';

export interface ClickHouseDriver {
  /** 'chdb' or 'http': shown in /api/storage so an operator sees which engine answers. */
  readonly kind: 'chdb' | 'http';
  /** Cluster name when the schema is ReplicatedMergeTree + Distributed; undefined on one node. */
  readonly cluster: string | undefined;
  exec(sql: string, params?: QueryParams): Promise<void>;
  /** A SELECT's rows as positional arrays (JSONCompactEachRow). */
  rows(sql: string, params?: QueryParams): Promise<unknown[][]>;
  /** A SELECT's result as raw RowBinary bytes: compact, and floats keep their exact bits (NaN payloads). */
  rowBinary(sql: string, params?: QueryParams): Promise<Uint8Array>;
  /**
   * Inserts rows as JSONEachRow; resolves only once the data is written (our acks depend on it).
   * `columns` names the columns present in the rows; needed when some are EPHEMERAL inputs.
   */
  insertJsonRows(table: string, rows: readonly object[], columns?: readonly string[]): Promise<void>;
  /**
   * Inserts a RowBinary payload (see row-binary.ts) holding `columns` in order; the bulk ingest
   * path. Resolves only once the data is written, like insertJsonRows. `settings` are extra
   * ClickHouse settings for this insert (names and numbers only; ours, not request input).
   */
  insertRowBinary(table: string, columns: readonly string[], payload: Uint8Array, settings?: InsertSettings): Promise<void>;
  /**
   * Inserts a payload of Native blocks (see sample-block.ts) holding `columns` in order, otherwise
   * as insertRowBinary. A block names its columns' types itself.
   */
  insertNative(table: string, columns: readonly string[], payload: Uint8Array, settings?: InsertSettings): Promise<void>;
  close(): Promise<void>;
}

/** The binary input formats our bulk inserts use. */
export type BinaryFormat = 'RowBinary' | 'Native';

/** Extra per-insert ClickHouse settings: name → number. */
export type InsertSettings = Readonly<Record<string, number>>;
