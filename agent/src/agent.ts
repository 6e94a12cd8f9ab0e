// The agent: kernel events → connection and listen tables → metrics, served
// on /metrics and pushed to the collector. Every part degrades on its own: no
// kernel programs still gives node and container metrics; no collector still
// serves /metrics.
import { readlinkSync } from 'node:fs';
import { encodeWriteRequest, remoteWriteHeaders, renderPrometheusText, snappyCompress } from '@rootsight/common';
import { AgentSelfCollector } from './agent-self-collector.ts';
import { ContainerCollector } from './containers/container-collector.ts';
import { ExitedProcessOwners } from './procs/exited-process-owners.ts';
import { ProcessTable } from './procs/process-table.ts';
import { ProblemLog } from './procs/problem-log.ts';
import { startAgentHttpEndpoint } from './export/agent-http-endpoint.ts';
import { gather, withLabels, type MetricCollector, type MetricFamily } from './export/metric-family.ts';
import { toWriteRequest } from './export/remote-write-request.ts';
import { PushQueue } from './export/push-queue.ts';
import { readNodeIdentity, type NodeIdentity } from './host/node-identity.ts';
import type { TcpEvent } from './kernel/tcp-event-decoder.ts';
import { TcpTracer } from './kernel/tcp-tracer.ts';
import type { Http2Chunk, L7ConnClose, L7Event } from './kernel/l7-event-decoder.ts';
import { L7Tracer } from './kernel/l7-tracer.ts';
import { TlsProbes } from './kernel/tls-probes.ts';
import { SpanExporter } from './export/span-exporter.ts';
import { AGENT_VERSION, NodeCollector } from './host/node-collector.ts';
import { RequestMetrics } from './requests/request-metrics.ts';
import { RequestPipeline } from './requests/request-pipeline.ts';
import { IpToFqdn } from './requests/ip-to-fqdn.ts';
import { parsePortRanges } from './net/address.ts';
import { ListenScanner, readNamespaceAddresses, type ScannedProcess } from './net/listen-scanner.ts';
import { ListenTable } from './net/listen-table.ts';
import { TcpConnectionTable } from './net/tcp-connection-table.ts';
import { NatResolver, type NatResolverOptions } from './net/nat-resolver.ts';
import { loadNativeAddon } from './kernel/native-addon.ts';
import { OrderedEventQueue } from './ordered-event-queue.ts';

export interface AgentOptions {
  listen: string;
  collectorEndpoint?: string;
  apiKey?: string;
  cgroupfsRoot: string;
  procRoot?: string;
  scrapeIntervalMs: number;
  ephemeralPortRange: string;
  /** container_info waits until a container is this old (0 = announce at once). */
  minContainerAgeMs: number;
  /** No read/write syscall tracing: no request metrics or spans (connection metrics stay). */
  disableL7Tracing?: boolean;
  /** No uprobes on OpenSSL: HTTPS and other TLS traffic is not seen in plaintext. */
  disableTlsTracing?: boolean;
  /** No conntrack lookups: actual_destination is always the dialled address. */
  disableNatResolution?: boolean;
  /** How often /proc is scanned for new processes (and their OpenSSL code to probe). */
  processScanIntervalMs?: number;
  bpfObjectPath?: string;
  l7ObjectPath?: string;
  log: (msg: string) => void;
}

const PROCESS_SCAN_INTERVAL_MS = 2000;
const LISTEN_SCAN_INTERVAL_MS = 15_000;
const TLS_FULL_RESCAN_EVERY = 15;

export class Agent {
  readonly url: string;
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;

  private constructor(
    private readonly opts: AgentOptions,
    private readonly node: NodeIdentity,
    private readonly processes: ProcessTable,
    private readonly kernel: { tcp: TcpTracer; l7: L7Tracer | undefined; spans: SpanExporter | undefined; tls: TlsProbes | undefined; nat: NatResolver | undefined },
    private readonly sender: PushQueue | undefined,
    private readonly collectors: MetricCollector[],
    private readonly http: { url: string; server: import('node:http').Server },
  ) {
    this.url = http.url;
  }

