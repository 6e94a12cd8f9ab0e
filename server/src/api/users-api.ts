// User administration. Passwords go in, never out: answers carry id, email, name and role only.
import type { FastifyInstance } from 'fastify';
import type { AccessControl } from '../auth/access-control.ts';
import { hashPassword, passwordProblem } from '../auth/password.ts';
import { isRoleName, roleNames } from '../auth/roles.ts';
import type { ConfigDb } from '../storage/configdb/config-db.ts';
import type { UserChange } from '../storage/configdb/users.ts';
import { BadInputError, NotFoundError, answer, nameHelp, namePattern, readObject, smallBodyLimit } from './request-input.ts';

interface UserParams { userId: string }

const emailPattern = /^[^@\s]+@[^@\s]+$/;
const fields = {
  email: { type: 'string', max: 254, pattern: emailPattern, patternHelp: 'an email address like ann@example.com' },
  name: { type: 'string', pattern: namePattern, patternHelp: nameHelp },
  password: { type: 'string' },
  role: { type: 'string' },
} as const;

function checkRoleAndPassword(b: { role?: string; password?: string }): void {
  if (b.role !== undefined && !isRoleName(b.role)) throw new BadInputError(`field "role" must be one of ${roleNames.join(', ')}`);
  if (b.password !== undefined) {
    const problem = passwordProblem(b.password);
    if (problem) throw new BadInputError(`field "password": ${problem}`);
  }
}

export function registerUsersApi(app: FastifyInstance, db: ConfigDb, access: AccessControl): void {
  app.get('/api/users', async () => db.users.list());

  app.post('/api/users', { bodyLimit: smallBodyLimit }, (req, reply) => answer(reply, async () => {
    const b = readObject(req, {
      email: { ...fields.email, required: true }, name: { ...fields.name, required: true },
      password: { ...fields.password, required: true }, role: { ...fields.role, required: true },
    });
    checkRoleAndPassword(b);
    const u = await db.users.create({ email: b.email!, name: b.name!, passwordHash: await hashPassword(b.password!), role: b.role as UserChange['role'] & string });
    return reply.code(201).send(u);
  }));

  app.get<{ Params: UserParams }>('/api/users/:userId', (req, reply) => answer(reply, async () => {
    const u = await db.users.get(req.params.userId);
    if (!u) throw new NotFoundError(`no user with id "${req.params.userId}"`);
    return u;
  }));

  app.put<{ Params: UserParams }>('/api/users/:userId', { bodyLimit: smallBodyLimit }, (req, reply) => answer(reply, async () => {
    const b = readObject(req, fields);
    checkRoleAndPassword(b);
    const change: UserChange = { email: b.email, name: b.name, role: b.role as UserChange['role'] };
    if (b.password !== undefined) change.passwordHash = await hashPassword(b.password);
    const u = await db.users.update(req.params.userId, change);
    if (u === 'last-admin') return reply.code(409).send({ error: 'cannot take the admin role from the only admin; make another user admin first' });
    if (!u) throw new NotFoundError(`no user with id "${req.params.userId}"`);
    // A new password or a lower role ends the user's sessions.
    if (b.password !== undefined || b.role !== undefined) await db.sessions.deleteForUser(u.id);
    access.invalidate();
    return u;
  }));

  app.delete<{ Params: UserParams }>('/api/users/:userId', (req, reply) => answer(reply, async () => {
    const r = await db.users.delete(req.params.userId);
    if (r === 'last-admin') return reply.code(409).send({ error: 'cannot delete the only admin; make another user admin first' });
    if (!r) throw new NotFoundError(`no user with id "${req.params.userId}"`);
    access.invalidate();
    return reply.code(204).send();
  }));
}
