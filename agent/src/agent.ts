// The agent: kernel events → connection and listen tables → metrics, served
// on /metrics and pushed to the collector. Every part degrades on its own: no
// kernel programs still gives node and container metrics; no collector still
// serves /metrics.
import { readlinkSync } from 'node:fs';
import { encodeWriteRequest, remoteWriteHeaders, snappyCompress } from '@rootsight/common';
import { AgentSelfCollector } from './agent-self-collector.ts';
import { CgroupIdIndex } from './containers/cgroup-id-index.ts';
import { ContainerCollector } from './containers/container-collector.ts';
import { ProcessTable } from './procs/process-table.ts';
import { startAgentHttpEndpoint } from './export/agent-http-endpoint.ts';
import { gather, withLabels, type MetricCollector, type MetricFamily } from './export/metric-family.ts';
import { renderPrometheusText } from './export/prometheus-text.ts';
import { toWriteRequest } from './export/remote-write-request.ts';
import { PushQueue } from './export/push-queue.ts';
import { NodeCollector } from './host/node-collector.ts';
import { readNodeIdentity, type NodeIdentity } from './host/node-identity.ts';
import type { TcpEvent } from './kernel/tcp-event-decoder.ts';
import { TcpTracer } from './kernel/tcp-tracer.ts';
import { parsePortRanges } from './net/address.ts';
import { ListenScanner, readNamespaceAddresses, type ScannedProcess } from './net/listen-scanner.ts';
import { ListenTable } from './net/listen-table.ts';
import { TcpConnectionTable } from './net/tcp-connection-table.ts';
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
  bpfObjectPath?: string;
  log: (msg: string) => void;
}

const PROCESS_SCAN_INTERVAL_MS = 2000;
const LISTEN_SCAN_INTERVAL_MS = 15_000;

export class Agent {
  readonly url: string;
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;

  private constructor(
    private readonly opts: AgentOptions,
    private readonly node: NodeIdentity,
    private readonly processes: ProcessTable,
    private readonly listens: ListenTable,
    private readonly connections: TcpConnectionTable,
    private readonly tracer: TcpTracer,
    private readonly sender: PushQueue | undefined,
    private readonly collectors: MetricCollector[],
    private readonly http: { url: string; server: import('node:http').Server },
    private readonly hostNetns: number,
  ) {
    this.url = http.url;
  }

  static async start(opts: AgentOptions): Promise<Agent> {
    const procRoot = opts.procRoot ?? '/proc';
    const node = readNodeIdentity();
    // The agent runs in the host network namespace (hostNetwork in Kubernetes); pid 1's link is
    // the authority, but some sandboxes deny reading it, and then our own is the same answer.
    const hostNetns = netnsInode(`${procRoot}/1/ns/net`) || netnsInode(`${procRoot}/self/ns/net`);
    const processes = new ProcessTable({ procRoot, cgroupfsRoot: opts.cgroupfsRoot });
    await processes.scan();
    const listens = new ListenTable();
    const connections = new TcpConnectionTable({
      containerOf: (e) => ownerOf(processes, listens, e) ?? exitedOwners.get(exitedKey(e)),
      isHostNetns: (ns) => ns === hostNetns,
    }, { ephemeralPorts: parsePortRanges(opts.ephemeralPortRange) });

    // Listen state first, so the first connection events already find their callee.
    const listenScanner = new ListenScanner(procRoot);
    const first = await listenScanner.scan(listedProcesses(processes));
    listens.reconcile(first.listens);
    let addresses = first.addressesByNetns;

    const apply = (e: TcpEvent) => {
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
    // Pids the kernel names that were gone before /proc could be read (a curl that connects
    // and exits within milliseconds): named from their cgroup and comm instead, and remembered.
    // Keyed by pid, comm and cgroup so a reused pid is not mistaken for the exited process.
    const exitedOwners = new Map<string, string | undefined>();
    const exitedKey = (e: TcpEvent) => `${e.pid}|${e.comm}|${e.cgroupId}`;
    const cgroupIds = new CgroupIdIndex(() => processes.cgroupV2Root);
    const events = new OrderedEventQueue<TcpEvent>({
      pidToResolve: (e) => (e.pid && !processes.get(e.pid) && !exitedOwners.has(exitedKey(e)) ? e.pid : undefined),
      resolvePid: async (pid) => {
        if (await processes.lookupPid(pid)) return;
        const e = events.current;
        if (exitedOwners.size > 10_000) exitedOwners.clear();
        if (e) exitedOwners.set(exitedKey(e), await cgroupIds.containerOf(e.cgroupId, e.comm));
      },
      apply,
    });
    const tracer = TcpTracer.start({ objectPath: opts.bpfObjectPath, onEvent: (e) => events.push(e), log: opts.log });
    for (const c of tracer.capabilities()) {
      if (!c.attached) opts.log(`kernel program ${c.program} (${c.attachPoint}) is not available: ${c.error ?? 'unknown reason'}; continuing without it`);
    }

    const sender = opts.collectorEndpoint
      ? new PushQueue({ url: `${opts.collectorEndpoint.replace(/\/+$/, '')}/v1/metrics`, what: 'remote write', headers: remoteWriteHeaders, apiKey: opts.apiKey, log: opts.log })
      : undefined;

    const collectors: MetricCollector[] = [
      new NodeCollector(node),
      new ContainerCollector(processes, opts.minContainerAgeMs),
      { collect: () => connections.collect() },
      { collect: () => [listens.collect((ns) => addresses.get(ns) ?? [], hostNetns)] },
      new AgentSelfCollector({
        capabilities: () => tracer.capabilities(),
        kernelCounters: () => tracer.counters(),
        skipped: () => ({ ...connections.skipped, listen_overflow: listens.overflow, event_queue_full: events.dropped }),
        remoteWrite: () => sender?.stats,
        trackedConnections: () => connections.trackedConnections,
      }),
    ];

    let agentRef: Agent | undefined;
    const http = await startAgentHttpEndpoint(opts.listen, {
      metricsText: () => agentRef!.metricsText(),
      capabilities: () => agentRef!.capabilities(),
    });
    const agent = new Agent(opts, node, processes, listens, connections, tracer, sender, collectors, http, hostNetns);
    agentRef = agent;

    agent.every(PROCESS_SCAN_INTERVAL_MS, () => processes.scan());
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
      programs: this.tracer.capabilities(),
      counters: this.tracer.counters(),
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

  /** Scrapes now and waits until the collector has accepted everything queued (tests, shutdown). */
  async pushNow(timeoutMs = 10_000): Promise<void> {
    if (!this.sender) throw new Error('no --collector-endpoint configured');
    this.push();
    await this.sender.flush(timeoutMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.tracer.stop();
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
