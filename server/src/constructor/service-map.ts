// Builds the service map from already-aggregated metric values. Pure: no I/O, so it can be tested
// with hand-made inputs and reused over any metrics source.
import type { EdgeStatus, ServiceMap, ServiceMapEdge } from '../model/service-map.ts';

/** One container seen on one host (from container_info). */
export interface ContainerInstance { containerId: string; instance: string }
/** An open listening socket (container_net_tcp_listen_info). */
export interface ListenAddress { containerId: string; listenAddr: string }

/** TCP stats of one outbound connection key, summed over instances of the source container. */
export interface ConnectionStats {
  containerId: string;
  destination: string;
  /** Post-NAT address; '' when unknown (failed connects carry only destination). */
  actualDestination: string;
  connects: number;
  failures: number;
  retransmits: number;
  activeConnections: number;
}

export interface ServiceMapInput {
  instances: readonly ContainerInstance[];
  listens: readonly ListenAddress[];
  connections: readonly ConnectionStats[];
  /** IP → the domain name DNS answers gave it (ip_to_fqdn): external destinations are named by it. */
  fqdnByIp?: ReadonlyMap<string, string>;
  generatedAt: number;
}

export function buildServiceMap(input: ServiceMapInput): ServiceMap {
  const hosts = new Map<string, Set<string>>();
  for (const i of input.instances) {
    let s = hosts.get(i.containerId);
    if (!s) hosts.set(i.containerId, (s = new Set()));
    if (i.instance !== '') s.add(i.instance);
  }

  const resolve = targetResolver(input.listens, input.fqdnByIp ?? new Map());
  const edges = new Map<string, ServiceMapEdge & { dests: Set<string> }>();
  for (const c of input.connections) {
    // A key with no activity in the window is history, not a link: drawing it would be a phantom.
    if (c.connects === 0 && c.failures === 0 && c.retransmits === 0 && c.activeConnections === 0) continue;
    const target = resolve(c.actualDestination, c.destination);
    const key = JSON.stringify([c.containerId, target]);
    let e = edges.get(key);
    if (!e) {
      e = { source: c.containerId, target, destinations: [], dests: new Set(), connects: 0, failures: 0, retransmits: 0, activeConnections: 0, status: 'ok' };
      edges.set(key, e);
    }
    e.dests.add(c.destination);
    e.connects += c.connects;
    e.failures += c.failures;
    e.retransmits += c.retransmits;
    e.activeConnections += c.activeConnections;
    if (!hosts.has(c.containerId)) hosts.set(c.containerId, new Set());
  }

  return {
    applications: [...hosts].map(([id, s]) => ({ id, instances: s.size })).sort((a, b) => cmp(a.id, b.id)),
    edges: [...edges.values()]
      .map(({ dests, ...e }) => ({ ...e, destinations: [...dests].sort(), status: edgeStatus(e) }))
      .sort((a, b) => cmp(a.source, b.source) || cmp(a.target, b.target)),
    generatedAt: input.generatedAt,
  };
}

function edgeStatus(e: { failures: number; retransmits: number }): EdgeStatus {
  if (e.failures > 0) return 'critical';
  if (e.retransmits > 0) return 'warning';
  return 'ok';
}

/**
 * Maps a dialled address to the application behind it: an exact listen address first (post-NAT,
 * then as dialled); else, if exactly one application listens anywhere on that IP, that one — so
 * connects refused by a closed port of a known app still point at the app; else external, named
 * by the domain its callers resolved ("external:api.example.com:443") when known, else by address.
 */
function targetResolver(listens: readonly ListenAddress[], fqdnByIp: ReadonlyMap<string, string>): (actual: string, dialled: string) => string {
  const byAddr = new Map<string, Set<string>>();
  const byIp = new Map<string, Set<string>>();
  const add = (m: Map<string, Set<string>>, k: string, v: string): void => {
    let s = m.get(k);
    if (!s) m.set(k, (s = new Set()));
    s.add(v);
  };
  for (const l of listens) {
    add(byAddr, l.listenAddr, l.containerId);
    const ip = hostOf(l.listenAddr);
    if (ip !== undefined) add(byIp, ip, l.containerId);
  }
  const only = (s: Set<string> | undefined): string | undefined => (s && s.size === 1 ? [...s][0] : undefined);
  return (actual, dialled) => {
    const addr = actual !== '' ? actual : dialled;
    for (const a of [addr, dialled]) {
      const exact = only(byAddr.get(a));
      if (exact !== undefined) return exact;
    }
    const ip = hostOf(addr);
    const byHost = ip === undefined ? undefined : only(byIp.get(ip));
    if (byHost !== undefined) return byHost;
    const fqdn = ip === undefined ? undefined : fqdnByIp.get(ip) ?? fqdnByIp.get(hostOf(dialled) ?? '');
    return fqdn !== undefined ? `external:${fqdn}:${addr.slice(addr.lastIndexOf(':') + 1)}` : `external:${addr}`;
  };
}

/** "10.0.0.1:80" → "10.0.0.1", "[fd00::1]:80" → "fd00::1". */
export function hostOf(addr: string): string | undefined {
  const i = addr.lastIndexOf(':');
  if (i <= 0) return undefined;
  const host = addr.slice(0, i);
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
