// GET /api/service-map?window=<seconds>[&time=<unix seconds>]: the TCP service map for the window
// ending at `time` (default now). Numbers come from our own PromQL engine, so the map and
// /prometheus/api/v1/query can never disagree about the same counter.
import type { FastifyInstance } from 'fastify';
import { buildServiceMap, type ConnectionStats, type ContainerInstance, type ListenAddress } from '../constructor/service-map.ts';
import type { SeriesSource } from '../metrics/engine/evaluator.ts';
import { instantQuery, type InstantResult } from '../metrics/engine/query.ts';
import type { ServiceMap } from '../model/service-map.ts';

const maxWindowSeconds = 30 * 86_400;

export function registerServiceMapApi(app: FastifyInstance, source: SeriesSource, now: () => number = Date.now): void {
  app.get('/api/service-map', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const window = q.window === undefined || q.window === '' ? 300 : Number(q.window);
    if (!Number.isInteger(window) || window <= 0 || window > maxWindowSeconds) {
      return reply.code(400).send({ error: `invalid window "${q.window}": expected whole seconds between 1 and ${maxWindowSeconds}` });
    }
    const time = q.time === undefined || q.time === '' ? now() : Math.round(Number(q.time) * 1000);
    if (!Number.isFinite(time) || time <= 0) return reply.code(400).send({ error: `invalid time "${q.time}": expected unix seconds` });
    return serviceMap(source, window, time);
  });
}

export async function serviceMap(source: SeriesSource, windowSeconds: number, timeMs: number): Promise<ServiceMap> {
  const w = `${windowSeconds}s`;
  const byKey = 'container_id, destination, actual_destination';
  const [info, listen, connects, failures, retransmits, active, fqdns] = await Promise.all([
    instantQuery(source, `container_info[${w}]`, timeMs),
    instantQuery(source, `container_net_tcp_listen_info[${w}]`, timeMs),
    instantQuery(source, `sum by (${byKey}) (increase_pure(container_net_tcp_successful_connects_total[${w}]))`, timeMs),
    instantQuery(source, `sum by (${byKey}) (increase_pure(container_net_tcp_failed_connects_total[${w}]))`, timeMs),
    instantQuery(source, `sum by (${byKey}) (increase_pure(container_net_tcp_retransmits_total[${w}]))`, timeMs),
    instantQuery(source, `sum by (${byKey}) (container_net_tcp_active_connections)`, timeMs),
    instantQuery(source, `max by (ip, fqdn) (last_over_time(ip_to_fqdn[${w}]))`, timeMs),
  ]);

  const instances: ContainerInstance[] = series(info)
    .filter((s) => s.metric.container_id)
    .map((s) => ({ containerId: s.metric.container_id!, instance: s.metric.machine_id ?? s.metric.instance ?? '' }));

  // listen_info is 1 while the socket is open and 0 once closed (until garbage-collected).
  const listens: ListenAddress[] = series(listen)
    .filter((s) => s.metric.container_id && s.metric.listen_addr && Number(s.values.at(-1)?.[1]) > 0)
    .map((s) => ({ containerId: s.metric.container_id!, listenAddr: s.metric.listen_addr! }));

  const stats = new Map<string, ConnectionStats>();
  const add = (r: InstantResult, field: 'connects' | 'failures' | 'retransmits' | 'activeConnections'): void => {
    if (r.resultType !== 'vector') return;
    for (const { metric, value } of r.result) {
      if (!metric.container_id || !metric.destination) continue;
      const k = JSON.stringify([metric.container_id, metric.destination, metric.actual_destination ?? '']);
      let c = stats.get(k);
      if (!c) {
        c = { containerId: metric.container_id, destination: metric.destination, actualDestination: metric.actual_destination ?? '', connects: 0, failures: 0, retransmits: 0, activeConnections: 0 };
        stats.set(k, c);
      }
      const v = Number(value[1]);
      if (Number.isFinite(v)) c[field] += v;
    }
  };
  add(connects, 'connects');
  add(failures, 'failures');
  add(retransmits, 'retransmits');
  add(active, 'activeConnections');

  // An address some agent saw answer for more than one name keeps the first in label order: stable between requests.
  const fqdnByIp = new Map<string, string>();
  if (fqdns.resultType === 'vector') {
    for (const { metric } of [...fqdns.result].sort((a, b) => (a.metric.fqdn ?? '').localeCompare(b.metric.fqdn ?? ''))) {
      if (metric.ip && metric.fqdn && !fqdnByIp.has(metric.ip)) fqdnByIp.set(metric.ip, metric.fqdn);
    }
  }

  return buildServiceMap({ instances, listens, connections: [...stats.values()], fqdnByIp, generatedAt: timeMs });
}

function series(r: InstantResult): { metric: Record<string, string>; values: [number, string][] }[] {
  return r.resultType === 'matrix' ? r.result : [];
}
