// Outbound TCP connections per container and destination, built from kernel
// events. Counters only ever grow (they are Prometheus counters); the active
// gauge is the number of connections opened and not yet closed.
import type { MetricFamily, MetricSample } from '../export/metric-family.ts';
import type { TcpEvent } from '../kernel/tcp-event-decoder.ts';
import { inRanges, isLinkLocal, isLoopback, isPublicIp, joinHostPort, splitHostPort, type PortRange } from './address.ts';
import type { OutboundConnection } from './nat-resolver.ts';

/** Who owns an event: resolved by the agent from pid, cgroup id and the listen table. */
export interface ConnectionOwnerResolver {
  containerOf(e: TcpEvent): string | undefined;
  isHostNetns(netns: number): boolean;
}

export interface TcpConnectionTableOptions {
  ephemeralPorts: readonly PortRange[];
  /** Most connections tracked at once; beyond it new ones are counted in `untracked`. */
  maxConnections?: number;
  /** Post-NAT address of a new outbound connection (nat-resolver.ts); without it, actual_destination is destination. */
  nat?: { actualDestination(c: OutboundConnection): string | undefined };
  /** FQDN mode (ip-to-fqdn.ts): the name to label a connection to this actual ip and dialled port by, if any. */
  fqdn?: { destinationOf(ip: string, port: number): string | undefined };
  /** Monotonic milliseconds (default performance.now): when a connect's name stops waiting (NAME_WAIT_MS). */
  now?: () => number;
}

interface DestinationStats {
  destination: string;
  actualDestination: string;
  successfulConnects: number;
  /** Connections already open when the agent started (no connect event): shown all the same. */
  adopted: number;
  connectSeconds: number;
  failedConnects: number;
  active: number;
  retransmits: number;
  bytesSent: number;
  bytesReceived: number;
}

interface TrackedConnection {
  containerId: string;
  stats: DestinationStats;
}

/** An established outbound connection found in /proc when the agent started (listen-scanner.ts). */
export interface ExistingConnection extends OutboundConnection {
  containerId: string;
}

/** Connections older than the agent are known by their dialled host:port and local port: what
 * both their close event and their requests' events carry (no sock address is in /proc). */
const existingKey = (destination: string, localPort: number) => `${destination}|${localPort}`;

/** The other end of a connection, for request metrics and spans that arrive on another ring buffer. */
export interface ConnectionPeer {
  ip: string;
  port: number;
  /** host:port label value. */
  address: string;
  /** Outbound: where NAT really sent the connection (host:port), when that differs from address. */
  actualAddress?: string;
  /** actualAddress split, once per connection rather than per request. */
  actual?: { ip: string; port: number };
  /** Which end this host is: connect()ed (outbound) or accept()ed (inbound). */
  direction?: 'outbound' | 'inbound';
}

/**
 * Peers of the last this many closed connections are kept (request events may trail the close),
 * however many shared a sock address: a client opening a connection every few ms reuses a few
 * addresses in turn, and a late request must still find its own connection among the later ones.
 */
const RECENTLY_CLOSED = 20_000;

/**
 * A close event marks the socket's first step out of ESTABLISHED; when the server closes, that is
 * the FIN's arrival, which can come before the client reads the response that preceded it. Requests
 * that end this long after the close still belong to the connection (a later one reusing the sock
 * is told apart by its later opening).
 */
const CLOSE_GRACE_NS = 1e9;

/** A struct sock's memory is reused by later connections, so a sock id names a peer only for a time. */
interface PeerLifetime extends ConnectionPeer {
  openedNs: number;
  closedNs?: number;
}

/**
 * FQDN mode names a connection by the DNS answer that gave its address, but that answer comes
 * through the L7 ring buffer, drained by another thread than the connect's, and a client that
 * connects as soon as it has the answer often has its connect applied first. So a connect to a
 * public address no answer names yet is counted under a label only once this long has passed (at
 * the next collect after it): by then the answer has been applied, if there was one.
 */
const NAME_WAIT_MS = 1000;
/** Connects waiting for a name beyond this many are labelled at once, oldest first. */
const MAX_WAITING_FOR_NAME = 100_000;

/** A connect whose label waits for a DNS answer: its counts gather in `stats`, detached until then. */
interface WaitingForName {
  containerId: string;
  /** The address to look the name up by (the actual destination's), and the dialled port. */
  ip: string;
  port: number;
  dialled: string;
  actual: string | undefined;
  stats: DestinationStats;
  /** Of a connection still tracked in `open` (a failed connect has none). */
  sockId: bigint | undefined;
  sinceMs: number;
}

