// Keys are stored as SHA-256 hashes (they are 256-bit random, so a fast hash is enough) and shown
// by their first characters only; the full key is returned once, when it is created.
import { randomBytes } from 'node:crypto';
import { translated } from './errors.ts';
import { ms, randomId, sha256Hex } from './ids.ts';
import type { SqlDriver } from './sql.ts';

export interface ApiKey { id: string; projectId: string; prefix: string; description: string; createdAt: number }
export interface CreatedApiKey extends ApiKey { key: string }

interface Row { id: string; project_id: string; key_prefix: string; description: string; created_at: Date }
const toKey = (r: Row): ApiKey => ({ id: r.id, projectId: r.project_id, prefix: r.key_prefix, description: r.description, createdAt: ms(r.created_at) });

const prefixLength = 8;
const columns = 'id, project_id, key_prefix, description, created_at';

export class ApiKeyRepository {
  constructor(private readonly db: SqlDriver) {}

  async create(projectId: string, description: string): Promise<CreatedApiKey> {
    const key = `rs_${randomBytes(32).toString('base64url')}`;
    const rows = await translated('API key', () => this.db.query<Row>(
      `INSERT INTO api_keys (id, project_id, key_hash, key_prefix, description) VALUES ($1, $2, $3, $4, $5) RETURNING ${columns}`,
      [randomId(8), projectId, sha256Hex(key), key.slice(0, prefixLength), description]));
    return { ...toKey(rows[0]!), key };
  }

  async list(projectId: string): Promise<ApiKey[]> {
    return (await this.db.query<Row>(`SELECT ${columns} FROM api_keys WHERE project_id = $1 ORDER BY created_at, id`, [projectId])).map(toKey);
  }

  async delete(projectId: string, id: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM api_keys WHERE project_id = $1 AND id = $2 RETURNING id', [projectId, id])).length > 0;
  }

  /** The project a key belongs to, or undefined for an unknown key. */
  async projectOf(key: string): Promise<string | undefined> {
    if (key === '') return undefined;
    const rows = await this.db.query<{ project_id: string }>('SELECT project_id FROM api_keys WHERE key_hash = $1', [sha256Hex(key)]);
    return rows[0]?.project_id;
  }
}
