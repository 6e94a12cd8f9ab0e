// Users with one role each. Password hashes are made and checked in auth/; this table only keeps them.
import { translated } from './errors.ts';
import { ms, randomId } from './ids.ts';
import type { SqlDriver } from './sql.ts';

export type RoleName = 'viewer' | 'editor' | 'admin';

export interface User { id: string; email: string; name: string; role: RoleName; createdAt: number; updatedAt: number }
/** Only for checking a password; never sent anywhere. */
export interface UserWithHash extends User { passwordHash: string }

export interface NewUser { email: string; name: string; passwordHash: string; role: RoleName }
export type UserChange = Partial<NewUser>;

interface Row { id: string; email: string; name: string; role: RoleName; password_hash: string; created_at: Date; updated_at: Date }
const toUser = (r: Row): User => ({ id: r.id, email: r.email, name: r.name, role: r.role, createdAt: ms(r.created_at), updatedAt: ms(r.updated_at) });

export class UserRepository {
  constructor(private readonly db: SqlDriver) {}

  async create(u: NewUser): Promise<User> {
    const rows = await translated(`user "${u.name}"`, () => this.db.query<Row>(
      'INSERT INTO users (id, email, name, password_hash, role) VALUES ($1, $2, $3, $4, $5) RETURNING *',
      [randomId(12), u.email, u.name, u.passwordHash, u.role]));
    return toUser(rows[0]!);
  }

  async list(): Promise<User[]> {
    return (await this.db.query<Row>('SELECT * FROM users ORDER BY created_at, id')).map(toUser);
  }

  async count(): Promise<number> {
    return (await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users'))[0]!.n;
  }

  async get(id: string): Promise<User | undefined> {
    const r = (await this.db.query<Row>('SELECT * FROM users WHERE id = $1', [id]))[0];
    return r && toUser(r);
  }

  /** By email or name, case-insensitively (login accepts either). */
  async findForLogin(login: string): Promise<UserWithHash | undefined> {
    const r = (await this.db.query<Row>('SELECT * FROM users WHERE lower(email) = lower($1) OR lower(name) = lower($1) ORDER BY lower(email) = lower($1) DESC LIMIT 1', [login]))[0];
    return r && { ...toUser(r), passwordHash: r.password_hash };
  }

  async getWithHash(id: string): Promise<UserWithHash | undefined> {
    const r = (await this.db.query<Row>('SELECT * FROM users WHERE id = $1', [id]))[0];
    return r && { ...toUser(r), passwordHash: r.password_hash };
  }

  /**
   * Applies a change; refuses (returns 'last-admin') to take away the role of the only admin,
   * so the server can never lock everyone out.
   */
  async update(id: string, c: UserChange): Promise<User | undefined | 'last-admin'> {
    return this.db.transaction(async (tx) => {
      if (c.role !== undefined && c.role !== 'admin' && await this.isOnlyAdmin(tx, id)) return 'last-admin';
      const rows = await translated('user', () => tx.query<Row>(
        `UPDATE users SET email = coalesce($2, email), name = coalesce($3, name), password_hash = coalesce($4, password_hash),
           role = coalesce($5, role), updated_at = now() WHERE id = $1 RETURNING *`,
        [id, c.email ?? null, c.name ?? null, c.passwordHash ?? null, c.role ?? null]));
      return rows[0] && toUser(rows[0]);
    });
  }

  async delete(id: string): Promise<boolean | 'last-admin'> {
    return this.db.transaction(async (tx) => {
      if (await this.isOnlyAdmin(tx, id)) return 'last-admin';
      return (await tx.query('DELETE FROM users WHERE id = $1 RETURNING id', [id])).length > 0;
    });
  }

  private async isOnlyAdmin(tx: Pick<SqlDriver, 'query'>, id: string): Promise<boolean> {
    // FOR UPDATE on the admins keeps two concurrent demotions from both passing the check.
    const admins = await tx.query<{ id: string }>(`SELECT id FROM users WHERE role = 'admin' ORDER BY id FOR UPDATE`);
    return admins.length === 1 && admins[0]!.id === id;
  }
}
