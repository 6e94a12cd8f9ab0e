// The management API over the config database: login, projects, API keys, users, settings.
import type { FastifyInstance } from 'fastify';
import type { AccessControl } from '../auth/access-control.ts';
import type { ConfigDb } from '../storage/configdb/config-db.ts';
import { registerAuthRoutes } from './auth-routes.ts';
import { registerProjectsApi } from './projects-api.ts';
import { registerSettingsApi } from './settings-api.ts';
import { registerUsersApi } from './users-api.ts';

export function registerConfigApi(app: FastifyInstance, db: ConfigDb, access: AccessControl): void {
  registerAuthRoutes(app, db, access);
  registerProjectsApi(app, db, access);
  registerUsersApi(app, db, access);
  registerSettingsApi(app, db, access);
}
