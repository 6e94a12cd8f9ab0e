// Every change to the config schema, in order. Never edit an applied migration: append a new one.
// migrate() runs in one transaction behind an advisory lock, so replicas starting together on one
// PostgreSQL apply each migration exactly once and the losers see the winner's result.
import type { SqlDriver } from './sql.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Arbitrary constant shared by every Rootsight replica: the key of the migration advisory lock. */
const migrationLockKey = 7_310_522_601;

const nameRe = `'^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'`;
const updatedAt = 'updated_at timestamptz NOT NULL DEFAULT now()';

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'projects, keys, users, roles, sessions, settings, slo overrides, incidents, integrations',
    sql: `
CREATE TABLE roles (
  name text PRIMARY KEY,
  rank integer NOT NULL UNIQUE CHECK (rank > 0),
  description text NOT NULL
);
INSERT INTO roles (name, rank, description) VALUES
  ('viewer', 10, 'reads everything'),
  ('editor', 20, 'viewer, and changes project settings'),
  ('admin', 30, 'editor, and manages users, projects and API keys');

CREATE TABLE projects (
  id text PRIMARY KEY CHECK (id ~ '^[0-9a-z]{8}$'),
  name text NOT NULL UNIQUE CHECK (name ~ ${nameRe}),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id text PRIMARY KEY CHECK (id ~ '^[0-9a-z]{8}$'),
  project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  key_hash text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
  key_prefix text NOT NULL CHECK (length(key_prefix) BETWEEN 4 AND 12),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 200),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_project ON api_keys (project_id);

CREATE TABLE users (
  id text PRIMARY KEY CHECK (id ~ '^[0-9a-z]{12}$'),
  email text NOT NULL CHECK (length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  name text NOT NULL CHECK (name ~ ${nameRe}),
  password_hash text NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
  role text NOT NULL REFERENCES roles(name),
  created_at timestamptz NOT NULL DEFAULT now(),
  ${updatedAt}
);
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE UNIQUE INDEX users_name ON users (lower(name));

CREATE TABLE sessions (
  token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE settings (
  project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  key text NOT NULL CHECK (key ~ '^[a-z0-9][a-z0-9_.-]{0,99}$'),
  value jsonb NOT NULL,
  ${updatedAt},
  PRIMARY KEY (project_id, key)
);

CREATE TABLE server_settings (
  key text PRIMARY KEY CHECK (key ~ '^[a-z0-9][a-z0-9_.-]{0,99}$'),
  value jsonb NOT NULL,
  ${updatedAt}
);

CREATE TABLE slo_overrides (
  project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  application_id text NOT NULL CHECK (length(application_id) BETWEEN 1 AND 512),
  availability_objective_percent double precision CHECK (availability_objective_percent > 0 AND availability_objective_percent <= 100),
  latency_objective_percent double precision CHECK (latency_objective_percent > 0 AND latency_objective_percent <= 100),
  latency_threshold_ms double precision CHECK (latency_threshold_ms > 0),
  ${updatedAt},
  PRIMARY KEY (project_id, application_id)
);

CREATE TABLE incidents (
  project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  key text NOT NULL CHECK (key ~ '^[0-9a-z]{8}$'),
  application_id text NOT NULL CHECK (length(application_id) BETWEEN 1 AND 512),
  severity text NOT NULL CHECK (severity IN ('warning', 'critical')),
  opened_at timestamptz NOT NULL,
  resolved_at timestamptz CHECK (resolved_at IS NULL OR resolved_at >= opened_at),
  details jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
  PRIMARY KEY (project_id, key)
);
-- At most one open incident per application.
CREATE UNIQUE INDEX incidents_open ON incidents (project_id, application_id) WHERE resolved_at IS NULL;
CREATE INDEX incidents_opened ON incidents (project_id, opened_at);

CREATE TABLE notification_integrations (
  project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  type text NOT NULL CHECK (type IN ('slack', 'pagerduty', 'webhook')),
  config jsonb NOT NULL CHECK (jsonb_typeof(config) = 'object'),
  enabled boolean NOT NULL DEFAULT true,
  ${updatedAt},
  PRIMARY KEY (project_id, type)
);
`,
  },
];

export class NewerSchemaError extends Error {}

/** Applies the missing migrations; returns the versions it applied (empty when up to date). */
export async function migrate(db: SqlDriver, list: readonly Migration[] = migrations): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Set((await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => r.version));
    const newest = Math.max(0, ...list.map((m) => m.version));
    const unknown = [...done].filter((v) => v > newest);
    if (unknown.length > 0) {
      throw new NewerSchemaError(`the config database has schema version ${Math.max(...unknown)}, newer than this Rootsight knows (${newest}); run a newer Rootsight or use another database`);
    }
    const applied: number[] = [];
    for (const m of [...list].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}
