// Finds listening TCP sockets and namespace addresses by reading /proc: one
// socket table per network namespace, then fd links of the processes in it to
// learn which process (and so which container) owns each listening inode.
import { readFile, readdir, readlink } from 'node:fs/promises';
import type { ListenSocket } from './listen-table.ts';
import type { ExistingConnection } from './tcp-connection-table.ts';
import { parseFibTrieLocalAddresses, parseIfInet6, parseProcNetTcp, TCP_STATE_ESTABLISHED, TCP_STATE_LISTEN, type ProcTcpSocket } from './proc-net-tcp.ts';

export interface ScannedProcess {
  pid: number;
  netns: number;
  containerId: string;
}

export interface ListenScanResult {
  listens: ListenSocket[];
  addressesByNetns: Map<number, string[]>;
  /** With { outbound: true }: established connections whose local port listens nowhere in their
   * namespace (this end dialled them), with the process and container that hold them. */
  outbound: ExistingConnection[];
}

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

async function socketInodesOf(procRoot: string, pid: number): Promise<number[]> {
  let fds: string[];
  try {
    fds = await readdir(`${procRoot}/${pid}/fd`);
  } catch {
    return [];
  }
  const inodes: number[] = [];
  for (const fd of fds) {
    try {
      const target = await readlink(`${procRoot}/${pid}/fd/${fd}`);
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m) inodes.push(Number(m[1]));
    } catch {
      // fd closed meanwhile
    }
  }
  return inodes;
}

/** The IP addresses of the network namespace that pid lives in. */
export async function readNamespaceAddresses(pid: number, procRoot = '/proc'): Promise<string[]> {
  const [fib, inet6] = await Promise.all([readOrEmpty(`${procRoot}/${pid}/net/fib_trie`), readOrEmpty(`${procRoot}/${pid}/net/if_inet6`)]);
  return [...parseFibTrieLocalAddresses(fib), ...parseIfInet6(inet6)];
}

/**
 * Owners of listening sockets are found by reading processes' fd links, which costs one readlink
 * per open fd. Inode owners are remembered between scans, so the links are read again only in a
 * namespace that has a listening socket we have not attributed yet.
 */
export class ListenScanner {
  private owners = new Map<number, { pid: number; containerId: string }>();

  constructor(private readonly procRoot = '/proc') {}

  async scan(processes: readonly ScannedProcess[], opts: { outbound?: boolean } = {}): Promise<ListenScanResult> {
    const byNetns = new Map<number, ScannedProcess[]>();
    const alive = new Set<number>();
    for (const p of processes) {
      alive.add(p.pid);
      const list = byNetns.get(p.netns);
      if (list) list.push(p);
      else byNetns.set(p.netns, [p]);
    }
    const listens: ListenSocket[] = [];
    const outbound: ExistingConnection[] = [];
    const addressesByNetns = new Map<number, string[]>();
    const owners = new Map<number, { pid: number; containerId: string }>();
    // Listen owners and dialled connections are both found through fd links: read each process's once.
    const socketsOfPid = new Map<number, Promise<number[]>>();
    const inodesOf = (pid: number) => {
      let p = socketsOfPid.get(pid);
      if (!p) socketsOfPid.set(pid, (p = socketInodesOf(this.procRoot, pid)));
      return p;
    };
    for (const [netns, procs] of byNetns) {
      const probe = `${this.procRoot}/${procs[0]!.pid}/net`;
      const [tcp4, tcp6, addresses] = await Promise.all([
        readOrEmpty(`${probe}/tcp`), readOrEmpty(`${probe}/tcp6`), readNamespaceAddresses(procs[0]!.pid, this.procRoot),
      ]);
      addressesByNetns.set(netns, addresses);
      const unattributed = new Map<number, { ip: string; port: number }>();
      const sockets = [...parseProcNetTcp(tcp4), ...parseProcNetTcp(tcp6)];
      if (opts.outbound) outbound.push(...await dialled(sockets, netns, procs, inodesOf));
      for (const s of sockets) {
        if (s.state !== TCP_STATE_LISTEN || s.inode <= 0) continue;
        const known = this.owners.get(s.inode);
        if (known && alive.has(known.pid)) {
          owners.set(s.inode, known);
          listens.push({ netns, ip: s.localIp, port: s.localPort, containerId: known.containerId });
        } else {
          unattributed.set(s.inode, { ip: s.localIp, port: s.localPort });
        }
      }
      for (const p of procs) {
        if (unattributed.size === 0) break;
        for (const inode of await inodesOf(p.pid)) {
          const l = unattributed.get(inode);
          if (!l) continue;
          owners.set(inode, { pid: p.pid, containerId: p.containerId });
          listens.push({ netns, ip: l.ip, port: l.port, containerId: p.containerId });
          unattributed.delete(inode);
        }
      }
    }
    this.owners = owners;
    return { listens, addressesByNetns, outbound };
  }
}

/**
 * The namespace's connections this end dialled, each with the process that holds its socket
 * (found through fd links: processes of one namespace may belong to different containers).
 */
async function dialled(sockets: readonly ProcTcpSocket[], netns: number, procs: readonly ScannedProcess[],
  inodesOf: (pid: number) => Promise<number[]>): Promise<ExistingConnection[]> {
  const listening = new Set(sockets.filter((s) => s.state === TCP_STATE_LISTEN).map((s) => s.localPort));
  const byInode = new Map(sockets.filter((s) => s.state === TCP_STATE_ESTABLISHED && s.inode > 0 && !listening.has(s.localPort)).map((s) => [s.inode, s]));
  const out: ExistingConnection[] = [];
  for (const p of procs) {
    if (byInode.size === 0) break;
    for (const inode of await inodesOf(p.pid)) {
      const s = byInode.get(inode);
      if (!s) continue;
      byInode.delete(inode);
      out.push({ pid: p.pid, netns, containerId: p.containerId, saddr: s.localIp, sport: s.localPort, daddr: s.remoteIp, dport: s.remotePort });
    }
  }
  return out;
}
