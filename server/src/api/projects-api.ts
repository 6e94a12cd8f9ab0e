// Projects and their API keys. A new key is returned once, in the answer to POST; afterwards only
// its prefix is shown.
import type { FastifyInstance } from 'fastify';
import type { AccessControl } from '../auth/access-control.ts';
import type { ConfigDb } from '../storage/configdb/config-db.ts';
import { NotFoundError, answer, nameHelp, namePattern, readObject, smallBodyLimit } from './request-input.ts';

interface ProjectParams { projectId: string }

export function registerProjectsApi(app: FastifyInstance, db: ConfigDb, access: AccessControl): void {
  const project = async (id: string) => {
    const p = await db.projects.get(id);
    if (!p) throw new NotFoundError(`no project with id "${id}"`);
    return p;
  };

  app.get('/api/projects', async () => db.projects.list());

  app.post('/api/projects', { bodyLimit: smallBodyLimit }, (req, reply) => answer(reply, async () => {
    const b = readObject(req, { name: { type: 'string', required: true, pattern: namePattern, patternHelp: nameHelp } });
    const p = await db.projects.create(b.name!);
    // A second project ends the empty key's default project: cached ingest answers must go.
    access.invalidate();
    return reply.code(201).send(p);
  }));

  app.get<{ Params: ProjectParams }>('/api/projects/:projectId', (req, reply) => answer(reply, () => project(req.params.projectId)));

  app.put<{ Params: ProjectParams }>('/api/projects/:projectId', { bodyLimit: smallBodyLimit }, (req, reply) => answer(reply, async () => {
    const b = readObject(req, { name: { type: 'string', required: true, pattern: namePattern, patternHelp: nameHelp } });
    const p = await db.projects.rename(req.params.projectId, b.name!);
    if (!p) throw new NotFoundError(`no project with id "${req.params.projectId}"`);
    access.invalidate();
    return p;
  }));

  app.delete<{ Params: ProjectParams }>('/api/projects/:projectId', (req, reply) => answer(reply, async () => {
    await project(req.params.projectId);
    // Without any project, agents would have nowhere to send data.
    if (await db.projects.count() <= 1) return reply.code(409).send({ error: 'cannot delete the only project; create another one first' });
    await db.projects.delete(req.params.projectId);
    access.invalidate();
    return reply.code(204).send();
  }));

  app.get<{ Params: ProjectParams }>('/api/projects/:projectId/api-keys', (req, reply) => answer(reply, async () => {
    await project(req.params.projectId);
    return db.apiKeys.list(req.params.projectId);
  }));

  app.post<{ Params: ProjectParams }>('/api/projects/:projectId/api-keys', { bodyLimit: smallBodyLimit }, (req, reply) => answer(reply, async () => {
    await project(req.params.projectId);
    const b = readObject(req, { description: { type: 'string', max: 200 } }, 'allowed');
    const k = await db.apiKeys.create(req.params.projectId, b.description ?? '');
    return reply.code(201).send(k);
  }));

  app.delete<{ Params: ProjectParams & { keyId: string } }>('/api/projects/:projectId/api-keys/:keyId', (req, reply) => answer(reply, async () => {
    if (!(await db.apiKeys.delete(req.params.projectId, req.params.keyId))) {
      throw new NotFoundError(`no API key "${req.params.keyId}" in project "${req.params.projectId}"`);
    }
    access.invalidate();
    return reply.code(204).send();
  }));
}
