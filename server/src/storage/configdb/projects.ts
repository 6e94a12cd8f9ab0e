import { translated } from './errors.ts';
import { ms, randomId } from './ids.ts';
import type { SqlDriver } from './sql.ts';

export interface Project { id: string; name: string; createdAt: number }

interface Row { id: string; name: string; created_at: Date }
const toProject = (r: Row): Project => ({ id: r.id, name: r.name, createdAt: ms(r.created_at) });

export class ProjectRepository {
  constructor(private readonly db: SqlDriver) {}

  async create(name: string): Promise<Project> {
    const rows = await translated(`project "${name}"`, () =>
      this.db.query<Row>('INSERT INTO projects (id, name) VALUES ($1, $2) RETURNING *', [randomId(8), name]));
    return toProject(rows[0]!);
  }

  async list(): Promise<Project[]> {
    return (await this.db.query<Row>('SELECT * FROM projects ORDER BY created_at, id')).map(toProject);
  }

  async count(): Promise<number> {
    const rows = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM projects');
    return rows[0]!.n;
  }

  async get(id: string): Promise<Project | undefined> {
    const rows = await this.db.query<Row>('SELECT * FROM projects WHERE id = $1', [id]);
    return rows[0] && toProject(rows[0]);
  }

  async rename(id: string, name: string): Promise<Project | undefined> {
    const rows = await translated(`project "${name}"`, () =>
      this.db.query<Row>('UPDATE projects SET name = $2 WHERE id = $1 RETURNING *', [id, name]));
    return rows[0] && toProject(rows[0]);
  }

  /** Deletes a project with its keys, settings, overrides, incidents and integrations. */
  async delete(id: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM projects WHERE id = $1 RETURNING id', [id])).length > 0;
  }

  /** Creates `name` only when there is no project at all (first start); concurrent replicas agree on one. */
  async createIfNone(name: string): Promise<Project | undefined> {
    return this.db.transaction(async (tx) => {
      await tx.query('LOCK TABLE projects IN SHARE ROW EXCLUSIVE MODE');
      const n = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM projects');
      if (n[0]!.n > 0) return undefined;
      const rows = await tx.query<Row>('INSERT INTO projects (id, name) VALUES ($1, $2) RETURNING *', [randomId(8), name]);
      return toProject(rows[0]!);
    });
  }
}