/** Port 50051 (gRPC's customary port) sits inside the default ephemeral range but is a real service. */
const ALWAYS_KEPT_PORT = 50051;

export class TcpConnectionTable {
  private readonly byContainer = new Map<string, Map<string, DestinationStats>>();
  private readonly open = new Map<bigint, TrackedConnection>();
  private readonly existing = new Map<string, TrackedConnection & { actualAddress?: string }>();
  private readonly peers = new Map<bigint, PeerLifetime>();
  /** Per sock address, newest first; closedOrder holds the same entries' sock ids in closing order. */
  private readonly closedPeers = new Map<bigint, PeerLifetime[]>();
  private closedOrder: bigint[] = [];
  private closedHead = 0;
  private waitingForName: WaitingForName[] = [];
  private waitingHead = 0;
  /** Events whose owner could not be found, connections over the cap, filtered destinations. */
  readonly skipped = { unknownOwner: 0, untracked: 0, filtered: 0 };

  private readonly now: () => number;

  constructor(private readonly resolver: ConnectionOwnerResolver, private readonly opts: TcpConnectionTableOptions) {
    this.now = opts.now ?? (() => performance.now());
  }

  onEvent(e: TcpEvent): void {
    switch (e.type) {
      case 'connect_ok': return this.onConnect(e, true);
      case 'connect_fail': return this.onConnect(e, false);
      case 'accept': return this.rememberPeer(e, 'inbound');
      case 'close': return this.onClose(e);
      case 'retransmit': return this.onRetransmit(e);
      default: return;
    }
  }

  /**
   * The peer of the connection that had this sock id at monotonic time atNs (an L7 event's
   * time): live, or closed recently. A connection that reused the memory later is not it.
   */
  peerOf(sockId: bigint, atNs: number, openAtNs = 0): ConnectionPeer | undefined {
    const live = this.peers.get(sockId);
    if (live && live.openedNs <= atNs) return live;
    // openAtNs: when the caller knows its connection was open (its tracking start). A connection
    // that had closed by then was an earlier user of the same sock memory, however recent.
    return this.closedPeers.get(sockId)?.find((p) => p.openedNs <= atNs && atNs <= p.closedNs! + CLOSE_GRACE_NS && p.closedNs! >= openAtNs);
  }

  /**
   * The peer an L7 event's socket reported, for connections the table has no TCP event of (opened
   * before the agent started, or an event still on its way): the same destination filter as
   * connections. null: filtered out for sure; undefined: loopback, which depends on the owner's
   * netns that only the TCP event tells.
   */
  peerFromSocket(peer: ConnectionPeer): ConnectionPeer | null | undefined {
    if (peer.port !== ALWAYS_KEPT_PORT && inRanges(peer.port, this.opts.ephemeralPorts)) return null;
    if (isLinkLocal(peer.ip)) return null;
    if (isLoopback(peer.ip)) return undefined;
    return peer;
  }

  private rememberPeer(e: TcpEvent, direction: 'outbound' | 'inbound', actualAddress?: string, actual?: { ip: string; port: number }): void {
    if (this.peers.size >= (this.opts.maxConnections ?? 1_000_000)) return;
    // The handshake finished at e.timestampNs; the connection existed from its duration earlier.
    this.peers.set(e.sockId, { ip: e.daddr, port: e.dport, address: joinHostPort(e.daddr, e.dport), actualAddress, actual, direction, openedNs: e.timestampNs - e.durationNs });
  }

  get trackedConnections(): number {
    return this.open.size + this.existing.size;
  }

  /**
   * Takes in the connections that were open before the agent started: counted as active (with
   * their actual destination) until their close event, which names them by address and port.
   */
  addExisting(connections: readonly ExistingConnection[]): void {
    for (const c of connections) {
      if (!this.tracked(c.daddr, c.dport, c.netns)) { this.skipped.filtered++; continue; }
      if (this.open.size + this.existing.size >= (this.opts.maxConnections ?? 1_000_000)) { this.skipped.untracked++; continue; }
      const destination = joinHostPort(c.daddr, c.dport);
      const actualAddress = this.opts.nat?.actualDestination(c);
      const stats = this.statsFor(c.containerId, destination, actualAddress ?? destination);
      stats.adopted++;
      stats.active++;
      this.existing.set(existingKey(destination, c.sport), { containerId: c.containerId, stats, actualAddress });
    }
  }

  /** Where NAT sent a connection addExisting() took in, by its dialled host:port and local port. */
  existingActualDestination(destination: string, localPort: number): string | undefined {
    return this.existing.size === 0 ? undefined : this.existing.get(existingKey(destination, localPort))?.actualAddress;
  }

