// From kernel L7 events to request metrics and spans: pick the parser for the protocol the
// kernel tagged, read status and names from the payload prefixes, find the container and the
// peer, and record. HTTP/2 arrives as raw frames per connection and is decoded here, stream by
// stream, with a stateful HPACK decoder per connection.
import type { Http2Chunk, L7ConnClose, L7Event } from '../kernel/l7-event-decoder.ts';
import type { L7UnansweredCount } from '../kernel/l7-loss-counters.ts';
import type { SpanExporter } from '../export/span-exporter.ts';
import type { SpanResource } from '../export/otlp-traces.ts';
import { Http2Connection, type Http2Side } from '../l7/http2.ts';
import type { L7Protocol, L7RequestInfo, L7ResponseInfo } from '../l7/l7-parser.ts';
import { parserFor } from '../l7/registry.ts';
import type { ConnectionPeer } from '../net/tcp-connection-table.ts';
import { BrokerStreams } from './broker-streams.ts';
import { DnsDomains } from './dns-domains.ts';
import type { RequestMetrics } from './request-metrics.ts';
import { spanFromRequest } from './request-span.ts';
import { splitHostPort } from '../net/address.ts';
import type { IpToFqdn } from './ip-to-fqdn.ts';

export interface RequestPipelineDeps {
  containerOf(pid: number, cgroupId: number): string | undefined;
  /** The TCP table's peer of the connection open at atNs (and, when given, still open at openAtNs). */
  peerOf(connectionId: bigint, atNs: number, openAtNs?: number): ConnectionPeer | undefined;
  /** The peer a socket reported (see TcpConnectionTable.peerFromSocket): null when filtered out,
   * undefined when only the TCP event can tell. */
  peerFromSocket?(peer: ConnectionPeer): ConnectionPeer | null | undefined;
  /** Where NAT sent a connection older than the agent, by its dialled host:port and local port (TcpConnectionTable). */
  existingActualDestination?(destination: string, localPort: number): string | undefined;
  /** Fed with every DNS answer's addresses (ip_to_fqdn). */
  ipToFqdn?: IpToFqdn;
  resourceOf(containerId: string): SpanResource;
  metrics: RequestMetrics;
  spans?: SpanExporter;
}

const MAX_HTTP2_CONNECTIONS = 10_000;
/** container × protocol × direction series of unanswered requests kept; more are counted as skipped. */
const MAX_UNANSWERED_SERIES = 10_000;

export interface UnansweredInContainer { containerId: string; protocol: L7Protocol; direction: 'outbound' | 'inbound'; count: number }
/** TCP and L7 events come through different ring buffers; a request may overtake its connect,
 * by more on a loaded host. Such a request waits for the peer, then is recorded without it. */
const PEER_WAITS_MS = [20, 100, 500, 2000, 5000];
const MAX_WAITING_FOR_PEER = 10_000;

// CLOCK_MONOTONIC (bpf_ktime_get_ns, process.hrtime) to wall clock, fixed at start.
const monoToUnixNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

export class RequestPipeline {
  private readonly http2 = new Map<bigint, Http2Connection>();
  /** NATS/RabbitMQ client connections, walked as byte streams. */
  readonly brokers = new BrokerStreams();
  /** HTTP/2 chunks whose uncaptured tail held frame headers: that direction of the connection stopped decoding. */
  http2CaptureGaps = 0;
  readonly skipped = { unknownOwner: 0, unknownProtocol: 0, http2ConnectionsDropped: 0, recordedWithoutPeer: 0, unansweredSeriesDropped: 0 };
  private waitingForPeer = 0;
  private readonly dnsDomains = new DnsDomains();
  /** Requests that user space saw but never matched with a response (the kernel counts its own). */
  private readonly unansweredCounts = new Map<string, L7UnansweredCount>();
  private readonly unansweredInContainers = new Map<string, UnansweredInContainer>();

  constructor(private readonly deps: RequestPipelineDeps) {}

