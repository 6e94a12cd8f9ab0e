// DNS (RFC 1035) over UDP, or over TCP with its 2-byte length prefix. The request names the
// question; the response's RCODE is the status, and its A/AAAA answers are returned.
import type { L7Parser, L7RequestInfo, L7ResponseInfo } from './l7-parser.ts';
import { formatIpv6 } from '../net/address.ts';
import { u16be } from './util.ts';

/** Go x/net/dnsmessage Type names. Unknown types print as their number, as Go does. */
const TYPE_NAMES: Record<number, string> = {
  1: 'TypeA', 2: 'TypeNS', 5: 'TypeCNAME', 6: 'TypeSOA', 11: 'TypeWKS', 12: 'TypePTR', 13: 'TypeHINFO',
  14: 'TypeMINFO', 15: 'TypeMX', 16: 'TypeTXT', 28: 'TypeAAAA', 33: 'TypeSRV', 41: 'TypeOPT',
  64: 'TypeSVCB', 65: 'TypeHTTPS', 252: 'TypeAXFR', 255: 'TypeALL',
};
export function dnsTypeName(t: number): string { return TYPE_NAMES[t] ?? String(t); }

const RCODES = ['ok', 'format_error', 'servfail', 'nxdomain', 'not_implemented', 'refused'];

const MAX_NAME = 255;
const MAX_POINTERS = 32;

/** Reads a (possibly compressed) name at off within msg. Loop-safe. */
export function readName(msg: Uint8Array, off: number): { name: string; next: number } | undefined {
  let p = off;
  let next = -1;
  let jumps = 0;
  let len = 0;
  const labels: string[] = [];
  for (;;) {
    if (p >= msg.length) return undefined;
    const l = msg[p];
    if (l === 0) { if (next < 0) next = p + 1; break; }
    const kind = l & 0xc0;
    if (kind === 0xc0) {
      if (p + 1 >= msg.length || ++jumps > MAX_POINTERS) return undefined;
      const target = ((l & 0x3f) << 8) | msg[p + 1];
      if (next < 0) next = p + 2;
      // A pointer must go backwards from where this name started reading: forbids loops outright.
      if (target >= p) return undefined;
      p = target;
      continue;
    }
    if (kind !== 0) return undefined; // 0x40 / 0x80 label types are obsolete
    if (p + 1 + l > msg.length) return undefined;
    len += l + 1;
    if (len > MAX_NAME) return undefined;
    let s = '';
    for (let i = p + 1; i <= p + l; i++) {
      const c = msg[i];
      s += c === 0x2e || c < 0x21 || c > 0x7e ? `\\${c.toString().padStart(3, '0')}` : String.fromCharCode(c);
    }
    labels.push(s);
    p += 1 + l;
  }
  return { name: labels.join('.'), next };
}

interface Parsed {
  id: number; qr: boolean; opcode: number; rcode: number; qdcount: number; ancount: number;
  qname?: string; qtype?: number; answersStart?: number; msg: Uint8Array;
}

/** Strips a TCP length prefix when it matches the payload. */
function message(b: Uint8Array): Uint8Array {
  if (b.length >= 14 && u16be(b, 0) === b.length - 2) return b.subarray(2);
  return b;
}

function parse(b: Uint8Array): Parsed | undefined {
  const msg = message(b);
  if (msg.length < 12) return undefined;
  const flags = u16be(msg, 2);
  const p: Parsed = {
    id: u16be(msg, 0), qr: (flags & 0x8000) !== 0, opcode: (flags >> 11) & 0xf, rcode: flags & 0xf,
    qdcount: u16be(msg, 4), ancount: u16be(msg, 6), msg,
  };
  if (p.opcode !== 0 || p.qdcount !== 1) return p;
  const q = readName(msg, 12);
  if (q && q.next + 4 <= msg.length) {
    p.qname = q.name;
    p.qtype = u16be(msg, q.next);
    p.answersStart = q.next + 4;
  }
  return p;
}

function header6(b: Uint8Array): { qr: boolean; opcode: number; qdcount: number } | undefined {
  const msg = message(b);
  if (msg.length < 6) return undefined;
  const flags = u16be(msg, 2);
  return { qr: (flags & 0x8000) !== 0, opcode: (flags >> 11) & 0xf, qdcount: u16be(msg, 4) };
}

export interface DnsInfo extends L7RequestInfo { id: number }

/**
 * Question of a query — or of a response (the kernel ships the response payload for DNS).
 * method = Go type name, domain = question name without the trailing dot.
 */
export function parseDnsRequest(b: Uint8Array): DnsInfo | undefined {
  const p = parse(b);
  if (!p || p.opcode !== 0 || p.qdcount !== 1 || p.qname === undefined || p.qtype === undefined) return undefined;
  return { id: p.id, method: dnsTypeName(p.qtype), domain: p.qname };
}

export interface DnsResponseInfo extends L7ResponseInfo {
  /** ANCOUNT: records in the answer section (of any type). */
  answers: number;
}

export function parseDnsResponse(b: Uint8Array, request?: L7RequestInfo): DnsResponseInfo | undefined {
  const p = parse(b);
  if (!p || !p.qr || p.opcode !== 0 || p.qdcount !== 1) return undefined;
  const req = request as DnsInfo | undefined;
  if (req?.id !== undefined && req.id !== p.id) return undefined;
  const status = RCODES[p.rcode];
  if (status === undefined) return undefined; // other RCODEs are dropped (reference §1.5)
  const r: DnsResponseInfo = { status, code: p.rcode, answers: p.ancount };
  const addresses: string[] = [];
  let off = p.answersStart ?? -1;
  const msg = p.msg;
  for (let i = 0; off >= 0 && i < p.ancount && i < 256; i++) {
    const n = readName(msg, off);
    if (!n || n.next + 10 > msg.length) break;
    const type = u16be(msg, n.next);
    const cls = u16be(msg, n.next + 2);
    const rdlen = u16be(msg, n.next + 8);
    const rd = n.next + 10;
    if (rd + rdlen > msg.length) break;
    if (cls === 1 && type === 1 && rdlen === 4) addresses.push(`${msg[rd]}.${msg[rd + 1]}.${msg[rd + 2]}.${msg[rd + 3]}`);
    else if (cls === 1 && type === 28 && rdlen === 16) addresses.push(formatIpv6(msg.subarray(rd, rd + 16)));
    off = rd + rdlen;
  }
  if (addresses.length) r.addresses = addresses;
  return r;
}

export const dnsParser: L7Parser = {
  protocol: 'dns',
  detectRequest(b) {
    const h = header6(b);
    return h !== undefined && !h.qr && h.opcode === 0 && h.qdcount === 1;
  },
  parseRequest: parseDnsRequest,
  parseResponse: parseDnsResponse,
  responseUsesRequest: true,
};
