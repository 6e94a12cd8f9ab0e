// GET /metrics: the server's own state in Prometheus text format, so a Prometheus (or this server,
// scraping itself) can watch it over time: what PromQL keeps in memory (the head of recent samples
// and the decoded-sample cache, the same figures GET /api/storage shows once), the backlog of
// acknowledged but not yet inserted remote write, the ingest queues, and the process' memory.
import { PROMETHEUS_TEXT_CONTENT_TYPE, renderPrometheusText, type MetricFamily, type MetricFamilyType } from '@rootsight/common';
import type { FastifyInstance } from 'fastify';
import type { BatcherStats } from '../ingest/batcher.ts';
import type { MetricsMemoryStats } from './storage-usage.ts';

/** Where the figures come from; read at each scrape. */
export interface ServerSelfStatsSources {
  metricsMemory: () => MetricsMemoryStats;
  /** Remote write journaled (acknowledged) but not yet in storage; 0 without a journal. */
  metricsInsertBacklogBytes: () => number;
  /** Traces, logs and profiles queues. */
  ingestQueues: () => BatcherStats[];
}

export function registerSelfMetrics(app: FastifyInstance, sources: ServerSelfStatsSources): void {
  app.get('/metrics', async (_req, reply) => reply.type(PROMETHEUS_TEXT_CONTENT_TYPE).send(renderPrometheusText(serverSelfMetricFamilies(sources))));
}

const prefix = 'rootsight_server_';

/** Families without samples (the head or cache turned off) are left out of the text. */
export function serverSelfMetricFamilies(sources: ServerSelfStatsSources): MetricFamily[] {
  const { head, cache } = sources.metricsMemory();
  const queues = sources.ingestQueues();
  const memory = process.memoryUsage();
  const one = (name: string, type: MetricFamilyType, help: string, value: number | undefined): MetricFamily =>
    ({ name: prefix + name, type, help, samples: value === undefined ? [] : [{ labels: {}, value }] });
  const perQueue = (name: string, type: MetricFamilyType, help: string, value: (q: BatcherStats) => number): MetricFamily =>
    ({ name: prefix + name, type, help, samples: queues.map((q) => ({ labels: { queue: q.name }, value: value(q) })) });
  return [
    one('promql_head_series', 'gauge', 'Series in the in-memory head of recent samples that answers PromQL reads.', head?.series),
    one('promql_head_samples', 'gauge', 'Samples held in the PromQL head.', head?.samples),
    one('promql_head_complete_after_seconds', 'gauge', 'The head answers only for windows starting after this Unix time; older reads go to storage.', head ? head.completeAfterMs / 1000 : undefined),
    one('promql_head_reclaims_total', 'counter', 'Times the head dropped its oldest samples (or all series) to stay within its bounds.', head?.reclaims),
    one('promql_head_hits_total', 'counter', 'Series reads the head answered.', head?.hits),
    one('promql_head_misses_total', 'counter', 'Series reads the head could not answer (window older than it covers, or a regex only storage evaluates).', head?.misses),
    one('promql_sample_cache_entries', 'gauge', 'Series windows held in the decoded-sample cache of storage reads.', cache?.entries),
    one('promql_sample_cache_samples', 'gauge', 'Samples held in the decoded-sample cache (with a per-entry overhead counted as samples).', cache?.samples),
    one('promql_sample_cache_max_samples', 'gauge', 'Bound of the decoded-sample cache (--metrics-cache-samples).', cache?.maxSamples),
    one('promql_sample_cache_hits_total', 'counter', 'Series windows read from the decoded-sample cache instead of storage.', cache?.hits),
    one('promql_sample_cache_misses_total', 'counter', 'Series windows looked for in the decoded-sample cache and not found.', cache?.misses),
    one('promql_sample_cache_evictions_total', 'counter', 'Least recently used windows dropped to stay within the cache bound.', cache?.evictions),
    one('promql_sample_cache_merges_total', 'counter', 'Cached series windows that stored samples were merged into.', cache?.merges),
    one('promql_sample_cache_invalidations_total', 'counter', 'Drops of the cached series windows a failed write touched, and whole clears (retention).', cache?.invalidations),
    one('promql_sample_cache_voided_reads_total', 'counter', 'Storage reads not kept in the cache because data landed in their windows while they ran.', cache?.voidedReads),
    one('metrics_insert_backlog_bytes', 'gauge', 'Remote write acknowledged (journaled) but not yet inserted into storage.', sources.metricsInsertBacklogBytes()),
    perQueue('ingest_queue_bytes', 'gauge', 'Bytes queued or being inserted, per ingest queue.', (q) => q.queuedBytes + q.inflightBytes),
    perQueue('ingest_queue_max_bytes', 'gauge', 'Bound of each ingest queue (--ingest-queue-bytes); above it ingest answers 429.', (q) => q.maxBytes),
    perQueue('ingest_rows_written_total', 'counter', 'Rows inserted into storage, per ingest queue.', (q) => q.rowsWritten),
    perQueue('ingest_rejected_total', 'counter', 'Requests refused because their ingest queue was full.', (q) => q.rejected),
    one('process_resident_memory_bytes', 'gauge', 'Resident set size of the server process (chDB included: it runs in process).', memory.rss),
    one('process_heap_used_bytes', 'gauge', 'V8 heap in use.', memory.heapUsed),
  ];
}
