// The whole ClickHouse schema of the metrics store, in one place. Every statement is idempotent
// (IF NOT EXISTS) and runs at every start, so an existing data directory is simply reused.

/**
 * One row per sample. Labels live in the row (sorted, without __name__) rather than in a separate
 * series table: ClickHouse compresses the repeated maps well because rows of one series are stored
 * next to each other (ORDER BY metric_name, fingerprint, ts), and reads never need a join.
 * Partitioning by day lets retention drop whole parts; the sort key makes "one metric over a time
 * range" a contiguous scan.
 */
export const metricsSamplesTable = 'metrics_samples';
export const metricsMetadataTable = 'metrics_metadata';

export const schemaStatements: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS ${metricsSamplesTable} (
    metric_name LowCardinality(String),
    labels Map(LowCardinality(String), String),
    -- Series identity. Labels are sorted before insert, so the same label set always hashes the same.
    fingerprint UInt64 MATERIALIZED cityHash64(metric_name, mapKeys(labels), mapValues(labels)),
    ts DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    value Float64 CODEC(Gorilla, ZSTD(1))
  ) ENGINE = MergeTree
  PARTITION BY toDate(ts)
  ORDER BY (metric_name, fingerprint, ts)`,
  // ReplacingMergeTree keeps the newest description per family; readers use FINAL or argMax.
  `CREATE TABLE IF NOT EXISTS ${metricsMetadataTable} (
    metric_family_name String,
    type LowCardinality(String),
    help String,
    unit String,
    updated_at DateTime64(3, 'UTC')
  ) ENGINE = ReplacingMergeTree(updated_at)
  ORDER BY metric_family_name`,
];
