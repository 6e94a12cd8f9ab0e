// Serves the built single-page app. Client-side routes (/p/...) have no file behind them, so any
// GET that is not an API path falls back to index.html and the app routes itself.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const apiPrefixes = ['/api/', '/prometheus/', '/v1/', '/health'];

export async function registerUi(app: FastifyInstance, uiDir: string): Promise<void> {
  const built = existsSync(join(uiDir, 'index.html'));
  if (built) {
    await app.register(fastifyStatic, { root: uiDir, prefix: '/' });
  } else {
    app.get('/', async (_req, reply) => reply.type('text/plain; charset=utf-8').send(
      `Rootsight server is running, but the UI is not built (no index.html in ${uiDir}).\nRun "npm run setup" in the repository root, then reload.\nAPIs: /api/service-map, /prometheus/api/v1/query, /v1/metrics, /metrics, /health\n`,
    ));
  }

  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split('?')[0]!;
    const isApi = apiPrefixes.some((p) => path === p.replace(/\/$/, '') || path.startsWith(p));
    if (built && !isApi && (req.method === 'GET' || req.method === 'HEAD')) return reply.sendFile('index.html');
    return reply.code(404).send({ error: `no route for ${req.method} ${path}` });
  });
}
