// Finds listening TCP sockets and namespace addresses by reading /proc: one
// socket table per network namespace, then fd links of the processes in it to
// learn which process (and so which container) owns each listening inode.
import { readFile, readdir, readlink } from 'node:fs/promises';
import type { ListenSocket } from './listen-table.ts';
import { parseFibTrieLocalAddresses, parseIfInet6, parseProcNetTcp, TCP_STATE_LISTEN } from './proc-net-tcp.ts';

export interface ScannedProcess {
  pid: number;
  netns: number;
  containerId: string;
}

export interface ListenScanResult {
  listens: ListenSocket[];
  addressesByNetns: Map<number, string[]>;
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

export async function scanListens(processes: readonly ScannedProcess[], procRoot = '/proc'): Promise<ListenScanResult> {
  const byNetns = new Map<number, ScannedProcess[]>();
  for (const p of processes) {
    const list = byNetns.get(p.netns);
    if (list) list.push(p);
    else byNetns.set(p.netns, [p]);
  }
  const listens: ListenSocket[] = [];
  const addressesByNetns = new Map<number, string[]>();
  for (const [netns, procs] of byNetns) {
    const probe = procs[0]!.pid;
    const [tcp4, tcp6, fib, inet6] = await Promise.all([
      readOrEmpty(`${procRoot}/${probe}/net/tcp`), readOrEmpty(`${procRoot}/${probe}/net/tcp6`),
      readOrEmpty(`${procRoot}/${probe}/net/fib_trie`), readOrEmpty(`${procRoot}/${probe}/net/if_inet6`),
    ]);
    addressesByNetns.set(netns, [...parseFibTrieLocalAddresses(fib), ...parseIfInet6(inet6)]);
    const listening = new Map<number, { ip: string; port: number }>();
    for (const s of [...parseProcNetTcp(tcp4), ...parseProcNetTcp(tcp6)]) {
      if (s.state === TCP_STATE_LISTEN && s.inode > 0) listening.set(s.inode, { ip: s.localIp, port: s.localPort });
    }
    if (listening.size === 0) continue;
    for (const p of procs) {
      for (const inode of await socketInodesOf(procRoot, p.pid)) {
        const l = listening.get(inode);
        if (!l) continue;
        listens.push({ netns, ip: l.ip, port: l.port, containerId: p.containerId });
        listening.delete(inode);
      }
      if (listening.size === 0) break;
    }
  }
  return { listens, addressesByNetns };
}
