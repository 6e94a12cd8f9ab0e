// GET /api/storage: per signal, what is stored (bytes on disk, rows, oldest/newest day), how fast
// it grows, the budget and the days left before the budget is full; plus the ingest queues and
// what PromQL keeps in memory (the head of recent samples, the cache of decoded storage reads).
import type { FastifyInstance } from 'fastify';
import type { BatcherStats } from '../ingest/batcher.ts';
import type { StoredSampleCacheStats } from '../metrics/sample-cache.ts';
import type { SampleHeadStats } from '../metrics/sample-head.ts';
import type { StorageManager } from '../storage/clickhouse/retention.ts';

/** null where the piece is off (0 samples configured, or not chDB). */
export interface MetricsMemoryStats { head: SampleHeadStats | null; cache: StoredSampleCacheStats | null }

export function registerStorageApi(app: FastifyInstance, storage: StorageManager, driverKind: string, ingestStats: () => BatcherStats[], metricsMemory: () => MetricsMemoryStats): void {
  app.get('/api/storage', async () => ({
    driver: driverKind,
    signals: await storage.usage(),
    ingestQueues: ingestStats(),
    metricsMemory: metricsMemory(),
  }));
}