  private tracked(daddr: string, dport: number, netns: number): boolean {
    if (dport !== ALWAYS_KEPT_PORT && inRanges(dport, this.opts.ephemeralPorts)) return false;
    if (isLinkLocal(daddr)) return false;
    if (isLoopback(daddr) && !this.resolver.isHostNetns(netns)) return false;
    return true;
  }

  /** Stats per destination and actual destination: a Service's address has one series per backend it sent to. */
  private statsFor(containerId: string, destination: string, actualDestination: string): DestinationStats {
    let dests = this.byContainer.get(containerId);
    if (!dests) this.byContainer.set(containerId, (dests = new Map()));
    const key = destination === actualDestination ? destination : `${destination} ${actualDestination}`;
    let s = dests.get(key);
    if (!s) dests.set(key, (s = emptyStats(destination, actualDestination)));
    return s;
  }

  /** A connection's series: under its name in FQDN mode (no actual destination), else by where it was dialled and sent. */
  private seriesStats(containerId: string, byName: string | undefined, dialled: string, actual: string | undefined): DestinationStats {
    return byName !== undefined ? this.statsFor(containerId, byName, '') : this.statsFor(containerId, dialled, actual ?? dialled);
  }

  /**
   * The stats a connect counts in: its destination's, or, in FQDN mode for a public address no
   * answer names yet, detached ones that join their destination's after NAME_WAIT_MS.
   */
  private connectStats(e: TcpEvent, containerId: string, actual: string | undefined, actualIp: string | undefined, tracked: boolean): DestinationStats {
    const dialled = joinHostPort(e.daddr, e.dport);
    const ip = actualIp ?? e.daddr;
    const byName = this.opts.fqdn?.destinationOf(ip, e.dport);
    if (byName !== undefined || !this.opts.fqdn || !isPublicIp(ip)) return this.seriesStats(containerId, byName, dialled, actual);
    const stats = emptyStats(dialled, actual ?? dialled);
    if (this.waitingForName.length - this.waitingHead >= MAX_WAITING_FOR_NAME) this.nameWaiting(Infinity, 1);
    this.waitingForName.push({ containerId, ip, port: e.dport, dialled, actual, stats, sockId: tracked ? e.sockId : undefined, sinceMs: this.now() });
    return stats;
  }

  /** Labels the connects that have waited NAME_WAIT_MS by `nowMs` (at most `limit` of them, oldest first). */
  private nameWaiting(nowMs: number, limit = Infinity): void {
    const q = this.waitingForName;
    for (; this.waitingHead < q.length && limit > 0 && q[this.waitingHead]!.sinceMs + NAME_WAIT_MS <= nowMs; limit--) {
      const w = q[this.waitingHead++]!;
      const target = this.seriesStats(w.containerId, this.opts.fqdn?.destinationOf(w.ip, w.port), w.dialled, w.actual);
      addStats(target, w.stats);
      // Still open: its close and retransmits count in the named stats from now on.
      const c = w.sockId !== undefined ? this.open.get(w.sockId) : undefined;
      if (c?.stats === w.stats) c.stats = target;
    }
    if (this.waitingHead === q.length) { this.waitingForName = []; this.waitingHead = 0; }
    else if (this.waitingHead > 1024 && this.waitingHead * 2 > q.length) { this.waitingForName = q.slice(this.waitingHead); this.waitingHead = 0; }
  }

  private onConnect(e: TcpEvent, ok: boolean): void {
    if (!this.tracked(e.daddr, e.dport, e.netns)) { this.skipped.filtered++; return; }
    const containerId = this.resolver.containerOf(e);
    if (!containerId) {
      this.skipped.unknownOwner++;
      // Its requests may have an owner all the same: they wait for this connect event (request-pipeline.ts).
      if (ok) this.rememberPeer(e, 'outbound');
      return;
    }
    // A failed connect carries no actual destination (failed_connects has no such label).
    const actual = ok ? this.opts.nat?.actualDestination(e) : undefined;
    const actualEndpoint = actual ? splitHostPort(actual) : undefined;
    const tracked = ok && this.open.size < (this.opts.maxConnections ?? 1_000_000);
    const s = this.connectStats(e, containerId, actual, actualEndpoint?.ip, tracked);
    if (!ok) { s.failedConnects++; return; }
    s.successfulConnects++;
    s.connectSeconds += e.durationNs / 1e9;
    if (!tracked) { this.skipped.untracked++; return; }
    s.active++;
    this.open.set(e.sockId, { containerId, stats: s });
    this.rememberPeer(e, 'outbound', actual, actualEndpoint);
  }

