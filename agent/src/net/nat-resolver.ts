// Where an outbound connection really goes after NAT: its actual_destination. A client dials a
// virtual address (a Kubernetes Service's ClusterIP, a DNAT rule's address); conntrack knows
// which real ip:port the kernel sent it to. The entry lives in the namespace whose rules
// translated it: the host's (kube-proxy) or the process's own (a sidecar's rules), so the host
// is asked first, then the process's namespace, as Coroot's agent does.
//
// Each lookup is one netlink round trip from user space (no kprobes here to watch conntrack from
// the kernel). A namespace that tracks no connections at all cannot have translated one, so it
// is not asked: whether it tracks any is read once a second per namespace.
import { ProblemLog } from '../procs/problem-log.ts';
import { joinHostPort } from './address.ts';
import { conntrackCountRequest, conntrackGetRequest, NETLINK_NETFILTER, parseConntrackAnswer, parseConntrackCount } from './conntrack.ts';

/** The addon's netlink socket calls (agent/native/src/netlink.cc). */
export interface NetlinkSockets {
  netlinkOpen(protocol: number, netnsPath?: string): number;
  netlinkRequest(fd: number, request: Buffer): Buffer;
  netlinkClose(fd: number): void;
}

export interface NatResolverOptions {
  netlink: NetlinkSockets;
  /** Inode of the host network namespace. */
  hostNetns: number;
  /** Inode of the agent's own network namespace: when it is the host's, its sockets need no setns
   * (some sandboxes deny opening pid 1's namespace even to root). */
  ownNetns?: number;
  procRoot?: string;
  log: (message: string) => void;
  now?: () => number;
}

/** An outbound connection as its TCP event has it. */
export interface OutboundConnection {
  pid: number;
  netns: number;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
}

interface NamespaceSocket {
  /** undefined: the socket could not be made (said once in the log), the namespace is skipped. */
  fd: number | undefined;
  tracksConnections: boolean;
  countReadMs: number;
  lastUsedMs: number;
}

const COUNT_TTL_MS = 1000;
/** A namespace's socket keeps the namespace alive: close it once unused this long. */
const IDLE_CLOSE_MS = 120_000;
const MAX_SOCKETS = 1024;

export class NatResolver {
  private readonly sockets = new Map<number, NamespaceSocket>();
  private seq = 1;
  private lastSweepMs = 0;
  private readonly problems: ProblemLog;
  /** Lookups made, translations found, namespaces not asked (tracking nothing), failures. */
  readonly stats = { lookups: 0, translated: 0, skipped: 0, errors: 0 };

  constructor(private readonly opts: NatResolverOptions) {
    this.problems = new ProblemLog(opts.log);
  }

  /** The post-NAT host:port of c, or undefined when no translation is known (then it is its destination). */
  actualDestination(c: OutboundConnection): string | undefined {
    const namespaces = c.netns === this.opts.hostNetns || !c.netns ? [this.opts.hostNetns] : [this.opts.hostNetns, c.netns];
    for (const ns of namespaces) {
      const sock = this.socketFor(ns, c.pid);
      if (sock?.fd === undefined || !this.tracksConnections(sock, sock.fd)) continue;
      const seq = this.nextSeq();
      const request = conntrackGetRequest({ src: c.saddr, sport: c.sport, dst: c.daddr, dport: c.dport }, seq);
      if (!request) return undefined;
      this.stats.lookups++;
      const answer = this.request(sock.fd, request, seq, parseConntrackAnswer);
      if (answer?.kind === 'absent') continue;
      if (!answer || answer.kind === 'error') {
        this.stats.errors++;
        if (answer) this.problems.report(`lookup ${answer.reason}`, `conntrack lookup in network namespace ${ns} failed: ${answer.reason}; such connections keep their dialled address as actual_destination`);
        continue;
      }
      const actual = answer.replySource;
      if (actual.ip === c.daddr && actual.port === c.dport) return undefined;
      this.stats.translated++;
      return joinHostPort(actual.ip, actual.port);
    }
    return undefined;
  }

  get openSockets(): number {
    let n = 0;
    for (const s of this.sockets.values()) if (s.fd !== undefined) n++;
    return n;
  }

  close(): void {
    for (const s of this.sockets.values()) if (s.fd !== undefined) this.opts.netlink.netlinkClose(s.fd);
    this.sockets.clear();
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Sends one request; the parsed answer, or undefined after a socket error (logged once per kind). */
  private request<T>(fd: number, request: Buffer, seq: number, parse: (buf: Buffer, seq: number) => T): T | undefined {
    try {
      return parse(this.opts.netlink.netlinkRequest(fd, request), seq);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.problems.report(`request ${reason}`, `conntrack request failed: ${reason}`);
      return undefined;
    }
  }

  private tracksConnections(sock: NamespaceSocket, fd: number): boolean {
    const now = this.now();
    if (now - sock.countReadMs >= COUNT_TTL_MS) {
      const seq = this.nextSeq();
      const count = this.request(fd, conntrackCountRequest(seq), seq, parseConntrackCount);
      // An unreadable count is taken as "tracks some": the lookup itself then decides.
      sock.tracksConnections = count !== 0;
      sock.countReadMs = now;
    }
    if (!sock.tracksConnections) this.stats.skipped++;
    return sock.tracksConnections;
  }

  private socketFor(ns: number, pid: number): NamespaceSocket | undefined {
    const now = this.now();
    if (now - this.lastSweepMs > IDLE_CLOSE_MS / 4) this.closeIdle(now);
    let sock = this.sockets.get(ns);
    if (!sock) {
      // The host's namespace through pid 1, another through the connecting process (if it still runs).
      if (ns !== this.opts.hostNetns && !pid) return undefined;
      const path = ns === this.opts.ownNetns ? undefined : `${this.opts.procRoot ?? '/proc'}/${ns === this.opts.hostNetns ? 1 : pid}/ns/net`;
      if (this.sockets.size >= MAX_SOCKETS) return undefined;
      let fd: number | undefined;
      try {
        fd = this.opts.netlink.netlinkOpen(NETLINK_NETFILTER, path);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        // A process that exited took its namespace path with it: try again with a later connection.
        if (/ENOENT|errno 2\b|ESRCH|errno 3\b/.test(reason)) return undefined;
        this.problems.report(`open ${reason.replace(/\/\d+\//, '/<pid>/')}`, `NAT resolution is off for network namespace ${ns}: ${reason}`);
      }
      sock = { fd, tracksConnections: false, countReadMs: -Infinity, lastUsedMs: now };
      this.sockets.set(ns, sock);
    }
    sock.lastUsedMs = now;
    return sock;
  }

  private closeIdle(now: number): void {
    this.lastSweepMs = now;
    for (const [ns, s] of this.sockets) {
      if (ns === this.opts.hostNetns || now - s.lastUsedMs < IDLE_CLOSE_MS) continue;
      if (s.fd !== undefined) this.opts.netlink.netlinkClose(s.fd);
      this.sockets.delete(ns);
    }
  }
}
