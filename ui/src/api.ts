// Types and the one fetch for GET /api/service-map. The response is validated here, at the edge,
// so components can trust the shapes they receive.

// The response shape is the server's own model type, so the two cannot drift apart.
import type { EdgeStatus, ServiceMap, ServiceMapApplication, ServiceMapEdge } from '../../server/src/model/service-map.ts';

export type { EdgeStatus };
export type Application = ServiceMapApplication;
export type ServiceEdge = ServiceMapEdge;
export type ServiceMapData = ServiceMap;

export const EXTERNAL_PREFIX = 'external:';

export function isExternal(id: string): boolean {
  return id.startsWith(EXTERNAL_PREFIX);
}

export class ServiceMapError extends Error {}

export async function fetchServiceMap(windowSeconds: number, signal?: AbortSignal): Promise<ServiceMapData> {
  const url = `api/service-map?window=${encodeURIComponent(String(windowSeconds))}`;
  let res: Response;
  try {
    res = await fetch(url, { signal, headers: { Accept: 'application/json' } });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ServiceMapError(`Could not reach the Rootsight server (${(err as Error).message}).`);
  }
  if (!res.ok) {
    const detail = (await res.text().catch(() => '')).trim().slice(0, 200);
    throw new ServiceMapError(
      `The server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''} for /api/service-map` +
        (detail ? `: ${detail}${/[.!?]$/.test(detail) ? '' : '.'}` : '.'),
    );
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new ServiceMapError('The server sent a service map that is not valid JSON.');
  }
  return parseServiceMap(body);
}

function fail(what: string): never {
  throw new ServiceMapError(`The server sent an invalid service map: ${what}.`);
}

function num(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${where} is not a number`);
  return v;
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string') fail(`${where} is not a string`);
  return v;
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${where} is not an object`);
  return v as Record<string, unknown>;
}

const STATUSES: readonly EdgeStatus[] = ['ok', 'warning', 'critical'];

export function parseServiceMap(body: unknown): ServiceMapData {
  const root = obj(body, 'the response');
  if (!Array.isArray(root.applications)) fail('"applications" is not an array');
  if (!Array.isArray(root.edges)) fail('"edges" is not an array');
  const applications = root.applications.map((a, i): Application => {
    const o = obj(a, `applications[${i}]`);
    return { id: str(o.id, `applications[${i}].id`), instances: num(o.instances, `applications[${i}].instances`) };
  });
  const edges = root.edges.map((e, i): ServiceEdge => {
    const o = obj(e, `edges[${i}]`);
    const status = str(o.status, `edges[${i}].status`);
    if (!STATUSES.includes(status as EdgeStatus)) fail(`edges[${i}].status "${status}" is not ok, warning or critical`);
    const destinations = Array.isArray(o.destinations)
      ? o.destinations.map((d, j) => str(d, `edges[${i}].destinations[${j}]`))
      : [];
    return {
      source: str(o.source, `edges[${i}].source`),
      target: str(o.target, `edges[${i}].target`),
      destinations,
      connects: num(o.connects, `edges[${i}].connects`),
      failures: num(o.failures, `edges[${i}].failures`),
      retransmits: num(o.retransmits, `edges[${i}].retransmits`),
      activeConnections: num(o.activeConnections, `edges[${i}].activeConnections`),
      status: status as EdgeStatus,
    };
  });
  const generatedAt = typeof root.generatedAt === 'number' ? root.generatedAt : Date.now();
  return { applications, edges, generatedAt };
}
