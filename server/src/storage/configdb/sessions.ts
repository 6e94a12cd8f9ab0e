// Login sessions. The cookie carries a random token; only its SHA-256 is stored, so a copy of the
// database does not let anyone log in.
import { randomBytes } from 'node:crypto';
import { sha256Hex } from './ids.ts';
import type { SqlDriver } from './sql.ts';
import type { User } from './users.ts';
import { ms } from './ids.ts';

interface Row { id: string; email: string; name: string; role: User['role']; created_at: Date; updated_at: Date }

export class SessionRepository {
  constructor(private readonly db: SqlDriver) {}

  /** Returns the token for the cookie. */
  async create(userId: string, ttlMs: number): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.db.query(`INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')`, [sha256Hex(token), userId, ttlMs]);
    return token;
  }

  /** The user of a live session, or undefined for an unknown or expired token. */
  async user(token: string): Promise<User | undefined> {
    if (token === '') return undefined;
    const r = (await this.db.query<Row>(
      `SELECT u.id, u.email, u.name, u.role, u.created_at, u.updated_at FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.token_hash = $1 AND s.expires_at > now()`, [sha256Hex(token)]))[0];
    return r && { id: r.id, email: r.email, name: r.name, role: r.role, createdAt: ms(r.created_at), updatedAt: ms(r.updated_at) };
  }

  async delete(token: string): Promise<void> {
    await this.db.query('DELETE FROM sessions WHERE token_hash = $1', [sha256Hex(token)]);
  }

  /** Ends every session of a user (password change, role change). */
  async deleteForUser(userId: string, exceptToken?: string): Promise<void> {
    await this.db.query('DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2', [userId, exceptToken ? sha256Hex(exceptToken) : '']);
  }

  async deleteExpired(): Promise<number> {
    return (await this.db.query('DELETE FROM sessions WHERE expires_at <= now() RETURNING token_hash')).length;
  }
}