  static async start(opts: AgentOptions): Promise<Agent> {
    const procRoot = opts.procRoot ?? '/proc';
    const node = readNodeIdentity();
    // The agent runs in the host network namespace (hostNetwork in Kubernetes); pid 1's link is
    // the authority, but some sandboxes deny reading it, and then our own is the same answer.
    const ownNetns = netnsInode(`${procRoot}/self/ns/net`);
    const hostNetns = netnsInode(`${procRoot}/1/ns/net`) || ownNetns;
    const processes = new ProcessTable({ procRoot, cgroupfsRoot: opts.cgroupfsRoot });
    await processes.scan();
    const listens = new ListenTable();
    const nat = opts.disableNatResolution ? undefined : startNatResolver({ hostNetns, ownNetns, procRoot, log: opts.log });
    const ipToFqdn = new IpToFqdn();
    const connections = new TcpConnectionTable({
      containerOf: (e) => ownerOf(processes, listens, e) ?? exited.ownerOf(e.pid, e.cgroupId, e.comm),
      isHostNetns: (ns) => ns === hostNetns,
    }, { ephemeralPorts: parsePortRanges(opts.ephemeralPortRange), nat, fqdn: ipToFqdn });

    // Listen state first, so the first connection events already find their callee.
    const listenScanner = new ListenScanner(procRoot);
    const first = await listenScanner.scan(listedProcesses(processes), { outbound: true });
    listens.reconcile(first.listens);
    connections.addExisting(first.outbound);
    let addresses = first.addressesByNetns;

    const applyTcp = (e: TcpEvent) => {
      if (e.type === 'listen_open') {
        const containerId = e.pid ? processes.containerOfPid(e.pid)?.containerId : undefined;
        if (containerId) listens.open({ netns: e.netns, ip: e.saddr, port: e.sport, containerId });
        // A namespace born since the last scan: learn its addresses now, so a wildcard listen
        // is published at once rather than at the next scan.
        if (!addresses.has(e.netns) && e.pid) {
          void readNamespaceAddresses(e.pid, procRoot).then((a) => { if (!addresses.has(e.netns)) addresses.set(e.netns, a); });
        }
      } else if (e.type === 'listen_close') {
        listens.close(e.netns, e.saddr, e.sport);
      } else {
        connections.onEvent(e);
      }
    };
    const collectorBase = opts.collectorEndpoint?.replace(/\/+$/, '');
    const sender = collectorBase
      ? new PushQueue({ url: `${collectorBase}/v1/metrics`, what: 'remote write', headers: remoteWriteHeaders, apiKey: opts.apiKey, log: opts.log })
      : undefined;

    // Requests: kernel-paired L7 events → parsers → request metrics and spans.
    const requestMetrics = new RequestMetrics();
    const spans = collectorBase ? new SpanExporter({ url: `${collectorBase}/v1/traces`, apiKey: opts.apiKey, scopeVersion: AGENT_VERSION, log: opts.log }) : undefined;
    const requests = new RequestPipeline({
      containerOf: (pid, cgroupId) => processes.containerOfPid(pid, cgroupId)?.containerId ?? processes.containerOfCgroupId(cgroupId)?.containerId
        ?? exited.ownerOf(pid, cgroupId, ''),
      peerOf: (id, atNs, openAtNs) => connections.peerOf(id, atNs, openAtNs),
      peerFromSocket: (peer) => connections.peerFromSocket(peer),
      existingActualDestination: (destination, localPort) => connections.existingActualDestination(destination, localPort),
      ipToFqdn,
      resourceOf: (containerId) => ({ serviceName: processes.container(containerId)?.appId ?? containerId, containerId, hostName: node.hostname, hostId: node.machineId }),
      metrics: requestMetrics,
      spans,
    });

    // Both ring buffers feed ONE ordered queue: a connection's connect event is applied before
    // its first request, and every event waits for its pid's container when the pid is new.
    type KernelItem = { kind: 'tcp'; e: TcpEvent } | { kind: 'request'; e: L7Event } | { kind: 'http2'; c: Http2Chunk } | { kind: 'close'; c: L7ConnClose };
    const exited = new ExitedProcessOwners(() => processes.cgroupV2Root);
    const applyProblems = new ProblemLog(opts.log);
    // A close matters for its owner only when it left a request unanswered (counted per container).
    const originOf = (x: KernelItem) => (x.kind === 'close' ? (x.c.unanswered > 0 ? { pid: x.c.pid, cgroupId: x.c.cgroupId, comm: '' } : undefined)
      : x.kind === 'http2' ? { pid: x.c.pid, cgroupId: x.c.cgroupId, comm: '' }
      : { pid: x.e.pid, cgroupId: x.e.cgroupId, comm: x.kind === 'tcp' ? x.e.comm : '' });
    const events = new OrderedEventQueue<KernelItem>({
      pidToResolve: (x) => {
        const p = originOf(x);
        const unknown = p && p.pid && (!processes.get(p.pid) || processes.isStale(p.pid, p.cgroupId));
        return unknown && !exited.known(p.pid, p.cgroupId, p.comm) ? p.pid : undefined;
      },
      resolvePid: async (pid) => {
        const p = events.current && originOf(events.current);
        // Read again when the table's entry is from before the process moved to another cgroup.
        const info = p && processes.isStale(pid, p.cgroupId) ? await processes.refreshPid(pid) : await processes.lookupPid(pid);
        if (info && !(p && processes.isStale(pid, p.cgroupId))) return;
        if (p) await exited.resolve(pid, p.cgroupId, p.comm);
      },
      apply: (x) => {
        if (x.kind === 'tcp') applyTcp(x.e);
        else if (x.kind === 'request') requests.onRequest(x.e);
        else if (x.kind === 'http2') requests.onHttp2Chunk(x.c);
        else requests.onConnectionClose(x.c);
      },
      onApplyError: (err) => applyProblems.report(String(err), `a kernel event could not be applied and was skipped: ${err instanceof Error ? err.stack ?? err.message : String(err)}`),
    });
    const tracer = TcpTracer.start({ objectPath: opts.bpfObjectPath, onEvent: (e) => events.push({ kind: 'tcp', e }), log: opts.log });
    const l7 = opts.disableL7Tracing ? undefined : L7Tracer.start({
      objectPath: opts.l7ObjectPath, log: opts.log,
      onEvent: (e) => events.push({ kind: 'request', e }),
      onHttp2Chunk: (c) => events.push({ kind: 'http2', c }),
      onConnectionClose: (c) => events.push({ kind: 'close', c }),
    });
    // TLS plaintext: probes on the OpenSSL and Go TLS code processes run, found by reading their maps.
    const tls = l7?.running && !opts.disableTlsTracing
      ? new TlsProbes({ attach: (program, path, symbol, offset) => l7.attachUprobe(program, path, symbol, offset), procRoot: opts.procRoot, log: opts.log })
      : undefined;
    await tls?.checkLibraryDirs();
    await tls?.check(processes.all());
    for (const c of [...tracer.capabilities(), ...(l7?.capabilities() ?? [])]) {
      if (c.targets) continue; // uprobes: attached per binary, reported under tls in /capabilities
      if (!c.attached) opts.log(`kernel program ${c.program} (${c.attachPoint}) is not available: ${c.error ?? 'unknown reason'}; continuing without it`);
    }

    const collectors: MetricCollector[] = [
      new NodeCollector(node),
      new ContainerCollector(processes, opts.minContainerAgeMs),
      { collect: () => connections.collect() },
      { collect: () => requestMetrics.collect() },
      ipToFqdn,
      { collect: () => [listens.collect((ns) => addresses.get(ns) ?? [], hostNetns)] },
      new AgentSelfCollector({
        capabilities: () => [...tracer.capabilities(), ...(l7?.capabilities() ?? [])],
        kernelCounters: () => tracer.counters(),
        l7KernelCounters: () => l7?.counters() ?? {},
        unansweredRequests: () => [...(l7?.lossCounters().unanswered ?? []), ...requests.unanswered()],
        l7RingbufLost: () => l7?.lossCounters().ringbufLost ?? [],
        unansweredByContainer: () => requests.unansweredByContainer(),
        skipped: () => ({
          ...connections.skipped, listen_overflow: listens.overflow, event_queue_full: events.dropped, event_apply_failed: events.failed,
          request_unknown_owner: requests.skipped.unknownOwner, request_unknown_protocol: requests.skipped.unknownProtocol,
          http2_connections_dropped: requests.skipped.http2ConnectionsDropped, request_without_peer: requests.skipped.recordedWithoutPeer,
          http2_capture_gaps: requests.http2CaptureGaps, broker_stream_lost_sync: requests.brokers.lostSync,
          broker_connections_dropped: requests.brokers.connectionsDropped,
          unanswered_series_dropped: requests.skipped.unansweredSeriesDropped,
          request_series_overflow: requestMetrics.overflow,
        }),
        remoteWrite: () => sender?.stats,
        spans: () => spans?.stats,
        trackedConnections: () => connections.trackedConnections,
        nat: () => nat?.stats,
      }),
    ];

    let agentRef: Agent | undefined;
    const http = await startAgentHttpEndpoint(opts.listen, {
      metricsText: () => agentRef!.metricsText(),
      capabilities: () => agentRef!.capabilities(),
    });
    const agent = new Agent(opts, node, processes, { tcp: tracer, l7, spans, tls, nat }, sender, collectors, http);
    agentRef = agent;

    let scans = 0;
    agent.every(opts.processScanIntervalMs ?? PROCESS_SCAN_INTERVAL_MS, async () => {
      await processes.scan();
      // New processes every round; all of them again now and then for a libssl loaded late (dlopen).
      const full = ++scans % TLS_FULL_RESCAN_EVERY === 0;
      await tls?.check(full ? processes.all() : processes.readInLastScan(), full);
    });
    agent.every(LISTEN_SCAN_INTERVAL_MS, async () => {
      const r = await listenScanner.scan(listedProcesses(processes));
      listens.reconcile(r.listens);
      addresses = r.addressesByNetns;
    });
    if (sender) {
      agent.push();
      agent.every(opts.scrapeIntervalMs, async () => agent.push());
    }
    return agent;
  }

