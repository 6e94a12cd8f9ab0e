import type { SqlDriver } from './sql.ts';
import type { RoleName } from './users.ts';

export interface Role { name: RoleName; rank: number; description: string }

export class RoleRepository {
  constructor(private readonly db: SqlDriver) {}

  async list(): Promise<Role[]> {
    return this.db.query<Role>('SELECT name, rank, description FROM roles ORDER BY rank');
  }
}
