// Turns framework-level request errors (body too large, unknown media type, …) into answers that
// name the input and the fix, instead of fastify's internal codes.
import type { FastifyError, FastifyInstance } from 'fastify';

export function registerErrorHandler(app: FastifyInstance, log: (msg: string) => void): void {
  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    const status = err.statusCode ?? 500;
    const route = `${req.method} ${req.url.split('?')[0]}`;
    let message = err.message;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const limit = req.routeOptions.bodyLimit;
      message = `${route}: request body is larger than the limit of ${limit} bytes; send smaller batches`;
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      message = `${route}: unsupported Content-Type "${req.headers['content-type'] ?? ''}"`;
    } else if (status >= 500) {
      log(`${route} failed: ${err.stack ?? err.message}`);
      message = `${route} failed: ${err.message}`;
    } else {
      message = `${route}: ${err.message}`;
    }
    return reply.code(status).type('text/plain; charset=utf-8').send(`${message}\n`);
  });
}