  /** Families with the labels every agent metric carries. Container series also get app_id. */
  gather(): MetricFamily[] {
    const families = gather(this.collectors).map((f) => ({
      ...f,
      samples: f.samples.map((s) => {
        const appId = s.labels.container_id ? this.processes.container(s.labels.container_id)?.appId : undefined;
        return appId ? { value: s.value, labels: { ...s.labels, app_id: appId } } : s;
      }),
    }));
    return withLabels(families, { machine_id: this.node.machineId, system_uuid: this.node.systemUuid });
  }

  metricsText(): string {
    return renderPrometheusText(this.gather());
  }

  capabilities(): unknown {
    return {
      node: { hostname: this.node.hostname, kernel: this.node.kernelVersion, machineId: this.node.machineId },
      programs: [...this.kernel.tcp.capabilities(), ...(this.kernel.l7?.capabilities() ?? [])],
      counters: { tcp: this.kernel.tcp.counters(), l7: this.kernel.l7?.counters() ?? {} },
      tls: this.kernel.tls?.targets().filter((t) => t.symbols.length > 0 || t.error) ?? [],
    };
  }

  /** Takes a scrape and queues it for the collector. */
  push(): void {
    if (!this.sender) return;
    const now = Date.now();
    const req = toWriteRequest(this.gather(), now, { instance: this.node.instance, job: 'rootsight-agent' });
    req.timeseries.push({ labels: [{ name: '__name__', value: 'up' }, { name: 'instance', value: this.node.instance }, { name: 'job', value: 'rootsight-agent' }], samples: [{ value: 1, timestampMs: now }] });
    this.sender.enqueue(snappyCompress(encodeWriteRequest(req)), req.timeseries.length);
  }

