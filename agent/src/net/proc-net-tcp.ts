// Parsers for the per-network-namespace views under /proc/<pid>/net: TCP socket
// tables and the namespace's own IP addresses. All tolerate garbage lines.
import { formatIpv6 } from './address.ts';

export const TCP_STATE_ESTABLISHED = 0x01;
export const TCP_STATE_LISTEN = 0x0a;

export interface ProcTcpSocket {
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  state: number;
  inode: number;
}

/** /proc/net/tcp stores addresses as 32-bit words in host byte order (little-endian here). */
function decodeHexAddress(hex: string): string | undefined {
  if (hex.length === 8) {
    const n = Number.parseInt(hex, 16);
    if (Number.isNaN(n)) return undefined;
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join('.');
  }
  if (hex.length === 32) {
    const bytes: number[] = [];
    for (let w = 0; w < 4; w++) {
      const n = Number.parseInt(hex.slice(w * 8, w * 8 + 8), 16);
      if (Number.isNaN(n)) return undefined;
      bytes.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
    }
    return formatIpv6(Uint8Array.from(bytes));
  }
  return undefined;
}

export function parseProcNetTcp(text: string): ProcTcpSocket[] {
  const out: ProcTcpSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [lAddr, lPort] = f[1]!.split(':');
    const [rAddr, rPort] = f[2]!.split(':');
    if (!lAddr || !lPort || !rAddr || !rPort) continue;
    const localIp = decodeHexAddress(lAddr);
    const remoteIp = decodeHexAddress(rAddr);
    const state = Number.parseInt(f[3]!, 16);
    const inode = Number(f[9]);
    if (!localIp || !remoteIp || Number.isNaN(state) || !Number.isFinite(inode)) continue;
    out.push({ localIp, localPort: Number.parseInt(lPort, 16), remoteIp, remotePort: Number.parseInt(rPort, 16), state, inode });
  }
  return out;
}

/** IPv4 addresses of the namespace: the "/32 host LOCAL" leaves of /proc/net/fib_trie. */
export function parseFibTrieLocalAddresses(text: string): string[] {
  const found = new Set<string>();
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    if (!/\/32 host LOCAL/.test(lines[i]!)) continue;
    const m = /([0-9]{1,3}(?:\.[0-9]{1,3}){3})\s*$/.exec(lines[i - 1]!);
    if (m) found.add(m[1]!);
  }
  return [...found];
}

/** IPv6 addresses of the namespace from /proc/net/if_inet6 (address, ifindex, prefix, scope, flags, name). */
export function parseIfInet6(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || f[0]!.length !== 32 || !/^[0-9a-f]+$/i.test(f[0]!)) continue;
    const bytes: number[] = [];
    for (let i = 0; i < 32; i += 2) bytes.push(Number.parseInt(f[0]!.slice(i, i + 2), 16));
    out.push(formatIpv6(Uint8Array.from(bytes)));
  }
  return out;
}
