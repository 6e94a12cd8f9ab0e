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

interface ProtocolFamilies extends FamilyNames { outboundFamilies: Families; inboundFamilies: Families }
const familyNames = (prefix: string): Families => ({ total: `${prefix}_total`, duration: `${prefix}_duration_seconds_total` });
const names = Object.fromEntries(
  Object.entries(protocolNames).map(([protocol, f]) => [protocol, {
    ...f, outboundFamilies: familyNames(`container_${f.p}_${f.kind}`), inboundFamilies: familyNames(`container_${f.p}_inbound_${f.kind}`),
  }]),
) as Record<L7Protocol, ProtocolFamilies>;

/** The series of one container and peer (or DNS question) in one pair of families: its counters
 * by status (and method), and its latency histogram. */
interface PeerSeries {
  families: Families;
  labels: Record<string, string>;
  counters: Map<string, Series>;
  latency?: LatencyHistogram;
}

/** The labels a request series has besides status/method: its container and peer (or DNS question). */
function peerLabels(containerId: string, dns: boolean, outbound: boolean, a: string, b: string): Record<string, string> {
  const labels: Record<string, string> = { container_id: containerId };
  if (dns) { labels.request_type = a; labels.domain = b; } else if (outbound) {
    labels.destination = a;
    if (b !== '') labels.actual_destination = b; // '' in FQDN mode: the name is the destination
  }
  return labels;
}

/** families → container → a → b: the label values are looked up one by one, not joined into a key.
 * They are mostly the same string objects each time (the process table's container ids, the
 * decoder's peer labels), whose hashes V8 keeps, so a lookup hashes nothing new. */
type PeerIndex = Map<Families, Map<string, Map<string, Map<string, PeerSeries>>>>;

function childOf<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) map.set(key, (v = make()));
  return v;
}

export class RequestMetrics {
  private readonly peers: PeerIndex = new Map();
  private seriesCount = 0;
  /** Observations dropped because the series cap was reached. */
  overflow = 0;

  constructor(private readonly maxSeries = 100_000) {}

  // Hot path (every request seen on the host): label objects are built only when a series is new,
  // and no closure is created per call (under tsx every function created is also named at run
  // time, which showed in the profile of this path).
  observe(o: RequestObservation): void {
    const n = names[o.protocol];
    if (o.direction === 'inbound' && !n.hasInbound) return;
    const families = o.direction === 'inbound' ? n.inboundFamilies : n.outboundFamilies;
    const dns = o.protocol === 'dns';
    const outbound = o.direction === 'outbound';
    const a = dns ? o.requestType ?? '' : outbound ? o.destination ?? '' : '';
    const b = dns ? o.domain ?? '' : outbound ? o.actualDestination ?? o.destination ?? '' : '';
    const peer = this.peerSeries(families, o.containerId, a, b, dns, outbound);
    if (peer === undefined) { this.overflow++; return; }
    const method = o.method !== undefined && !n.hasLatency ? o.method : undefined;
    // Methods are produce/consume, statuses never hold NUL: the key is unambiguous.
    const counterKey = method === undefined ? o.status : `${o.status}\u0000${method}`;
    let c = peer.counters.get(counterKey);
    if (c === undefined && this.admit()) {
      const labels: Record<string, string> = { ...peer.labels, status: o.status };
      if (method !== undefined) labels.method = method;
      peer.counters.set(counterKey, (c = { labels, value: 0 }));
    }
    if (c) c.value++;
    if (n.hasLatency && o.durationSeconds !== undefined) {
      if (peer.latency === undefined && this.admit()) peer.latency = new LatencyHistogram();
      peer.latency?.observe(o.durationSeconds);
    }
  }

  /** The peer's series, made when new unless the cap is reached (a flood of new peers, such as
   * random DNS names, must not grow the index once no series can be added). */
  private peerSeries(families: Families, containerId: string, a: string, b: string, dns: boolean, outbound: boolean): PeerSeries | undefined {
    const known = this.peers.get(families)?.get(containerId)?.get(a)?.get(b);
    if (known !== undefined || this.seriesCount >= this.maxSeries) return known;
    let byContainer = this.peers.get(families);
    if (byContainer === undefined) this.peers.set(families, (byContainer = new Map()));
    let byA = byContainer.get(containerId);
    if (byA === undefined) byContainer.set(containerId, (byA = new Map()));
    let byB = byA.get(a);
    if (byB === undefined) byA.set(a, (byB = new Map()));
    const peer: PeerSeries = { families, labels: peerLabels(containerId, dns, outbound, a, b), counters: new Map() };
    byB.set(b, peer);
    return peer;
  }

  /** Room for one more series? Past the cap the observation is counted as overflow instead. */
  private admit(): boolean {
    if (this.seriesCount >= this.maxSeries) { this.overflow++; return false; }
    this.seriesCount++;
    return true;
  }

  collect(): MetricFamily[] {
    const totals = new Map<string, MetricSample[]>();
    const durations = new Map<string, MetricSample[]>();
    for (const byContainer of this.peers.values()) {
      for (const byA of byContainer.values()) {
        for (const byB of byA.values()) {
          for (const peer of byB.values()) {
            const counters = childOf(totals, peer.families.total, () => []);
            for (const s of peer.counters.values()) counters.push({ labels: s.labels, value: s.value });
            if (peer.latency) childOf(durations, peer.families.duration, () => []).push(...peer.latency.samples(peer.labels));
          }
        }
      }
    }
    const out: MetricFamily[] = [];
    for (const [name, samples] of totals) if (samples.length) out.push({ name, help: 'Requests (or messages) by status', type: 'counter', samples });
    for (const [name, samples] of durations) out.push({ name, help: 'Request latency in seconds', type: 'histogram', samples });
    return out;
  }
}