  /** Scrapes now and waits until the collector has accepted everything queued, spans too (tests, shutdown). */
  async pushNow(timeoutMs = 10_000): Promise<void> {
    if (!this.sender) throw new Error('no --collector-endpoint configured');
    this.push();
    await Promise.all([this.sender.flush(timeoutMs), this.kernel.spans?.flush(timeoutMs)]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.kernel.tcp.stop();
    this.kernel.l7?.stop();
    this.kernel.spans?.close();
    this.kernel.nat?.close();
    this.sender?.close();
    await new Promise<void>((r) => this.http.server.close(() => r()));
  }

  private every(ms: number, fn: () => unknown): void {
    let running = false;
    const t = setInterval(async () => {
      if (running || this.closed) return;
      running = true;
      try {
        await fn();
      } catch (e) {
        this.opts.log(`periodic task failed: ${(e as Error).message}`);
      } finally {
        running = false;
      }
    }, ms);
    t.unref();
    this.timers.push(t);
  }
}

/** Every known process with its namespace and container, for the /proc listen scan. */
function listedProcesses(processes: ProcessTable): ScannedProcess[] {
  const out: ScannedProcess[] = [];
  for (const c of processes.containers()) {
    for (const pid of c.pids) {
      const netns = processes.get(pid)?.netns;
      if (netns !== undefined) out.push({ pid, netns, containerId: c.containerId });
    }
  }
  return out;
}

function netnsInode(path: string): number {
  try {
    const m = /\[(\d+)\]/.exec(readlinkSync(path));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Outbound events carry the connecting pid (the kernel records it in connect()'s
 * context). Inbound ones run in softirq: use the socket's cgroup, then the listener.
 */
function ownerOf(processes: ProcessTable, listens: ListenTable, e: TcpEvent): string | undefined {
  if (e.pid) {
    const c = processes.containerOfPid(e.pid);
    if (c) return c.containerId;
  }
  const byCgroup = processes.containerOfCgroupId(e.cgroupId);
  if (byCgroup) return byCgroup.containerId;
  if (e.direction === 'inbound') return listens.ownerOf(e.netns, e.saddr, e.sport);
  return undefined;
}

/** conntrack lookups through the native addon; without the addon, actual_destination stays the dialled address. */
function startNatResolver(opts: Omit<NatResolverOptions, 'netlink'>): NatResolver | undefined {
  try {
    return new NatResolver({ netlink: loadNativeAddon(), ...opts });
  } catch (err) {
    opts.log(`NAT resolution is off (actual_destination will equal destination): ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}
