// SLO incidents: opened when an application breaks its SLO, updated while it lasts, resolved once.
// The database allows one open incident per application, so two replicas cannot both open one.
import { ConflictError, translated } from './errors.ts';
import { type JsonValue, ms, randomId } from './ids.ts';
import type { SqlDriver } from './sql.ts';

export type Severity = 'warning' | 'critical';

export interface Incident {
  projectId: string;
  key: string;
  applicationId: string;
  severity: Severity;
  openedAt: number;
  resolvedAt: number | null;
  details: Record<string, JsonValue>;
}

interface Row { project_id: string; key: string; application_id: string; severity: Severity; opened_at: Date; resolved_at: Date | null; details: Record<string, JsonValue> }
const toIncident = (r: Row): Incident => ({
  projectId: r.project_id, key: r.key, applicationId: r.application_id, severity: r.severity,
  openedAt: ms(r.opened_at), resolvedAt: r.resolved_at === null ? null : ms(r.resolved_at), details: r.details,
});

export class IncidentRepository {
  constructor(private readonly db: SqlDriver) {}

  /** Opens an incident; undefined when the application already has an open one. */
  async open(projectId: string, applicationId: string, severity: Severity, openedAtMs: number, details: Record<string, JsonValue>): Promise<Incident | undefined> {
    try {
      const rows = await translated(`incident for "${applicationId}"`, () => this.db.query<Row>(
        `INSERT INTO incidents (project_id, key, application_id, severity, opened_at, details)
         VALUES ($1, $2, $3, $4, to_timestamp($5::double precision / 1000), $6::jsonb) RETURNING *`,
        [projectId, randomId(8), applicationId, severity, openedAtMs, JSON.stringify(details)]));
      return toIncident(rows[0]!);
    } catch (e) {
      if (e instanceof ConflictError) return undefined;
      throw e;
    }
  }

  async openFor(projectId: string, applicationId: string): Promise<Incident | undefined> {
    const r = (await this.db.query<Row>('SELECT * FROM incidents WHERE project_id = $1 AND application_id = $2 AND resolved_at IS NULL', [projectId, applicationId]))[0];
    return r && toIncident(r);
  }

  async get(projectId: string, key: string): Promise<Incident | undefined> {
    const r = (await this.db.query<Row>('SELECT * FROM incidents WHERE project_id = $1 AND key = $2', [projectId, key]))[0];
    return r && toIncident(r);
  }

  /** Incidents that overlap [fromMs, toMs], newest first. */
  async list(projectId: string, fromMs: number, toMs: number, limit = 1000): Promise<Incident[]> {
    return (await this.db.query<Row>(
      `SELECT * FROM incidents WHERE project_id = $1 AND opened_at <= to_timestamp($3::double precision / 1000)
         AND (resolved_at IS NULL OR resolved_at >= to_timestamp($2::double precision / 1000))
       ORDER BY opened_at DESC LIMIT $4`, [projectId, fromMs, toMs, limit])).map(toIncident);
  }

  async update(projectId: string, key: string, severity: Severity, details: Record<string, JsonValue>): Promise<boolean> {
    return (await translated('incident', () => this.db.query(
      'UPDATE incidents SET severity = $3, details = $4::jsonb WHERE project_id = $1 AND key = $2 AND resolved_at IS NULL RETURNING key',
      [projectId, key, severity, JSON.stringify(details)]))).length > 0;
  }

  async resolve(projectId: string, key: string, resolvedAtMs: number): Promise<boolean> {
    return (await translated('incident', () => this.db.query(
      'UPDATE incidents SET resolved_at = to_timestamp($3::double precision / 1000) WHERE project_id = $1 AND key = $2 AND resolved_at IS NULL RETURNING key',
      [projectId, key, resolvedAtMs]))).length > 0;
  }
}
