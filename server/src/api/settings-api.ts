// Settings: per project (any JSON value under a key) and for the whole server (known keys only).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type AccessControl, anonymousRoleSetting, defaultAnonymousRole } from '../auth/access-control.ts';
import { isAnonymousRole } from '../auth/roles.ts';
import type { ConfigDb } from '../storage/configdb/config-db.ts';
import type { JsonValue } from '../storage/configdb/ids.ts';
import { BadInputError, NotFoundError, answer, readObject, settingKeyPattern, settingsBodyLimit, smallBodyLimit } from './request-input.ts';

interface SettingParams { projectId: string; key: string }

const keyHelp = 'lower-case letters, digits, "_", "." or "-", at most 100';

function settingValue(req: FastifyRequest): JsonValue {
  const b = readObject(req, { value: { type: 'json', required: true } });
  return b.value as JsonValue;
}

export function registerSettingsApi(app: FastifyInstance, db: ConfigDb, access: AccessControl): void {
  const project = async (id: string) => {
    if (!(await db.projects.get(id))) throw new NotFoundError(`no project with id "${id}"`);
  };
  const checkKey = (key: string) => {
    if (!settingKeyPattern.test(key)) throw new BadInputError(`invalid setting key "${key.slice(0, 100)}": ${keyHelp}`);
  };

  app.get<{ Params: { projectId: string } }>('/api/projects/:projectId/settings', (req, reply) => answer(reply, async () => {
    await project(req.params.projectId);
    return db.settings.all(req.params.projectId);
  }));

  app.put<{ Params: SettingParams }>('/api/projects/:projectId/settings/:key', { bodyLimit: settingsBodyLimit }, (req, reply) => answer(reply, async () => {
    checkKey(req.params.key);
    const value = settingValue(req);
    await project(req.params.projectId);
    await db.settings.put(req.params.projectId, req.params.key, value);
    return { key: req.params.key, value };
  }));

  app.delete<{ Params: SettingParams }>('/api/projects/:projectId/settings/:key', (req, reply) => answer(reply, async () => {
    checkKey(req.params.key);
    if (!(await db.settings.delete(req.params.projectId, req.params.key))) throw new NotFoundError(`no setting "${req.params.key}" in project "${req.params.projectId}"`);
    return reply.code(204).send();
  }));

  app.get('/api/server-settings', async () => ({
    [anonymousRoleSetting]: await access.anonymousRole(),
    ...Object.fromEntries(Object.entries(await db.settings.serverAll()).filter(([k]) => k !== anonymousRoleSetting)),
  }));

  app.put<{ Params: { key: string } }>('/api/server-settings/:key', { bodyLimit: smallBodyLimit }, (req, reply) => answer(reply, async () => {
    if (req.params.key !== anonymousRoleSetting) throw new NotFoundError(`unknown server setting "${req.params.key.slice(0, 100)}"; known: ${anonymousRoleSetting}`);
    const value = settingValue(req);
    if (!isAnonymousRole(value)) throw new BadInputError(`"${anonymousRoleSetting}" must be one of none, viewer, editor, admin (default ${defaultAnonymousRole})`);
    if (access.anonymousRoleFixedByFlag) {
      return reply.code(409).send({ error: `"${anonymousRoleSetting}" is set by --auth-anonymous-role (AUTH_ANONYMOUS_ROLE); change the flag instead` });
    }
    await db.settings.serverPut(anonymousRoleSetting, value);
    access.invalidate();
    return { key: anonymousRoleSetting, value };
  }));
}