  private onClose(e: TcpEvent): void {
    const peer = this.peers.get(e.sockId);
    if (peer) {
      this.peers.delete(e.sockId);
      peer.closedNs = e.timestampNs;
      const list = this.closedPeers.get(e.sockId);
      if (list) list.unshift(peer);
      else this.closedPeers.set(e.sockId, [peer]);
      this.closedOrder.push(e.sockId);
      if (this.closedOrder.length - this.closedHead > RECENTLY_CLOSED) this.forgetOldestClosed();
    }
    const c = this.open.get(e.sockId) ?? this.takeExisting(e);
    if (!c) return; // inbound, or filtered
    this.open.delete(e.sockId);
    c.stats.active--;
    c.stats.bytesSent += e.bytesSent;
    c.stats.bytesReceived += e.bytesReceived;
  }

  private takeExisting(e: TcpEvent): TrackedConnection | undefined {
    if (this.existing.size === 0) return undefined;
    const key = existingKey(joinHostPort(e.daddr, e.dport), e.sport);
    const c = this.existing.get(key);
    if (c) this.existing.delete(key);
    return c;
  }

  /** Drops the connection that closed first of those kept: the oldest entry of its sock's list. */
  private forgetOldestClosed(): void {
    const sockId = this.closedOrder[this.closedHead++]!;
    const list = this.closedPeers.get(sockId)!;
    list.pop();
    if (list.length === 0) this.closedPeers.delete(sockId);
    if (this.closedHead >= RECENTLY_CLOSED) {
      this.closedOrder = this.closedOrder.slice(this.closedHead);
      this.closedHead = 0;
    }
  }

  private onRetransmit(e: TcpEvent): void {
    const c = this.open.get(e.sockId);
    if (c) c.stats.retransmits++;
  }

  collect(): MetricFamily[] {
    this.nameWaiting(this.now());
    // A destination that only ever failed has no successful-connect series, as in Coroot's agent.
    const connected = (s: DestinationStats) => s.successfulConnects > 0 || s.adopted > 0;
    const fam = (name: string, help: string, type: 'counter' | 'gauge', value: (s: DestinationStats) => number,
      include: (s: DestinationStats) => boolean, withActual = true): MetricFamily => {
      const samples: MetricSample[] = [];
      for (const [containerId, dests] of this.byContainer) {
        for (const s of dests.values()) {
          if (!include(s)) continue;
          const labels: Record<string, string> = { container_id: containerId, destination: s.destination };
          if (withActual && s.actualDestination !== '') labels.actual_destination = s.actualDestination;
          samples.push({ labels, value: value(s) });
        }
      }
      return { name, help, type, samples };
    };
    return [
      fam('container_net_tcp_successful_connects_total', 'Outbound TCP connections established', 'counter', (s) => s.successfulConnects, connected),
      fam('container_net_tcp_connection_time_seconds_total', 'Time spent establishing outbound TCP connections', 'counter', (s) => s.connectSeconds, connected),
      fam('container_net_tcp_failed_connects_total', 'Outbound TCP connection attempts that failed', 'counter', (s) => s.failedConnects, (s) => s.failedConnects > 0, false),
      fam('container_net_tcp_active_connections', 'Outbound TCP connections open now', 'gauge', (s) => s.active, connected),
      fam('container_net_tcp_retransmits_total', 'TCP segments retransmitted on outbound connections', 'counter', (s) => s.retransmits, (s) => s.retransmits > 0),
      fam('container_net_tcp_bytes_sent_total', 'Bytes sent and acknowledged on closed outbound TCP connections', 'counter', (s) => s.bytesSent, connected),
      fam('container_net_tcp_bytes_received_total', 'Bytes received on closed outbound TCP connections', 'counter', (s) => s.bytesReceived, connected),
    ];
  }
}

function emptyStats(destination: string, actualDestination: string): DestinationStats {
  return { destination, actualDestination, successfulConnects: 0, adopted: 0, connectSeconds: 0, failedConnects: 0, active: 0, retransmits: 0, bytesSent: 0, bytesReceived: 0 };
}

/** Adds every count of `from` into `to` (both of one destination's connections). */
function addStats(to: DestinationStats, from: DestinationStats): void {
  to.successfulConnects += from.successfulConnects;
  to.adopted += from.adopted;
  to.connectSeconds += from.connectSeconds;
  to.failedConnects += from.failedConnects;
  to.active += from.active;
  to.retransmits += from.retransmits;
  to.bytesSent += from.bytesSent;
  to.bytesReceived += from.bytesReceived;
}
