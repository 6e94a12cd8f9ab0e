// Rootsight in front of an external Prometheus or VictoriaMetrics (--prometheus-url): the
// Prometheus HTTP API at /prometheus/api/v1/* is answered by the upstream (method, path, query
// string and form body passed through; Rootsight's own credentials are not), and every remote-write
// body /v1/metrics accepts is also forwarded to the upstream's receiver. Local storage keeps its
// copy, so the service map and inspections do not depend on the upstream being up.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { describeFetchError, RemoteWriteForwarder, type ForwarderOptions, type ForwarderStats } from './remote-write-forwarder.ts';
import type { UpstreamEndpoint } from './upstream-url.ts';

export interface UpstreamOptions {
  endpoint: UpstreamEndpoint;
  /** Per proxied query. Default 2 minutes (Prometheus' own default query timeout). */
  queryTimeoutMs?: number;
  forwarder?: Omit<ForwarderOptions, 'endpoint' | 'log'>;
  log?: (msg: string) => void;
}

export interface UpstreamStats {
  prometheusUrl: string;
  queries: { proxied: number; failed: number; lastError?: string };
  remoteWrite: ForwarderStats;
}

/** Request headers passed to the upstream; everything else (cookies, X-API-Key, Authorization) stays here. */
const passRequestHeaders = ['accept', 'accept-encoding', 'content-type', 'user-agent'];
/** Response headers passed back. */
const passResponseHeaders = ['content-type', 'content-encoding', 'cache-control', 'warning'];

export class PrometheusUpstream {
  readonly forwarder: RemoteWriteForwarder;
  private readonly queryTimeoutMs: number;
  private readonly q = { proxied: 0, failed: 0, lastError: undefined as string | undefined };

  constructor(private readonly opts: UpstreamOptions) {
    this.forwarder = new RemoteWriteForwarder({ ...opts.forwarder, endpoint: opts.endpoint, log: opts.log });
    this.queryTimeoutMs = opts.queryTimeoutMs ?? 120_000;
  }

  stats(): UpstreamStats {
    return { prometheusUrl: this.opts.endpoint.baseUrl, queries: { ...this.q }, remoteWrite: this.forwarder.stats() };
  }

  /** The proxied query API, the remote-write tap, and GET /api/upstream (counters for operators). */
  register(app: FastifyInstance): void {
    app.route({ method: ['GET', 'POST'], url: '/prometheus/api/v1/*', handler: (req, reply) => this.proxy(req, reply) });
    app.get('/api/upstream', async () => this.stats());
    // After ingest has stored a batch (204), hand the same bytes to the forwarder.
    app.addHook('onResponse', async (req, reply) => {
      if (req.method === 'POST' && req.routeOptions.url === '/v1/metrics' && reply.statusCode === 204 && Buffer.isBuffer(req.body)) {
        this.forwarder.enqueue(req.body);
      }
    });
  }

  close(): Promise<void> {
    return this.forwarder.close();
  }

  private async proxy(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const path = req.url.slice('/prometheus'.length); // /api/v1/... with the query string as sent
    const target = `${this.opts.endpoint.baseUrl}${path}`;
    const headers: Record<string, string> = { ...this.opts.endpoint.headers };
    for (const h of passRequestHeaders) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    let body: string | Buffer | undefined;
    if (req.method === 'POST') {
      body = formBody(req.body);
      if (body !== undefined && !Buffer.isBuffer(req.body) && typeof req.body !== 'string') headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    let r: Response;
    try {
      r = await fetch(target, { method: req.method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : new Uint8Array(body), signal: AbortSignal.timeout(this.queryTimeoutMs) });
    } catch (e) {
      const timedOut = (e as { name?: string }).name === 'TimeoutError';
      const message = timedOut
        ? `upstream Prometheus ${this.opts.endpoint.baseUrl} did not answer within ${this.queryTimeoutMs / 1000} s`
        : `upstream Prometheus ${this.opts.endpoint.baseUrl} is unreachable: ${describeFetchError(e)}`;
      this.q.failed++;
      this.q.lastError = message;
      await reply.code(timedOut ? 504 : 502).send({ status: 'error', errorType: 'unavailable', error: message });
      return;
    }
    this.q.proxied++;
    const bytes = Buffer.from(await r.arrayBuffer());
    reply.code(r.status);
    for (const h of passResponseHeaders) {
      const v = r.headers.get(h);
      // fetch() already decoded a compressed body, so its encoding must not be announced again.
      if (v !== null && h !== 'content-encoding') reply.header(h, v);
    }
    await reply.send(bytes);
  }
}

/** The parsed form (our content-type parser makes an object, repeated keys as arrays) back as a body. */
function formBody(parsed: unknown): string | Buffer | undefined {
  if (parsed === undefined || parsed === null) return undefined;
  if (Buffer.isBuffer(parsed) || typeof parsed === 'string') return parsed;
  if (typeof parsed !== 'object') return undefined;
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    for (const one of Array.isArray(v) ? v : [v]) out.append(k, String(one));
  }
  return out.toString();
}
