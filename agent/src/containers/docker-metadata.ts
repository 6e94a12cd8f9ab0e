// Minimal Docker Engine API client: `GET /containers/<id>/json` over the engine's unix socket,
// returning what naming needs (name, image, labels, env). Everything is cached per id; failures
// (no socket, 404, timeouts, bad JSON) are cached for a short while so a host without Docker
// costs one stat per id per failure period and never throws.

import { request } from 'node:http';
import { stat } from 'node:fs/promises';
import type { RuntimeMetadata } from './container-naming.ts';

export interface DockerMetadataOptions {
  /** Sockets tried in order; the first that exists is used. */
  socketPaths?: string[];
  /** Whole-request deadline. */
  timeoutMs?: number;
  /** How long a failed lookup is remembered before it is tried again. */
  failureTtlMs?: number;
  /** Most successful lookups kept; the oldest are dropped first. */
  maxEntries?: number;
  /** Called once per distinct problem (key). Defaults to console.warn once per key. */
  onProblem?: (key: string, message: string) => void;
  /** Clock, for tests. */
  now?: () => number;
}

export const DEFAULT_DOCKER_SOCKETS = ['/proc/1/root/run/docker.sock', '/var/run/docker.sock'];

const MAX_BODY_BYTES = 4 << 20;
// Docker accepts full ids, short ids and names; anything else could smuggle a path.
const VALID_REF = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

type LookupResult = { ok: true; meta: RuntimeMetadata } | { ok: false; problem: string; key: string };

function isStringRecord(v: unknown): v is Record<string, string> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  return Object.values(v as Record<string, unknown>).every((x) => typeof x === 'string');
}

/** Validates the parts of Docker's ContainerInspect JSON that naming uses. */
export function parseContainerInspect(body: string): RuntimeMetadata | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const d = doc as Record<string, unknown>;
  const meta: RuntimeMetadata = {};
  if (typeof d.Name === 'string') meta.name = d.Name.replace(/^\/+/, '');
  const config = d.Config;
  if (config !== null && typeof config === 'object' && !Array.isArray(config)) {
    const c = config as Record<string, unknown>;
    if (typeof c.Image === 'string') meta.image = c.Image;
    if (isStringRecord(c.Labels)) meta.labels = { ...c.Labels };
    if (Array.isArray(c.Env)) {
      const env: Record<string, string> = {};
      for (const kv of c.Env) {
        if (typeof kv !== 'string') continue;
        const eq = kv.indexOf('=');
        if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      meta.env = env;
    }
  }
  if (meta.name === undefined && meta.image === undefined && meta.labels === undefined) return undefined;
  return meta;
}

export class DockerMetadataClient {
  private readonly socketPaths: string[];
  private readonly timeoutMs: number;
  private readonly failureTtlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly onProblem: (key: string, message: string) => void;
  private readonly found = new Map<string, RuntimeMetadata>();
  private readonly failedUntil = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<RuntimeMetadata | undefined>>();
  /** Counters for the agent's own metrics. */
  readonly stats = { requests: 0, failures: 0, cacheHits: 0 };

  constructor(opts: DockerMetadataOptions = {}) {
    this.socketPaths = opts.socketPaths ?? DEFAULT_DOCKER_SOCKETS;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.failureTtlMs = opts.failureTtlMs ?? 30_000;
    this.maxEntries = opts.maxEntries ?? 4096;
    this.now = opts.now ?? Date.now;
    if (opts.onProblem) {
      this.onProblem = opts.onProblem;
    } else {
      const seen = new Set<string>();
      this.onProblem = (key, message) => {
        if (seen.has(key)) return;
        seen.add(key);
        console.warn(`docker metadata: ${message}`);
      };
    }
  }

