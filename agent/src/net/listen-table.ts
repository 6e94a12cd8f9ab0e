// Which container listens on which address, per network namespace. Fed by
// kernel listen events as they happen and reconciled with periodic /proc scans
// (which also cover sockets opened before the agent started).
import type { MetricFamily } from '../export/metric-family.ts';
import { isLoopback, isWildcard, joinHostPort } from './address.ts';

export interface ListenSocket {
  netns: number;
  ip: string;
  port: number;
  containerId: string;
}

interface ListenEntry extends ListenSocket {
  open: boolean;
  changedAtMs: number;
}

const CLOSED_RETENTION_MS = 10 * 60_000;
const MAX_ENTRIES = 100_000;

function key(netns: number, ip: string, port: number): string {
  return `${netns}|${ip}|${port}`;
}

export class ListenTable {
  private readonly entries = new Map<string, ListenEntry>();
  overflow = 0;

  open(s: ListenSocket, nowMs = Date.now()): void {
    const k = key(s.netns, s.ip, s.port);
    if (!this.entries.has(k) && this.entries.size >= MAX_ENTRIES) { this.overflow++; return; }
    this.entries.set(k, { ...s, open: true, changedAtMs: nowMs });
  }

  close(netns: number, ip: string, port: number, nowMs = Date.now()): void {
    const e = this.entries.get(key(netns, ip, port));
    if (e && e.open) { e.open = false; e.changedAtMs = nowMs; }
  }

  /** Makes the table agree with a full scan: sockets missing from it are closed, new ones opened. */
  reconcile(observed: readonly ListenSocket[], nowMs = Date.now()): void {
    const seen = new Set<string>();
    for (const s of observed) {
      const k = key(s.netns, s.ip, s.port);
      seen.add(k);
      const e = this.entries.get(k);
      if (!e || !e.open || e.containerId !== s.containerId) this.open(s, nowMs);
    }
    for (const [k, e] of this.entries) {
      if (!seen.has(k) && e.open) { e.open = false; e.changedAtMs = nowMs; }
      if (!e.open && nowMs - e.changedAtMs > CLOSED_RETENTION_MS) this.entries.delete(k);
    }
  }

  /** The container listening on ip:port in that namespace, directly or through a wildcard address. */
  ownerOf(netns: number, ip: string, port: number): string | undefined {
    const exact = this.entries.get(key(netns, ip, port));
    if (exact?.open) return exact.containerId;
    for (const any of ['0.0.0.0', '::']) {
      const w = this.entries.get(key(netns, any, port));
      if (w?.open) return w.containerId;
    }
    return undefined;
  }

  /**
   * container_net_tcp_listen_info: 1 while open, 0 once closed (until forgotten).
   * Wildcards expand to the namespace's addresses; loopback is only reported in the
   * host namespace, since another namespace's 127.0.0.1 is unreachable from outside.
   */
  collect(addressesOf: (netns: number) => readonly string[], hostNetns: number): MetricFamily {
    const samples = new Map<string, { labels: Record<string, string>; value: number }>();
    for (const e of this.entries.values()) {
      const ips = isWildcard(e.ip)
        ? addressesOf(e.netns).filter((ip) => (e.ip === '::' || !ip.includes(':')))
        : [e.ip];
      for (const ip of ips) {
        if (isLoopback(ip) && e.netns !== hostNetns) continue;
        const listenAddr = joinHostPort(ip, e.port);
        const k = `${e.containerId}|${listenAddr}`;
        const prev = samples.get(k);
        const value = e.open ? 1 : 0;
        if (!prev || value > prev.value) samples.set(k, { labels: { container_id: e.containerId, listen_addr: listenAddr, proxy: '' }, value });
      }
    }
    return { name: 'container_net_tcp_listen_info', help: 'Listening TCP address of a container: 1 open, 0 recently closed', type: 'gauge', samples: [...samples.values()] };
  }
}
