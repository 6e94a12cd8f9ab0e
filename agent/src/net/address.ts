// Address helpers shared by the connection and listen tables.
import { isIPv4, isIPv6 } from 'node:net';

/** host:port the way Go's net.JoinHostPort writes it (IPv6 in brackets), as metric labels expect. */
export function joinHostPort(ip: string, port: number): string {
  return isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The ip and port of a host:port as joinHostPort writes it; undefined when it is not one. */
export function splitHostPort(address: string): { ip: string; port: number } | undefined {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  const host = address.slice(0, colon);
  const ip = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const bracketed = host.startsWith('[');
  return (isIPv4(ip) && !bracketed) || (isIPv6(ip) && bracketed) ? { ip, port } : undefined;
}

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

/** Not private (RFC 1918, 100.64.0.0/10 shared, fc00::/7 unique local), loopback, link-local or unspecified. */
export function isPublicIp(ip: string): boolean {
  const parsed = ipBytes(ip);
  if (!parsed) return false;
  // Canonical text, for the text-based checks: "0:0:0:0:0:0:0:1" reads "::1", and an IPv4-mapped
  // address comes back as the IPv4 address it carries (judged as such below).
  const text = parsed.length === 4 ? ip : formatIpv6(parsed);
  if (isLoopback(text) || isLinkLocal(text)) return false;
  const b = text.includes(':') ? parsed : parsed.subarray(parsed.length - 4);
  if (b.length === 4) {
    const [a, c] = [b[0]!, b[1]!];
    return !(a === 10 || a === 0 || (a === 172 && c >= 16 && c < 32) || (a === 192 && c === 168) || (a === 100 && c >= 64 && c < 128));
  }
  if (b.every((x) => x === 0)) return false; // ::
  return (b[0]! & 0xfe) !== 0xfc;
}

export function isLinkLocal(ip: string): boolean {
  return ip.startsWith('169.254.') || /^fe[89ab][0-9a-f]:/i.test(ip);
}

export function isWildcard(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

export interface PortRange { from: number; to: number }

/** Parses "32768-60999" or "1000-2000,3000-4000" (spaces or commas). */
export function parsePortRanges(spec: string): PortRange[] {
  const ranges: PortRange[] = [];
  for (const part of spec.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`invalid port range "${part}": expected FROM-TO, e.g. 32768-60999`);
    const from = Number(m[1]);
    const to = Number(m[2] ?? m[1]);
    if (from > to || to > 65535) throw new Error(`invalid port range "${part}": FROM must be <= TO <= 65535`);
    ranges.push({ from, to });
  }
  return ranges;
}

export function inRanges(port: number, ranges: readonly PortRange[]): boolean {
  return ranges.some((r) => port >= r.from && port <= r.to);
}

/** Dotted-quad text of 4 address bytes at offset (network order). */
export function formatIpv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** RFC 5952 text form of 16 address bytes at offset; IPv4-mapped (::ffff:a.b.c.d) comes back as plain IPv4. */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  const b = (i: number) => bytes[offset + i]!;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b(i) << 8) | b(i + 1));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `${b(12)}.${b(13)}.${b(14)}.${b(15)}`;
  // The longest run of two or more zero groups becomes "::" (the first one on a tie).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** The 4 or 16 bytes of an IPv4 or IPv6 address in text form (network order); undefined if it is not one. */
export function ipBytes(ip: string): Uint8Array | undefined {
  if (isIPv4(ip)) return Uint8Array.from(ip.split('.').map(Number));
  if (!isIPv6(ip) || ip.includes('%')) return undefined; // a zone (fe80::1%eth0) names no bytes
  // A dotted IPv4 tail (::ffff:10.0.0.1) stands for the last two groups.
  let text = ip;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const before = groups(head);
  const after = tail === undefined ? [] : groups(tail);
  const all = [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
  const out = new Uint8Array(16);
  all.forEach((g, i) => { out[2 * i] = g >> 8; out[2 * i + 1] = g & 0xff; });
  return out;
}