  /** Metadata of a container, or undefined when Docker is absent or does not know the id. Never throws. */
  async inspect(containerId: string): Promise<RuntimeMetadata | undefined> {
    const cached = this.found.get(containerId);
    if (cached) {
      this.stats.cacheHits++;
      return cached;
    }
    const until = this.failedUntil.get(containerId);
    if (until !== undefined) {
      if (this.now() < until) {
        this.stats.cacheHits++;
        return undefined;
      }
      this.failedUntil.delete(containerId);
    }
    const pending = this.inFlight.get(containerId);
    if (pending) return pending;
    const p = this.lookup(containerId).then((r) => {
      this.inFlight.delete(containerId);
      if (r.ok) {
        this.remember(containerId, r.meta);
        return r.meta;
      }
      this.stats.failures++;
      this.failedUntil.set(containerId, this.now() + this.failureTtlMs);
      if (this.failedUntil.size > this.maxEntries) this.pruneFailures();
      if (r.problem !== '') this.onProblem(r.key, r.problem);
      return undefined;
    });
    this.inFlight.set(containerId, p);
    return p;
  }

  /** Drops what is known about a container (call when it is gone). */
  forget(containerId: string): void {
    this.found.delete(containerId);
    this.failedUntil.delete(containerId);
  }

  private remember(id: string, meta: RuntimeMetadata): void {
    this.found.set(id, meta);
    while (this.found.size > this.maxEntries) {
      const oldest = this.found.keys().next().value;
      if (oldest === undefined) break;
      this.found.delete(oldest);
    }
  }

  private pruneFailures(): void {
    const now = this.now();
    for (const [id, until] of this.failedUntil) if (until <= now) this.failedUntil.delete(id);
    while (this.failedUntil.size > this.maxEntries) {
      const oldest = this.failedUntil.keys().next().value;
      if (oldest === undefined) break;
      this.failedUntil.delete(oldest);
    }
  }

  private async findSocket(): Promise<string | undefined> {
    for (const p of this.socketPaths) {
      try {
        if ((await stat(p)).isSocket()) return p;
      } catch {
        // Absent or unreadable: try the next one.
      }
    }
    return undefined;
  }

  private async lookup(id: string): Promise<LookupResult> {
    if (!VALID_REF.test(id)) return { ok: false, key: 'bad-id', problem: `refusing to look up malformed container id ${JSON.stringify(id.slice(0, 80))}` };
    const socketPath = await this.findSocket();
    // No Docker on this host is normal, not a problem worth a log line.
    if (socketPath === undefined) return { ok: false, key: 'no-socket', problem: '' };
    this.stats.requests++;
    return new Promise<LookupResult>((resolve) => {
      let settled = false;
      const finish = (r: LookupResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const req = request(
        { socketPath, path: `/containers/${encodeURIComponent(id)}/json`, method: 'GET', headers: { host: 'docker' } },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
              req.destroy();
              finish({ ok: false, key: 'too-large', problem: `response for ${id} from ${socketPath} exceeds ${MAX_BODY_BYTES} bytes; ignoring it` });
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', (err) => finish({ ok: false, key: `io:${err.message}`, problem: `reading ${socketPath}: ${err.message}` }));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status === 404) {
              finish({ ok: false, key: 'not-found', problem: '' });
              return;
            }
            if (status !== 200) {
              finish({ ok: false, key: `status:${status}`, problem: `GET /containers/<id>/json on ${socketPath} answered HTTP ${status}` });
              return;
            }
            const meta = parseContainerInspect(Buffer.concat(chunks).toString('utf8'));
            if (meta) finish({ ok: true, meta });
            else finish({ ok: false, key: 'bad-json', problem: `${socketPath} answered GET /containers/<id>/json with a body that is not container JSON` });
          });
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        finish({ ok: false, key: 'timeout', problem: `no answer from ${socketPath} within ${this.timeoutMs} ms` });
      }, this.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        finish({ ok: false, key: `conn:${err.code ?? err.message}`, problem: `cannot talk to ${socketPath}: ${err.message}` });
      });
      req.end();
    });
  }
}
