// GET /api/storage: per signal, what is stored (bytes on disk, rows, oldest/newest day), how fast
// it grows, the budget and the days left before the budget is full; plus the ingest queues.
import type { FastifyInstance } from 'fastify';
import type { BatcherStats } from '../ingest/batcher.ts';
import type { StorageManager } from '../storage/clickhouse/retention.ts';

export function registerStorageApi(app: FastifyInstance, storage: StorageManager, driverKind: string, ingestStats: () => BatcherStats[]): void {
  app.get('/api/storage', async () => ({
    driver: driverKind,
    signals: await storage.usage(),
    ingestQueues: ingestStats(),
  }));
}
