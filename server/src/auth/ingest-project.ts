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