  onRequest(e: L7Event): void {
    const parser = e.protocol === 'unknown' ? undefined : parserFor(e.protocol as L7Protocol);
    if (!parser) { this.skipped.unknownProtocol++; return; }
    if (e.method !== undefined) {
      // Broker bytes: messages have no response and no latency (reference §1.5).
      for (const m of this.brokers.feed(e)) this.record(e, m.protocol, { method: m.method, direction: m.direction }, { status: 'ok' }, undefined);
      return;
    }
    const pipelined = e.method ? undefined : parser.splitPipelined?.(e.request, e.response);
    if (pipelined) {
      for (const x of pipelined) this.record(e, parser.protocol, x.request, x.response, e.durationNs);
      return;
    }
    // Request metrics need only the response's status: the request's own fields (path, host,
    // statement, traceparent) are read for spans, and where the response cannot be read without them.
    const request = this.deps.spans || parser.responseUsesRequest ? parser.parseRequest(e.request) ?? {} : {};
    const response = e.method ? { status: 'ok' } : parser.parseResponse(e.response, request);
    this.record(e, parser.protocol, request, response, e.method ? undefined : e.durationNs);
  }

  onHttp2Chunk(c: Http2Chunk): void {
    let conn = this.http2.get(c.connectionId);
    if (!conn) {
      if (this.http2.size >= MAX_HTTP2_CONNECTIONS) { this.skipped.http2ConnectionsDropped++; return; }
      this.http2.set(c.connectionId, (conn = new Http2Connection()));
    }
    // Who sent these bytes: on an outbound connection our writes are the client's.
    const side: Http2Side = (c.direction === 'outbound') === (c.io === 'write') ? 'client' : 'server';
    const gaps = conn.gaps;
    for (const x of conn.feed(side, c.data, c.timestampNs, c.size)) {
      this.record(c, 'http2', x.request, x.response, x.duration);
    }
    this.http2CaptureGaps += conn.gaps - gaps;
  }

  onConnectionClose(c: L7ConnClose): void {
    this.brokers.close(c.connectionId);
    // The kernel counted a request left pending at close (rs_l7_unanswered); here it gets its container.
    if (c.unanswered > 0) this.countUnansweredIn(c, c.protocol as L7Protocol, c.unanswered);
    const conn = this.http2.get(c.connectionId);
    if (!conn) return;
    // HTTP/2 pairs streams here, not in the kernel: streams still open at close were never answered.
    if (conn.pendingStreams > 0) {
      this.countUnanswered({ protocol: 'http2', direction: c.direction, reason: 'connection_closed', count: conn.pendingStreams });
      this.countUnansweredIn(c, 'http2', conn.pendingStreams);
    }
    this.http2.delete(c.connectionId);
  }

  /** Unanswered requests user space found (the kernel's own are read from its map). */
  unanswered(): L7UnansweredCount[] {
    return [...this.unansweredCounts.values()].map((u) => ({ ...u }));
  }

  /** Requests left without a response when their connection closed, by container. */
  unansweredByContainer(): UnansweredInContainer[] {
    return [...this.unansweredInContainers.values()].map((u) => ({ ...u }));
  }

  private countUnanswered(u: L7UnansweredCount): void {
    const key = `${u.protocol}|${u.direction}|${u.reason}`;
    const known = this.unansweredCounts.get(key);
    if (known) known.count += u.count;
    else this.unansweredCounts.set(key, { ...u });
  }

  private countUnansweredIn(c: L7ConnClose, protocol: L7Protocol, count: number): void {
    const containerId = this.deps.containerOf(c.pid, c.cgroupId);
    if (!containerId) { this.skipped.unknownOwner++; return; }
    const key = `${containerId}|${protocol}|${c.direction}`;
    const known = this.unansweredInContainers.get(key);
    if (known) known.count += count;
    else if (this.unansweredInContainers.size < MAX_UNANSWERED_SERIES) this.unansweredInContainers.set(key, { containerId, protocol, direction: c.direction, count });
    else this.skipped.unansweredSeriesDropped++;
  }

