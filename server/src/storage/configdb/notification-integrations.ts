// Where notifications go, per project: one Slack, PagerDuty and webhook configuration each.
// The config is JSON because every integration has its own fields; notify/ validates them.
import { translated } from './errors.ts';
import { type JsonValue, ms } from './ids.ts';
import type { SqlDriver } from './sql.ts';

export type IntegrationType = 'slack' | 'pagerduty' | 'webhook';

export interface NotificationIntegration {
  projectId: string;
  type: IntegrationType;
  config: Record<string, JsonValue>;
  enabled: boolean;
  updatedAt: number;
}

interface Row { project_id: string; type: IntegrationType; config: Record<string, JsonValue>; enabled: boolean; updated_at: Date }
const toIntegration = (r: Row): NotificationIntegration => ({ projectId: r.project_id, type: r.type, config: r.config, enabled: r.enabled, updatedAt: ms(r.updated_at) });

export class NotificationIntegrationRepository {
  constructor(private readonly db: SqlDriver) {}

  async put(projectId: string, type: IntegrationType, config: Record<string, JsonValue>, enabled = true): Promise<NotificationIntegration> {
    const rows = await translated(`${type} integration`, () => this.db.query<Row>(
      `INSERT INTO notification_integrations (project_id, type, config, enabled) VALUES ($1, $2, $3::jsonb, $4)
       ON CONFLICT (project_id, type) DO UPDATE SET config = excluded.config, enabled = excluded.enabled, updated_at = now()
       RETURNING *`, [projectId, type, JSON.stringify(config), enabled]));
    return toIntegration(rows[0]!);
  }

  async list(projectId: string): Promise<NotificationIntegration[]> {
    return (await this.db.query<Row>('SELECT * FROM notification_integrations WHERE project_id = $1 ORDER BY type', [projectId])).map(toIntegration);
  }

  async get(projectId: string, type: IntegrationType): Promise<NotificationIntegration | undefined> {
    const r = (await this.db.query<Row>('SELECT * FROM notification_integrations WHERE project_id = $1 AND type = $2', [projectId, type]))[0];
    return r && toIntegration(r);
  }

  async delete(projectId: string, type: IntegrationType): Promise<boolean> {
    return (await this.db.query('DELETE FROM notification_integrations WHERE project_id = $1 AND type = $2 RETURNING type', [projectId, type])).length > 0;
  }
}
