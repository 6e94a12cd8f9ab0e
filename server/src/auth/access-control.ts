// One onRequest hook decides every request from the route table (route-access.ts): who is asking
// (session cookie, API key, basic auth, or nobody) and whether that is enough for the route.
// It runs before the body is read, so an unauthorised upload costs nothing.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ConfigDb } from '../storage/configdb/config-db.ts';
import type { User } from '../storage/configdb/users.ts';
import { CachedIngestProjects } from './ingest-project.ts';
import { verifyPassword } from './password.ts';
import { type AnonymousRole, type RoleName, isAnonymousRole, roleAtLeast } from './roles.ts';
import { type Access, accessFor } from './route-access.ts';
import { sessionToken } from './session-cookie.ts';

export const anonymousRoleSetting = 'auth.anonymous_role';
export const defaultAnonymousRole: AnonymousRole = 'viewer';

export type Identity =
  | { kind: 'user'; user: User; sessionToken?: string }
  | { kind: 'api-key'; projectId: string; role: RoleName }
  | { kind: 'anonymous'; role: AnonymousRole };

export interface RequestAuth {
  identity?: Identity;
  /** The project an ingest request writes into. */
  projectId?: string;
}

const authByRequest = new WeakMap<FastifyRequest, RequestAuth>();

/** What the access hook found out about a request (empty for public routes). */
export function requestAuth(req: FastifyRequest): RequestAuth {
  return authByRequest.get(req) ?? {};
}

export interface RegisteredRoute { method: string; url: string; access: Access | 'unlisted' }

export interface AccessControlOptions {
  /** --auth-anonymous-role when given explicitly; it then wins over the stored setting. */
  anonymousRoleFlag?: AnonymousRole;
  log: (msg: string) => void;
}

const basicAuthCacheMs = 60_000;
const maxBasicAuthCache = 1000;
const anonymousRoleCacheMs = 5_000;

export class AccessControl {
  private readonly routes: RegisteredRoute[] = [];
  private readonly warnedUnlisted = new Set<string>();
  private anonymousCache: { role: AnonymousRole; until: number } | undefined;
  /** sha256(login \0 password) → user id; Grafana sends basic auth with every query and scrypt is slow on purpose. */
  private readonly basicAuthCache = new Map<string, { userId: string; until: number }>();

  private readonly ingestProjects: CachedIngestProjects;

  constructor(private readonly db: ConfigDb, private readonly opts: AccessControlOptions) {
    this.ingestProjects = new CachedIngestProjects(db);
  }

  /** Adds the hooks; call before any route is registered so that every route is seen. */
  register(app: FastifyInstance): void {
    app.addHook('onRoute', (r) => {
      const methods = Array.isArray(r.method) ? r.method : [r.method];
      for (const method of methods) this.routes.push({ method, url: r.url, access: accessFor(method, r.url) ?? 'unlisted' });
    });
    app.addHook('onRequest', async (req, reply) => this.check(req, reply));
  }

  registeredRoutes(): readonly RegisteredRoute[] {
    return this.routes;
  }

  get anonymousRoleFixedByFlag(): boolean {
    return this.opts.anonymousRoleFlag !== undefined;
  }

  async anonymousRole(): Promise<AnonymousRole> {
    if (this.opts.anonymousRoleFlag) return this.opts.anonymousRoleFlag;
    const now = Date.now();
    if (this.anonymousCache && this.anonymousCache.until > now) return this.anonymousCache.role;
    const stored = await this.db.settings.serverGet(anonymousRoleSetting);
    const role = isAnonymousRole(stored) ? stored : defaultAnonymousRole;
    this.anonymousCache = { role, until: now + anonymousRoleCacheMs };
    return role;
  }

  /** Forget cached decisions after users, projects, keys or the anonymous role changed. */
  invalidate(): void {
    this.anonymousCache = undefined;
    this.basicAuthCache.clear();
    this.ingestProjects.forget();
  }

