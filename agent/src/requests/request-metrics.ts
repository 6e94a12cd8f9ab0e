// Request metrics per container, protocol, direction and peer, named as Coroot's agent names
// them (reference/node-agent.md §1.5) so either server reads them:
//   outbound  container_<p>_<kind>_total{destination, actual_destination, status}
//             container_<p>_<kind>_duration_seconds_total (histogram){destination, actual_destination}
//   inbound   container_<p>_inbound_<kind>_total{status}, container_<p>_inbound_<kind>_duration_seconds_total
// DNS carries request_type and domain instead of destinations; RabbitMQ and NATS count messages
// with a method label and have neither latency nor inbound series.
import type { MetricFamily, MetricSample } from '../export/metric-family.ts';
import type { L7Protocol } from '../l7/l7-parser.ts';
import { LatencyHistogram } from './histogram.ts';

export interface RequestObservation {
  containerId: string;
  direction: 'outbound' | 'inbound';
  protocol: L7Protocol;
  status: string;
  /** Undefined for messages that have no latency (produce/consume). */
  durationSeconds?: number;
  destination?: string;
  actualDestination?: string;
  /** RabbitMQ/NATS: produce or consume. */
  method?: string;
  /** DNS: Go's dnsmessage type name (TypeA, …) and the normalised question name. */
  requestType?: string;
  domain?: string;
}

interface FamilyNames { p: string; kind: string; hasLatency: boolean; hasInbound: boolean }
interface Families { total: string; duration: string }

const protocolNames: Record<L7Protocol, FamilyNames> = {
  http: { p: 'http', kind: 'requests', hasLatency: true, hasInbound: true },
  http2: { p: 'http', kind: 'requests', hasLatency: true, hasInbound: true },
  postgres: { p: 'postgres', kind: 'queries', hasLatency: true, hasInbound: true },
  mysql: { p: 'mysql', kind: 'queries', hasLatency: true, hasInbound: true },
  redis: { p: 'redis', kind: 'queries', hasLatency: true, hasInbound: true },
  memcached: { p: 'memcached', kind: 'queries', hasLatency: true, hasInbound: true },
  mongo: { p: 'mongo', kind: 'queries', hasLatency: true, hasInbound: true },
  kafka: { p: 'kafka', kind: 'requests', hasLatency: true, hasInbound: true },
  cassandra: { p: 'cassandra', kind: 'queries', hasLatency: true, hasInbound: true },
  clickhouse: { p: 'clickhouse', kind: 'queries', hasLatency: true, hasInbound: true },
  dns: { p: 'dns', kind: 'requests', hasLatency: true, hasInbound: true },
  rabbitmq: { p: 'rabbitmq', kind: 'messages', hasLatency: false, hasInbound: false },
  nats: { p: 'nats', kind: 'messages', hasLatency: false, hasInbound: false },
};

interface Series { labels: Record<string, string>; value: number }

const familyNames = (prefix: string): Families => ({ total: `${prefix}_total`, duration: `${prefix}_duration_seconds_total` });
const names: Record<L7Protocol, FamilyNames & { outboundFamilies: Families; inboundFamilies: Families }> = Object.fromEntries(
  Object.entries(protocolNames).map(([protocol, f]) => [protocol, {
    ...f, outboundFamilies: familyNames(`container_${f.p}_${f.kind}`), inboundFamilies: familyNames(`container_${f.p}_inbound_${f.kind}`),
  }]),
) as Record<L7Protocol, FamilyNames & { outboundFamilies: Families; inboundFamilies: Families }>;

/** Label values joined by NUL; values that contain NUL themselves (hostile DNS names) are JSON-quoted so keys stay unique. */
function seriesKey(a: string, b: string, c: string): string {
  if (a.includes('\u0000') || b.includes('\u0000') || c.includes('\u0000')) return JSON.stringify([a, b, c]);
  return `${a}\u0000${b}\u0000${c}`;
}

/** The labels a request series has besides status/method: its container and peer (or DNS question). */
function peerLabels(containerId: string, dns: boolean, outbound: boolean, a: string, b: string): Record<string, string> {
  const labels: Record<string, string> = { container_id: containerId };
  if (dns) { labels.request_type = a; labels.domain = b; } else if (outbound) { labels.destination = a; labels.actual_destination = b; }
  return labels;
}

export class RequestMetrics {
  private readonly counters = new Map<string, Map<string, Series>>();
  private readonly histograms = new Map<string, Map<string, { labels: Record<string, string>; h: LatencyHistogram }>>();
  private seriesCount = 0;
  /** Observations dropped because the series cap was reached. */
  overflow = 0;

  constructor(private readonly maxSeries = 100_000) {}

  // Hot path (every request seen on the host): the series is found by a key made of the label
  // values; label objects are built only when a series is new.
  observe(o: RequestObservation): void {
    const n = names[o.protocol];
    if (o.direction === 'inbound' && !n.hasInbound) return;
    const families = o.direction === 'inbound' ? n.inboundFamilies : n.outboundFamilies;
    const dns = o.protocol === 'dns';
    const outbound = o.direction === 'outbound';
    const a = dns ? o.requestType ?? '' : outbound ? o.destination ?? '' : '';
    const b = dns ? o.domain ?? '' : outbound ? o.actualDestination ?? o.destination ?? '' : '';
    const method = o.method !== undefined && !n.hasLatency ? o.method : undefined;
    const peerKey = seriesKey(o.containerId, a, b);
    // No closures here: under tsx every function created is also named at run time, which showed
    // in the profile of this path.
    const counterKey = method === undefined ? `${peerKey}\u0000${o.status}` : `${peerKey}\u0000${o.status}\u0000${method}`;
    let c = this.counters.get(families.total)?.get(counterKey);
    if (!c) {
      const labels = peerLabels(o.containerId, dns, outbound, a, b);
      labels.status = o.status;
      if (method !== undefined) labels.method = method;
      c = this.add(this.counters, families.total, counterKey, { labels, value: 0 });
    }
    if (c) c.value++;
    if (n.hasLatency && o.durationSeconds !== undefined) {
      const h = this.histograms.get(families.duration)?.get(peerKey)
        ?? this.add(this.histograms, families.duration, peerKey, { labels: peerLabels(o.containerId, dns, outbound, a, b), h: new LatencyHistogram() });
      h?.h.observe(o.durationSeconds);
    }
  }

  /** Adds a new series unless the cap is reached (then counts the overflow). */
  private add<T>(families: Map<string, Map<string, T>>, family: string, key: string, value: T): T | undefined {
    if (this.seriesCount >= this.maxSeries) { this.overflow++; return undefined; }
    let series = families.get(family);
    if (!series) families.set(family, (series = new Map()));
    this.seriesCount++;
    series.set(key, value);
    return value;
  }

  collect(): MetricFamily[] {
    const out: MetricFamily[] = [];
    for (const [name, series] of this.counters) {
      out.push({ name, help: 'Requests (or messages) by status', type: 'counter', samples: [...series.values()].map((s) => ({ labels: s.labels, value: s.value })) });
    }
    for (const [name, series] of this.histograms) {
      const samples: MetricSample[] = [];
      for (const s of series.values()) samples.push(...s.h.samples(s.labels));
      out.push({ name, help: 'Request latency in seconds', type: 'histogram', samples });
    }
    return out;
  }
}
