// Every ClickHouse table Rootsight stores, in one place. migrations.ts decides when each is
// created; ddl.ts renders it for one node or a cluster.
//
// Common rules: every table that grows with ingest is partitioned by day of its event time, so
// retention and byte budgets drop whole partitions (cheap, no mutations) instead of relying on TTL
// merges; timestamps are Delta+ZSTD; ids are stored as bytes, not hex text.
import type { TableSpec } from './ddl.ts';

/** The one-table layout of schema versions 1–5 (labels in every row); migration 6 moves its rows out. */
export const legacyMetricsSamplesTable = 'metrics_samples';
export const metricsSeriesTable = 'metrics_series';
export const metricsSeriesSamplesTable = 'metrics_series_samples';
export const metricsMetadataTable = 'metrics_metadata';
export const tracesTable = 'otel_traces';
export const logsTable = 'otel_logs';
export const profileSamplesTable = 'profiling_samples';
export const profileStacksTable = 'profiling_stacks';
export const migrationsTable = 'rootsight_schema_migrations';

/**
 * The layout of schema versions 1–5: one row per sample with its labels. Kept only so migration 6
 * can create it on databases that never had it (its statements run in order) and copy from it.
 */
export const legacyMetricsSamplesSpec: TableSpec = {
  name: legacyMetricsSamplesTable,
  columns: [
    'metric_name LowCardinality(String)',
    'labels Map(LowCardinality(String), String)',
    'fingerprint UInt64 MATERIALIZED cityHash64(metric_name, mapKeys(labels), mapValues(labels))',
    "ts DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1))",
    'value Float64 CODEC(Gorilla, ZSTD(1))',
  ],
  engine: 'MergeTree',
  partitionBy: 'toDate(ts)',
  orderBy: '(metric_name, fingerprint, ts)',
  shardingKey: 'fingerprint',
};

/**
 * Label sets, once per series per day. Ingest writes a series' labels the first time it stores a
 * sample of that series for a day (series-fingerprint.ts computes the fingerprint), so each day's
 * partition names every series with samples that day, and retention drops a day of series and of
 * samples together. ReplacingMergeTree folds the repeats that restarts or replicas write.
 */
export const metricsSeriesSpec: TableSpec = {
  name: metricsSeriesTable,
  columns: [
    'day Date',
    'metric_name LowCardinality(String)',
    'fingerprint UInt64',
    // Sorted by name, without __name__ and without empty values.
    'labels Map(LowCardinality(String), String) CODEC(ZSTD(1))',
  ],
  engine: 'ReplacingMergeTree',
  partitionBy: 'day',
  orderBy: '(metric_name, fingerprint)',
  shardingKey: 'fingerprint',
};

/**
 * One row per sample, naming its series by fingerprint: inserting a sample costs four fixed-width-ish
 * columns instead of a map. Rows of one series stay adjacent (ORDER BY metric_name, fingerprint, ts),
 * so times and values compress as runs.
 */
export const metricsSeriesSamplesSpec: TableSpec = {
  name: metricsSeriesSamplesTable,
  columns: [
    'metric_name LowCardinality(String)',
    'fingerprint UInt64',
    // LZ4 after Delta/Gorilla (migration 7): ZSTD(1) cost the engine ~0.1 s more CPU per million
    // samples inserted for ~0.1 B/sample less on disk, where a sample takes about half a byte.
    "ts DateTime64(3, 'UTC') CODEC(Delta, LZ4)",
    'value Float64 CODEC(Gorilla, LZ4)',
  ],
  engine: 'MergeTree',
  partitionBy: 'toDate(ts)',
  orderBy: '(metric_name, fingerprint, ts)',
  // See migration 5: fewer, wider merges for a table that gets many small inserts.
  settings: 'merge_selector_base = 20',
  shardingKey: 'fingerprint',
};

