// Key/value settings: per project, and a few for the whole server (such as the anonymous role).
import { translated } from './errors.ts';
import type { JsonValue } from './ids.ts';
import type { SqlDriver } from './sql.ts';

export class SettingsRepository {
  constructor(private readonly db: SqlDriver) {}

  async all(projectId: string): Promise<Record<string, JsonValue>> {
    const rows = await this.db.query<{ key: string; value: JsonValue }>('SELECT key, value FROM settings WHERE project_id = $1 ORDER BY key', [projectId]);
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  async get(projectId: string, key: string): Promise<JsonValue | undefined> {
    return (await this.db.query<{ value: JsonValue }>('SELECT value FROM settings WHERE project_id = $1 AND key = $2', [projectId, key]))[0]?.value;
  }

  async put(projectId: string, key: string, value: JsonValue): Promise<void> {
    await translated(`setting "${key}"`, () => this.db.query(
      `INSERT INTO settings (project_id, key, value) VALUES ($1, $2, $3::jsonb)
       ON CONFLICT (project_id, key) DO UPDATE SET value = excluded.value, updated_at = now()`, [projectId, key, JSON.stringify(value)]));
  }

  async delete(projectId: string, key: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM settings WHERE project_id = $1 AND key = $2 RETURNING key', [projectId, key])).length > 0;
  }

  async serverAll(): Promise<Record<string, JsonValue>> {
    const rows = await this.db.query<{ key: string; value: JsonValue }>('SELECT key, value FROM server_settings ORDER BY key');
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  async serverGet(key: string): Promise<JsonValue | undefined> {
    return (await this.db.query<{ value: JsonValue }>('SELECT value FROM server_settings WHERE key = $1', [key]))[0]?.value;
  }

  async serverPut(key: string, value: JsonValue): Promise<void> {
    await translated(`server setting "${key}"`, () => this.db.query(
      `INSERT INTO server_settings (key, value) VALUES ($1, $2::jsonb)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()`, [key, JSON.stringify(value)]));
  }

  async serverDelete(key: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM server_settings WHERE key = $1 RETURNING key', [key])).length > 0;
  }
}
