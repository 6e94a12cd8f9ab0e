// Per-application SLO objectives that replace the project defaults. A null field keeps the default.
import { translated } from './errors.ts';
import { ms } from './ids.ts';
import type { SqlDriver } from './sql.ts';

export interface SloOverride {
  projectId: string;
  applicationId: string;
  availabilityObjectivePercent: number | null;
  latencyObjectivePercent: number | null;
  latencyThresholdMs: number | null;
  updatedAt: number;
}
export type SloOverrideInput = Omit<SloOverride, 'updatedAt'>;

interface Row {
  project_id: string; application_id: string; availability_objective_percent: number | null;
  latency_objective_percent: number | null; latency_threshold_ms: number | null; updated_at: Date;
}
const toOverride = (r: Row): SloOverride => ({
  projectId: r.project_id, applicationId: r.application_id, availabilityObjectivePercent: r.availability_objective_percent,
  latencyObjectivePercent: r.latency_objective_percent, latencyThresholdMs: r.latency_threshold_ms, updatedAt: ms(r.updated_at),
});

export class SloOverrideRepository {
  constructor(private readonly db: SqlDriver) {}

  async put(o: SloOverrideInput): Promise<SloOverride> {
    const rows = await translated(`SLO override for "${o.applicationId}"`, () => this.db.query<Row>(
      `INSERT INTO slo_overrides (project_id, application_id, availability_objective_percent, latency_objective_percent, latency_threshold_ms)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (project_id, application_id) DO UPDATE SET availability_objective_percent = excluded.availability_objective_percent,
         latency_objective_percent = excluded.latency_objective_percent, latency_threshold_ms = excluded.latency_threshold_ms, updated_at = now()
       RETURNING *`,
      [o.projectId, o.applicationId, o.availabilityObjectivePercent, o.latencyObjectivePercent, o.latencyThresholdMs]));
    return toOverride(rows[0]!);
  }

  async list(projectId: string): Promise<SloOverride[]> {
    return (await this.db.query<Row>('SELECT * FROM slo_overrides WHERE project_id = $1 ORDER BY application_id', [projectId])).map(toOverride);
  }

  async get(projectId: string, applicationId: string): Promise<SloOverride | undefined> {
    const r = (await this.db.query<Row>('SELECT * FROM slo_overrides WHERE project_id = $1 AND application_id = $2', [projectId, applicationId]))[0];
    return r && toOverride(r);
  }

  async delete(projectId: string, applicationId: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM slo_overrides WHERE project_id = $1 AND application_id = $2 RETURNING project_id', [projectId, applicationId])).length > 0;
  }
}