  private async check(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const url = req.routeOptions.url;
    if (url === undefined) return; // no such route: the not-found handler answers 404
    let access = accessFor(req.method, url);
    if (access === undefined) {
      const id = `${req.method} ${url}`;
      if (!this.warnedUnlisted.has(id)) {
        this.warnedUnlisted.add(id);
        this.opts.log(`access: route ${id} has no entry in auth/route-access.ts; only admins may call it until one is added`);
      }
      access = 'admin';
    }
    if (access === 'public') return;
    if (access === 'ingest') return this.checkIngest(req, reply);

    const auth: RequestAuth = {};
    authByRequest.set(req, auth);
    const user = await this.sessionUser(req);
    if (user) auth.identity = user;
    else if (access === 'query') {
      const r = await this.queryCredentials(req);
      if (r === 'invalid') return deny(reply, 401, 'invalid credentials: check the user and password (basic auth) or the API key', true);
      auth.identity = r;
    }
    auth.identity ??= { kind: 'anonymous', role: await this.anonymousRole() };

    const id = auth.identity;
    const role = id.kind === 'user' ? id.user.role : id.role;
    if (access === 'session') {
      if (id.kind !== 'user') return deny(reply, 401, 'log in first (POST /api/login)', false);
      return;
    }
    const min: RoleName = access === 'query' ? 'viewer' : access;
    if (role !== 'none' && roleAtLeast(role, min)) return;
    if (id.kind === 'anonymous') return deny(reply, 401, `log in first (POST /api/login): ${req.method} ${url} needs the ${min} role`, access === 'query');
    return deny(reply, 403, `forbidden: ${req.method} ${url} needs the ${min} role; you have ${role}`, false);
  }

  private async checkIngest(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const project = await this.ingestProjects.resolve(header(req, 'x-api-key'));
    if (project === undefined) {
      await reply.code(404).type('text/plain; charset=utf-8').send('project not found (x-api-key header is missing or invalid)\n');
      return;
    }
    authByRequest.set(req, { identity: { kind: 'api-key', projectId: project.id, role: 'viewer' }, projectId: project.id });
  }

  private async sessionUser(req: FastifyRequest): Promise<Identity | undefined> {
    const token = sessionToken(req);
    if (token === '') return undefined;
    const user = await this.db.sessions.user(token);
    return user && { kind: 'user', user, sessionToken: token };
  }

  /** Basic auth or an API key (Bearer / X-API-Key); undefined when none was sent. */
  private async queryCredentials(req: FastifyRequest): Promise<Identity | 'invalid' | undefined> {
    const authorization = header(req, 'authorization');
    const bearer = /^Bearer\s+(.+)$/i.exec(authorization)?.[1]?.trim();
    const key = bearer ?? header(req, 'x-api-key');
    if (key) {
      const projectId = await this.db.apiKeys.projectOf(key);
      return projectId ? { kind: 'api-key', projectId, role: 'viewer' } : 'invalid';
    }
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization)?.[1];
    if (basic === undefined) return authorization === '' ? undefined : 'invalid';
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'invalid';
    const login = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const cacheKey = createHash('sha256').update(`${login}\0${password}`).digest('hex');
    const cached = this.basicAuthCache.get(cacheKey);
    if (cached && cached.until > Date.now()) {
      const user = await this.db.users.get(cached.userId);
      if (user) return { kind: 'user', user };
    }
    const found = await this.db.users.findForLogin(login);
    if (!found || !(await verifyPassword(password, found.passwordHash))) return 'invalid';
    if (this.basicAuthCache.size >= maxBasicAuthCache) this.basicAuthCache.clear();
    this.basicAuthCache.set(cacheKey, { userId: found.id, until: Date.now() + basicAuthCacheMs });
    const { passwordHash: _, ...user } = found;
    return { kind: 'user', user };
  }
}

function header(req: FastifyRequest, name: string): string {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

async function deny(reply: FastifyReply, code: 401 | 403, message: string, basicChallenge: boolean): Promise<void> {
  if (basicChallenge) reply.header('www-authenticate', 'Basic realm="rootsight", charset="UTF-8"');
  await reply.code(code).send({ status: 'error', errorType: code === 401 ? 'unauthorized' : 'forbidden', error: message });
}
