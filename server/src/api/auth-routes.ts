// Login and the current user: POST /api/login, POST /api/logout, GET /api/me,
// PUT /api/me/password, GET /api/roles, GET /api/access/routes.
import type { FastifyInstance } from 'fastify';
import { type AccessControl, requestAuth } from '../auth/access-control.ts';
import { decoyHash, hashPassword, passwordProblem, passwordRules, verifyPassword } from '../auth/password.ts';
import { clearSessionCookie, sessionToken, sessionTtlMs, setSessionCookie } from '../auth/session-cookie.ts';
import type { ConfigDb } from '../storage/configdb/config-db.ts';
import { BadInputError, answer, readObject, smallBodyLimit } from './request-input.ts';

export function registerAuthRoutes(app: FastifyInstance, db: ConfigDb, access: AccessControl): void {
  app.post('/api/login', { bodyLimit: smallBodyLimit }, (req, reply) => answer(reply, async () => {
    const b = readObject(req, {
      email: { type: 'string', max: 254 },
      name: { type: 'string', max: 254 },
      password: { type: 'string', required: true, max: passwordRules.maxLength },
    });
    const login = b.email ?? b.name;
    if (login === undefined || login === '') throw new BadInputError('missing field "email" (or "name")');
    const user = await db.users.findForLogin(login);
    // Check a password even for an unknown user, so the answer time does not reveal who exists.
    const ok = await verifyPassword(b.password!, user?.passwordHash ?? await decoyHash());
    if (!user || !ok) return reply.code(401).send({ error: 'invalid email/name or password' });
    const token = await db.sessions.create(user.id, sessionTtlMs);
    setSessionCookie(req, reply, token);
    const { passwordHash: _, ...safe } = user;
    return { user: safe };
  }));

  app.post('/api/logout', async (req, reply) => {
    const token = sessionToken(req);
    if (token !== '') await db.sessions.delete(token);
    clearSessionCookie(reply);
    return reply.code(204).send();
  });

  app.get('/api/me', async (req) => {
    const id = requestAuth(req).identity;
    if (id?.kind === 'user') return { user: id.user, role: id.user.role, anonymous: false };
    return { user: null, role: id?.kind === 'anonymous' ? id.role : 'viewer', anonymous: true };
  });

  app.put('/api/me/password', { bodyLimit: smallBodyLimit }, (req, reply) => answer(reply, async () => {
    const id = requestAuth(req).identity;
    if (id?.kind !== 'user') return reply.code(401).send({ error: 'log in first' });
    const b = readObject(req, {
      currentPassword: { type: 'string', required: true, max: passwordRules.maxLength },
      newPassword: { type: 'string', required: true },
    });
    const problem = passwordProblem(b.newPassword!);
    if (problem) throw new BadInputError(`field "newPassword": ${problem}`);
    const me = await db.users.getWithHash(id.user.id);
    if (!me || !(await verifyPassword(b.currentPassword!, me.passwordHash))) return reply.code(403).send({ error: 'current password is wrong' });
    await db.users.update(me.id, { passwordHash: await hashPassword(b.newPassword!) });
    // Other sessions of this user end; this one stays.
    await db.sessions.deleteForUser(me.id, id.sessionToken);
    access.invalidate();
    return reply.code(204).send();
  }));

  app.get('/api/roles', async () => db.roles.list());

  app.get('/api/access/routes', async () => access.registeredRoutes());
}
