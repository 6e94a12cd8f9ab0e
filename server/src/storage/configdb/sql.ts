// The one seam between the config repositories and a database: PGlite in-process by default,
// PostgreSQL at scale. Both speak the same SQL; repositories never know which one they use.

export type SqlParam = string | number | boolean | null;

export interface SqlExecutor {
  /** One statement with $1.. placeholders; returns the rows (parsed: jsonb → objects, timestamptz → Date). */
  query<R extends object = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<R[]>;
  /** Several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface SqlDriver extends SqlExecutor {
  readonly kind: 'pglite' | 'postgres';
  /** Runs fn in one transaction on one connection; rolls back when fn throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
