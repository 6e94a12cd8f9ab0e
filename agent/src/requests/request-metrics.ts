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

const names: Record<L7Protocol, FamilyNames> = {
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

export class RequestMetrics {
  private readonly counters = new Map<string, Map<string, Series>>();
  private readonly histograms = new Map<string, Map<string, { labels: Record<string, string>; h: LatencyHistogram }>>();
  private seriesCount = 0;
  /** Observations dropped because the series cap was reached. */
  overflow = 0;

  constructor(private readonly maxSeries = 100_000) {}

  observe(o: RequestObservation): void {
    const n = names[o.protocol];
    if (o.direction === 'inbound' && !n.hasInbound) return;
    const prefix = o.direction === 'inbound' ? `container_${n.p}_inbound_${n.kind}` : `container_${n.p}_${n.kind}`;
    const peer: Record<string, string> = { container_id: o.containerId };
    if (o.protocol === 'dns') {
      peer.request_type = o.requestType ?? '';
      peer.domain = o.domain ?? '';
    } else if (o.direction === 'outbound') {
      peer.destination = o.destination ?? '';
      peer.actual_destination = o.actualDestination ?? o.destination ?? '';
    }
    const counterLabels = { ...peer, status: o.status, ...(o.method !== undefined && !n.hasLatency ? { method: o.method } : {}) };
    const c = this.slot(this.counters, `${prefix}_total`, counterLabels, () => ({ labels: counterLabels, value: 0 }));
    if (c) c.value++;
    if (n.hasLatency && o.durationSeconds !== undefined) {
      const h = this.slot(this.histograms, `${prefix}_duration_seconds_total`, peer, () => ({ labels: peer, h: new LatencyHistogram() }));
      h?.h.observe(o.durationSeconds);
    }
  }

  private slot<T>(families: Map<string, Map<string, T>>, family: string, labels: Record<string, string>, create: () => T): T | undefined {
    let series = families.get(family);
    if (!series) families.set(family, (series = new Map()));
    const key = JSON.stringify(labels);
    let s = series.get(key);
    if (!s) {
      if (this.seriesCount >= this.maxSeries) { this.overflow++; return undefined; }
      this.seriesCount++;
      series.set(key, (s = create()));
    }
    return s;
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