// ReplacingMergeTree keeps the newest description per family; readers use FINAL or argMax.
export const metricsMetadataSpec: TableSpec = {
  name: metricsMetadataTable,
  columns: ['metric_family_name String', 'type LowCardinality(String)', 'help String', 'unit String', "updated_at DateTime64(3, 'UTC')"],
  engine: 'ReplacingMergeTree',
  engineArgs: 'updated_at',
  orderBy: 'metric_family_name',
  shardingKey: 'sipHash64(metric_family_name)',
};

const attributeMap = 'Map(LowCardinality(String), String)';

/**
 * Coroot's otel_traces shape with typed ids: FixedString(16)/(8) instead of 32/16 hex chars
 * (half the bytes, and equality on ids compares two words). Ingest sends hex in the EPHEMERAL
 * *Hex columns and ClickHouse unhexes them; an all-zero ParentSpanId marks a root span.
 */
export const tracesSpec: TableSpec = {
  name: tracesTable,
  columns: [
    'TraceIdHex String EPHEMERAL',
    'SpanIdHex String EPHEMERAL',
    'ParentSpanIdHex String EPHEMERAL',
    'LinksTraceIdHex Array(String) EPHEMERAL',
    'LinksSpanIdHex Array(String) EPHEMERAL',
    "Timestamp DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1))",
    'TraceId FixedString(16) DEFAULT unhex(TraceIdHex) CODEC(ZSTD(1))',
    'SpanId FixedString(8) DEFAULT unhex(SpanIdHex) CODEC(ZSTD(1))',
    'ParentSpanId FixedString(8) DEFAULT unhex(ParentSpanIdHex) CODEC(ZSTD(1))',
    'TraceState String CODEC(ZSTD(1))',
    'TraceFlags UInt32 CODEC(ZSTD(1))',
    'SpanName LowCardinality(String) CODEC(ZSTD(1))',
    "SpanKind Enum8('SPAN_KIND_UNSPECIFIED' = 0, 'SPAN_KIND_INTERNAL' = 1, 'SPAN_KIND_SERVER' = 2, 'SPAN_KIND_CLIENT' = 3, 'SPAN_KIND_PRODUCER' = 4, 'SPAN_KIND_CONSUMER' = 5)",
    'ServiceName LowCardinality(String) CODEC(ZSTD(1))',
    `ResourceAttributes ${attributeMap} CODEC(ZSTD(1))`,
    'ScopeName LowCardinality(String) CODEC(ZSTD(1))',
    'ScopeVersion LowCardinality(String) CODEC(ZSTD(1))',
    `SpanAttributes ${attributeMap} CODEC(ZSTD(1))`,
    'Duration UInt64 CODEC(ZSTD(1))',
    "StatusCode Enum8('STATUS_CODE_UNSET' = 0, 'STATUS_CODE_OK' = 1, 'STATUS_CODE_ERROR' = 2)",
    'StatusMessage String CODEC(ZSTD(1))',
    "`Events.Timestamp` Array(DateTime64(9, 'UTC')) CODEC(ZSTD(1))",
    '`Events.Name` Array(LowCardinality(String)) CODEC(ZSTD(1))',
    `\`Events.Attributes\` Array(${attributeMap}) CODEC(ZSTD(1))`,
    '`Links.TraceId` Array(FixedString(16)) DEFAULT arrayMap(h -> toFixedString(unhex(h), 16), LinksTraceIdHex) CODEC(ZSTD(1))',
    '`Links.SpanId` Array(FixedString(8)) DEFAULT arrayMap(h -> toFixedString(unhex(h), 8), LinksSpanIdHex) CODEC(ZSTD(1))',
    '`Links.TraceState` Array(String) CODEC(ZSTD(1))',
    `\`Links.Attributes\` Array(${attributeMap}) CODEC(ZSTD(1))`,
    'INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1',
    'INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
    'INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
    'INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
    'INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
    'INDEX idx_duration Duration TYPE minmax GRANULARITY 1',
  ],
  engine: 'MergeTree',
  partitionBy: 'toDate(Timestamp)',
  orderBy: '(ServiceName, SpanName, toUnixTimestamp(Timestamp), TraceId)',
  settings: 'index_granularity = 8192',
  shardingKey: 'cityHash64(TraceId)',
};

