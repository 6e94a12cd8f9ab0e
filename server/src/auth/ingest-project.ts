// Which project an ingest request (HTTP /v1/* or gRPC) writes into, from its X-API-Key: the
// key's project; for an empty key, the only project while exactly one exists (as Coroot does).
import type { ConfigDb } from '../storage/configdb/config-db.ts';

export interface IngestProject { id: string; name: string }

export function ingestProjectResolver(db: ConfigDb): (apiKey: string) => Promise<IngestProject | undefined> {
  return async (apiKey) => {
    if (apiKey !== '') {
      const id = await db.apiKeys.projectOf(apiKey);
      return id === undefined ? undefined : db.projects.get(id);
    }
    const projects = await db.projects.list();
    return projects.length === 1 ? projects[0] : undefined;
  };
}

/**
 * The same answers, remembered per key: agents send the same key with every push, and a config-DB
 * lookup per request was ~7% of remote-write ingest. forget() must be called whenever keys or
 * projects change (AccessControl.invalidate does), so that a deleted key is refused by the very
 * next request. Entries also expire after ttlMs, which bounds how long a key deleted through
 * another replica (shared PostgreSQL) keeps working here.
 */
export class CachedIngestProjects {
  private readonly entries = new Map<string, { project: IngestProject | undefined; until: number }>();
  /** Bumped by forget(): a lookup that started before it must not store its (maybe stale) answer. */
  private generation = 0;
  private readonly lookup: (apiKey: string) => Promise<IngestProject | undefined>;

  constructor(db: ConfigDb, private readonly ttlMs = 5_000, private readonly maxEntries = 10_000) {
    this.lookup = ingestProjectResolver(db);
  }

  async resolve(apiKey: string): Promise<IngestProject | undefined> {
    const now = Date.now();
    const hit = this.entries.get(apiKey);
    if (hit && hit.until > now) return hit.project;
    const generation = this.generation;
    const project = await this.lookup(apiKey);
    if (generation === this.generation) {
      // Bounded: a client spraying random keys cannot grow memory.
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      this.entries.set(apiKey, { project, until: now + this.ttlMs });
    }
    return project;
  }

  forget(): void {
    this.generation++;
    this.entries.clear();
  }
}