  private record(e: { pid: number; cgroupId: number; connectionId: bigint; direction: 'outbound' | 'inbound'; timestampNs: number; tls: boolean; peer?: ConnectionPeer; opened?: boolean; sockType?: 'stream' | 'dgram'; localPort?: number; connectionStartNs?: number },
    protocol: L7Protocol, request: L7RequestInfo, response: L7ResponseInfo | undefined, durationNs: number | undefined, attempt = 0, owner?: string): void {
    // Named once, when the event is applied: by a retry a short-lived process may have exited and
    // been forgotten by the process table.
    const containerId = owner ?? this.deps.containerOf(e.pid, e.cgroupId);
    if (!containerId) { this.skipped.unknownOwner++; return; }
    const dns = protocol === 'dns' ? this.dnsDomains.labels(containerId, request, response) : undefined;
    if (protocol === 'dns' && response?.addresses && request.domain !== undefined) this.deps.ipToFqdn?.observe(request.domain, response.addresses);
    if (protocol === 'dns' && !dns) return;
    // What the socket itself said when tracking began is authoritative; the TCP table decides for
    // loopback peers, whose filter depends on the owner's netns, and when the kernel had no peer.
    const fromSocket = e.peer && this.deps.peerFromSocket ? this.deps.peerFromSocket(e.peer) : undefined;
    const found = fromSocket === undefined ? this.deps.peerOf(e.connectionId, e.timestampNs) : fromSocket ?? undefined;
    // A struct sock freed by one connection is soon reused by another, on a local bridge often by
    // the other end of the next connection (pgbench -C): a peer learnt for the opposite direction
    // belongs to that other connection, whose close this table has not seen yet. Wait for ours.
    const peer = found?.direction !== undefined && found.direction !== e.direction ? undefined : found;
    // Where NAT really sent an outbound connection is known from its TCP connect event only (the
    // socket keeps the dialled address), and that event comes on the other ring buffer, maybe later.
    const tcpPeer = fromSocket && e.direction === 'outbound' ? this.deps.peerOf(e.connectionId, e.timestampNs, e.connectionStartNs) : peer;
    const awaitingConnect = fromSocket && e.direction === 'outbound' && e.opened && e.sockType === 'stream' && tcpPeer?.direction !== 'outbound';
    // DNS series carry no destination, so a DNS request never waits for its peer.
    if (((!peer && fromSocket === undefined && e.direction === 'outbound' && protocol !== 'dns') || awaitingConnect) && attempt < PEER_WAITS_MS.length && this.waitingForPeer < MAX_WAITING_FOR_PEER) {
      this.waitingForPeer++;
      // Keep only what record() reads: the event's payloads are views into a whole ring batch.
      const origin = { pid: e.pid, cgroupId: e.cgroupId, connectionId: e.connectionId, direction: e.direction, timestampNs: e.timestampNs, tls: e.tls, peer: e.peer, opened: e.opened, sockType: e.sockType, localPort: e.localPort, connectionStartNs: e.connectionStartNs };
      setTimeout(() => {
        this.waitingForPeer--;
        this.record(origin, protocol, request, response, durationNs, attempt + 1, containerId);
      }, PEER_WAITS_MS[attempt]).unref();
      return;
    }
    if (!peer && e.direction === 'outbound' && protocol !== 'dns') this.skipped.recordedWithoutPeer++;
    const natFromConnect = tcpPeer?.direction === 'outbound' && tcpPeer.address === peer?.address;
    const actualDestination = natFromConnect ? tcpPeer.actualAddress
      : peer && e.direction === 'outbound' && !e.opened && e.localPort ? this.deps.existingActualDestination?.(peer.address, e.localPort) : undefined;
    // split once per connection at its connect; only connections older than the agent split here
    const actual = natFromConnect ? tcpPeer.actual : actualDestination ? splitHostPort(actualDestination) : undefined;
    // FQDN mode: a connection to one of a public pool of addresses behind a name is labelled by the name.
    const byName = peer && e.direction === 'outbound' && this.deps.ipToFqdn ? this.deps.ipToFqdn.destinationOf(actual?.ip ?? peer.ip, peer.port) : undefined;
    this.deps.metrics.observe({
      containerId, direction: e.direction, protocol, status: response?.status ?? 'unknown',
      durationSeconds: durationNs === undefined ? undefined : durationNs / 1e9,
      destination: e.direction === 'outbound' ? byName ?? peer?.address : undefined, actualDestination: byName !== undefined ? '' : actualDestination,
      method: request.direction, requestType: dns?.requestType, domain: dns?.domain,
    });
    if (!this.deps.spans || durationNs === undefined) return;
    const end = BigInt(Math.round(e.timestampNs)) + monoToUnixNs;
    // net.peer.* name the actual destination when NAT is known (the dialled one otherwise), as Coroot's spans do.
    const spanPeer = actual ?? peer;
    const span = spanFromRequest({
      protocol, direction: e.direction, request, response, startUnixNano: end - BigInt(Math.round(durationNs)), durationNs: BigInt(Math.round(durationNs)),
      peerIp: spanPeer?.ip ?? '', peerPort: spanPeer?.port ?? 0, tls: e.tls,
    });
    if (span) this.deps.spans.add(this.deps.resourceOf(containerId), span);
  }
}