export const logsSpec: TableSpec = {
  name: logsTable,
  columns: [
    'TraceIdHex String EPHEMERAL',
    'SpanIdHex String EPHEMERAL',
    "Timestamp DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1))",
    "ObservedTimestamp DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1))",
    'TraceId FixedString(16) DEFAULT unhex(TraceIdHex) CODEC(ZSTD(1))',
    'SpanId FixedString(8) DEFAULT unhex(SpanIdHex) CODEC(ZSTD(1))',
    'TraceFlags UInt32 CODEC(ZSTD(1))',
    'SeverityText LowCardinality(String) CODEC(ZSTD(1))',
    'SeverityNumber UInt8 CODEC(ZSTD(1))',
    'ServiceName LowCardinality(String) CODEC(ZSTD(1))',
    'Body String CODEC(ZSTD(1))',
    `ResourceAttributes ${attributeMap} CODEC(ZSTD(1))`,
    'ScopeName LowCardinality(String) CODEC(ZSTD(1))',
    'ScopeVersion LowCardinality(String) CODEC(ZSTD(1))',
    `LogAttributes ${attributeMap} CODEC(ZSTD(1))`,
    'EventName LowCardinality(String) CODEC(ZSTD(1))',
    'INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1',
    'INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
    'INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
    'INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
    'INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
    'INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1',
  ],
  engine: 'MergeTree',
  partitionBy: 'toDate(Timestamp)',
  orderBy: '(ServiceName, SeverityText, toUnixTimestamp(Timestamp), TraceId)',
  settings: 'index_granularity = 8192',
  shardingKey: 'rand()',
};

/** One row per sample × sample type; the stack is referenced by hash (profiling_stacks). */
export const profileSamplesSpec: TableSpec = {
  name: profileSamplesTable,
  columns: [
    'ServiceName LowCardinality(String) CODEC(ZSTD(1))',
    'Type LowCardinality(String) CODEC(ZSTD(1))',
    "Start DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1))",
    "End DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1))",
    `Labels ${attributeMap} CODEC(ZSTD(1))`,
    'StackHash UInt64 CODEC(ZSTD(1))',
    'Value Int64 CODEC(ZSTD(1))',
  ],
  engine: 'MergeTree',
  partitionBy: 'toDate(Start)',
  orderBy: '(ServiceName, Type, toUnixTimestamp(Start), toUnixTimestamp(End))',
  shardingKey: 'StackHash',
};

/**
 * Stacks, leaf first, as "function file:line" frames. Every upload re-inserts the stacks it uses
 * with its own time, so a day's stack partition covers that day's samples and can be dropped with them.
 */
export const profileStacksSpec: TableSpec = {
  name: profileStacksTable,
  columns: [
    'ServiceName LowCardinality(String) CODEC(ZSTD(1))',
    'Hash UInt64 CODEC(ZSTD(1))',
    "LastSeen DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1))",
    'Stack Array(String) CODEC(ZSTD(1))',
  ],
  engine: 'ReplacingMergeTree',
  engineArgs: 'LastSeen',
  partitionBy: 'toDate(LastSeen)',
  orderBy: '(ServiceName, Hash)',
  shardingKey: 'Hash',
};

export const migrationsSpec: TableSpec = {
  name: migrationsTable,
  columns: ['version UInt32', 'name String', "applied_at DateTime('UTC')"],
  engine: 'ReplacingMergeTree',
  orderBy: 'version',
  shardingKey: 'version',
};

/** The four signals and their tables, for retention, budgets and /api/storage. */
export type Signal = 'metrics' | 'traces' | 'logs' | 'profiles';
export const signals: readonly Signal[] = ['metrics', 'traces', 'logs', 'profiles'];
export const signalTables: Record<Signal, readonly string[]> = {
  // The first table of each signal is the one whose rows are counted as its items.
  metrics: [metricsSeriesSamplesTable, metricsSeriesTable, metricsMetadataTable],
  traces: [tracesTable],
  logs: [logsTable],
  profiles: [profileSamplesTable, profileStacksTable],
};

