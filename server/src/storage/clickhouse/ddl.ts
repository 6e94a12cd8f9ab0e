// Turns one table description into DDL for a single node (MergeTree family) or for a cluster
// (Replicated* engines ON CLUSTER, plus a Distributed table in front). The Distributed table gets
// the logical name so that every query and insert reads the same in both modes; the shards'
// tables are `<name>_local`, and only partition management touches those directly.

export interface TableSpec {
  name: string;
  /** Column and index definitions, verbatim. */
  columns: readonly string[];
  /** Engine family without "Replicated": MergeTree, ReplacingMergeTree, … */
  engine: 'MergeTree' | 'ReplacingMergeTree' | 'SummingMergeTree';
  /** Engine arguments, e.g. the version column of a ReplacingMergeTree. */
  engineArgs?: string;
  /** Absent only for tiny, never-expiring tables (metadata, migrations). */
  partitionBy?: string;
  orderBy: string;
  settings?: string;
  /** Distributed sharding key; rows that belong together (one trace) land on one shard. */
  shardingKey: string;
}

export interface DdlTarget {
  /** ClickHouse cluster name from `--clickhouse-cluster`; undefined = single node. */
  cluster?: string;
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function checkClusterName(cluster: string): string {
  // Formatted into DDL (ON CLUSTER cannot be bound as a parameter), so it must be a plain identifier.
  if (!identifier.test(cluster)) throw new Error(`--clickhouse-cluster: "${cluster}" is not a valid cluster name (letters, digits, _)`);
  return cluster;
}

/** The table that holds a node's own data parts: the table itself, or `<name>_local` in a cluster. */
export function localTableName(name: string, target: DdlTarget): string {
  return target.cluster ? `${name}_local` : name;
}

/** `ON CLUSTER c` or nothing. */
export function onCluster(target: DdlTarget): string {
  return target.cluster ? ` ON CLUSTER ${checkClusterName(target.cluster)}` : '';
}

export function createTableStatements(spec: TableSpec, target: DdlTarget): string[] {
  const tail = [
    spec.partitionBy ? `PARTITION BY ${spec.partitionBy}` : '',
    `ORDER BY ${spec.orderBy}`,
    spec.settings ? `SETTINGS ${spec.settings}` : '',
  ].filter(Boolean).join('\n  ');
  const body = `(\n    ${spec.columns.join(',\n    ')}\n  )`;
  if (!target.cluster) {
    return [`CREATE TABLE IF NOT EXISTS ${spec.name} ${body} ENGINE = ${spec.engine}${spec.engineArgs ? `(${spec.engineArgs})` : ''}\n  ${tail}`];
  }
  const cluster = checkClusterName(target.cluster);
  const local = localTableName(spec.name, target);
  const replicated = [`'/clickhouse/tables/{shard}/{database}/${local}'`, `'{replica}'`, ...(spec.engineArgs ? [spec.engineArgs] : [])];
  return [
    `CREATE TABLE IF NOT EXISTS ${local} ON CLUSTER ${cluster} ${body} ENGINE = Replicated${spec.engine}(${replicated.join(', ')})\n  ${tail}`,
    `CREATE TABLE IF NOT EXISTS ${spec.name} ON CLUSTER ${cluster} AS ${local} ENGINE = Distributed(${cluster}, currentDatabase(), ${local}, ${spec.shardingKey})`,
  ];
}
