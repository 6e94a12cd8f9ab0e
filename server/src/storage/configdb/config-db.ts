// The config database: projects, users, keys, settings, SLO overrides, incidents, integrations.
// PGlite under <dataDir>/configdb by default; PostgreSQL when a connection URL is given.
import { join } from 'node:path';
import { ApiKeyRepository } from './api-keys.ts';
import { IncidentRepository } from './incidents.ts';
import { migrate } from './migrations.ts';
import { NotificationIntegrationRepository } from './notification-integrations.ts';
import { openPgliteDriver } from './pglite-driver.ts';
import { openPostgresDriver } from './postgres-driver.ts';
import { ProjectRepository } from './projects.ts';
import { RoleRepository } from './roles.ts';
import { SessionRepository } from './sessions.ts';
import { SettingsRepository } from './settings.ts';
import { SloOverrideRepository } from './slo-overrides.ts';
import type { SqlDriver } from './sql.ts';
import { UserRepository } from './users.ts';

export interface ConfigDbOptions {
  /** PGlite keeps its files in <dataDir>/configdb. */
  dataDir: string;
  /** postgres://… — use this PostgreSQL instead of PGlite. */
  pgUrl?: string;
  log?: (msg: string) => void;
}

export class ConfigDb {
  readonly projects: ProjectRepository;
  readonly apiKeys: ApiKeyRepository;
  readonly users: UserRepository;
  readonly roles: RoleRepository;
  readonly sessions: SessionRepository;
  readonly settings: SettingsRepository;
  readonly sloOverrides: SloOverrideRepository;
  readonly incidents: IncidentRepository;
  readonly integrations: NotificationIntegrationRepository;

  constructor(readonly driver: SqlDriver) {
    this.projects = new ProjectRepository(driver);
    this.apiKeys = new ApiKeyRepository(driver);
    this.users = new UserRepository(driver);
    this.roles = new RoleRepository(driver);
    this.sessions = new SessionRepository(driver);
    this.settings = new SettingsRepository(driver);
    this.sloOverrides = new SloOverrideRepository(driver);
    this.incidents = new IncidentRepository(driver);
    this.integrations = new NotificationIntegrationRepository(driver);
  }

  /** Opens the driver and brings the schema up to date. */
  static async open(opts: ConfigDbOptions): Promise<ConfigDb> {
    const log = opts.log ?? (() => undefined);
    const driver = opts.pgUrl ? await openPostgresDriver(opts.pgUrl, log) : await openPgliteDriver(join(opts.dataDir, 'configdb'));
    try {
      const applied = await migrate(driver);
      if (applied.length > 0) log(`config database (${driver.kind}): applied migrations ${applied.join(', ')}`);
    } catch (e) {
      await driver.close().catch(() => undefined);
      throw e;
    }
    return new ConfigDb(driver);
  }

  close(): Promise<void> {
    return this.driver.close();
  }
}
