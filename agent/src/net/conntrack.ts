// Conntrack lookups over netlink (ctnetlink, NETLINK_NETFILTER): the request for one connection's
// entry and the parsing of the kernel's answer. A connection is asked for as its client sent it
// (the socket's own source and destination); the entry's reply direction then comes from where
// NAT really delivered it, so the reply's source is the actual destination (a Kubernetes
// Service's ClusterIP:port comes back as the chosen pod's ip:port).
//
// Message layout (little-endian host order but for addresses and ports): a 16-byte nlmsghdr
// {len u32, type u16, flags u16, seq u32, pid u32}, a 4-byte nfgenmsg {family u8, version u8,
// res_id be16}, then netlink attributes {len u16, type u16, payload, padding to 4}.
import { formatIpv4, formatIpv6, ipBytes } from './address.ts';

export const NETLINK_NETFILTER = 12;

const NLMSG_HDR = 16;
const NFGENMSG = 4;
const NLA_HDR = 4;
const NLMSG_ERROR = 2;
const NLM_F_REQUEST = 1;
/** NFNL_SUBSYS_CTNETLINK << 8 with IPCTNL_MSG_CT_GET / IPCTNL_MSG_CT_NEW (what a GET is answered with). */
const CT_GET = (1 << 8) | 1;
const CT_NEW = (1 << 8) | 0;
const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO_TCP = 6;
const ENOENT = 2;
/** Attribute type bits that are flags, not the type (NLA_F_NESTED, NLA_F_NET_BYTEORDER). */
const NLA_TYPE_MASK = 0x3fff;
const NLA_F_NESTED = 0x8000;

/** enum ctattr_type / ctattr_tuple / ctattr_ip / ctattr_l4proto (linux/netfilter/nfnetlink_conntrack.h). */
const CTA_TUPLE_ORIG = 1, CTA_TUPLE_REPLY = 2;
const CTA_TUPLE_IP = 1, CTA_TUPLE_PROTO = 2;
const CTA_IP_V4_SRC = 1, CTA_IP_V4_DST = 2, CTA_IP_V6_SRC = 3, CTA_IP_V6_DST = 4;
const CTA_PROTO_NUM = 1, CTA_PROTO_SRC_PORT = 2, CTA_PROTO_DST_PORT = 3;

/** A TCP connection as its client's socket has it. Addresses in text form, both IPv4 or both IPv6. */
export interface ConnectionTuple {
  src: string;
  sport: number;
  dst: string;
  dport: number;
}

export interface Endpoint {
  ip: string;
  port: number;
}

export type ConntrackAnswer =
  /** The entry exists; replySource is where the connection's packets are actually delivered. */
  | { kind: 'found'; replySource: Endpoint }
  /** No entry: conntrack does not track this connection (in that namespace). */
  | { kind: 'absent' }
  /** The kernel refused the request (errno), or the answer could not be read (errno 0). */
  | { kind: 'error'; errno: number; reason: string };

/** Sizes of the GET request's nested attributes (headers included) for addresses of `a` bytes. */
function getRequestSizes(a: number) {
  const ip = NLA_HDR + 2 * (NLA_HDR + a);
  const proto = NLA_HDR + 3 * 8; // protocol number (1 byte), two ports (2 bytes): each padded to 8
  return { ip, proto, tuple: NLA_HDR + ip + proto };
}

/**
 * The GET request for t's entry, or undefined when t's addresses are not both IPv4 or both IPv6.
 * Written into one buffer in place: this runs once per new outbound connection.
 */
export function conntrackGetRequest(t: ConnectionTuple, seq: number): Buffer | undefined {
  const src = ipBytes(t.src), dst = ipBytes(t.dst);
  if (!src || !dst || src.length !== dst.length) return undefined;
  const a = src.length;
  const size = getRequestSizes(a);
  const b = Buffer.alloc(NLMSG_HDR + NFGENMSG + size.tuple);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(CT_GET, 4);
  b.writeUInt16LE(NLM_F_REQUEST, 6);
  b.writeUInt32LE(seq >>> 0, 8);
  b[NLMSG_HDR] = a === 4 ? AF_INET : AF_INET6;
  let o = NLMSG_HDR + NFGENMSG;
  const header = (len: number, type: number) => {
    b.writeUInt16LE(len, o);
    b.writeUInt16LE(type, o + 2);
    o += NLA_HDR;
  };
  header(size.tuple, CTA_TUPLE_ORIG | NLA_F_NESTED);
  header(size.ip, CTA_TUPLE_IP | NLA_F_NESTED);
  header(NLA_HDR + a, a === 4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC);
  b.set(src, o);
  o += a;
  header(NLA_HDR + a, a === 4 ? CTA_IP_V4_DST : CTA_IP_V6_DST);
  b.set(dst, o);
  o += a;
  header(size.proto, CTA_TUPLE_PROTO | NLA_F_NESTED);
  header(NLA_HDR + 1, CTA_PROTO_NUM);
  b[o] = IPPROTO_TCP;
  o += 4;
  header(NLA_HDR + 2, CTA_PROTO_SRC_PORT);
  b.writeUInt16BE(t.sport, o);
  o += 4;
  header(NLA_HDR + 2, CTA_PROTO_DST_PORT);
  b.writeUInt16BE(t.dport, o);
  return b;
}

/** The payload of the first attribute of this type in buf[from, to), or undefined. Never reads outside it. */
function findAttribute(buf: Buffer, from: number, to: number, type: number): [number, number] | undefined {
  let off = from;
  while (off + NLA_HDR <= to) {
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDR || off + len > to) return undefined;
    if ((buf.readUInt16LE(off + 2) & NLA_TYPE_MASK) === type) return [off + NLA_HDR, off + len];
    off += (len + 3) & ~3;
  }
  return undefined;
}

/** The reply tuple's source in a CT_NEW message's attributes. */
function replySource(buf: Buffer, from: number, to: number): Endpoint | string {
  const reply = findAttribute(buf, from, to, CTA_TUPLE_REPLY);
  if (!reply) return 'no reply tuple';
  const ip = findAttribute(buf, reply[0], reply[1], CTA_TUPLE_IP);
  const proto = findAttribute(buf, reply[0], reply[1], CTA_TUPLE_PROTO);
  if (!ip || !proto) return 'reply tuple without address or ports';
  const sport = findAttribute(buf, proto[0], proto[1], CTA_PROTO_SRC_PORT);
  if (!sport || sport[1] - sport[0] !== 2) return 'reply tuple without a source port';
  const v4 = findAttribute(buf, ip[0], ip[1], CTA_IP_V4_SRC);
  if (v4 && v4[1] - v4[0] === 4) return { ip: formatIpv4(buf, v4[0]), port: buf.readUInt16BE(sport[0]) };
  const v6 = findAttribute(buf, ip[0], ip[1], CTA_IP_V6_SRC);
  if (v6 && v6[1] - v6[0] === 16) return { ip: formatIpv6(buf, v6[0]), port: buf.readUInt16BE(sport[0]) };
  return 'reply tuple without a source address';
}

/** Reads the kernel's answer to the GET with this sequence number. Never throws. */
export function parseConntrackAnswer(buf: Buffer, seq: number): ConntrackAnswer {
  let off = 0;
  while (off + NLMSG_HDR <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDR || off + len > buf.length) return { kind: 'error', errno: 0, reason: `truncated netlink message (length ${len} at ${off} of ${buf.length})` };
    const type = buf.readUInt16LE(off + 4);
    if (buf.readUInt32LE(off + 8) === seq >>> 0) {
      if (type === NLMSG_ERROR) {
        if (len < NLMSG_HDR + 4) return { kind: 'error', errno: 0, reason: 'netlink error message without an error code' };
        const errno = -buf.readInt32LE(off + NLMSG_HDR);
        if (errno === ENOENT) return { kind: 'absent' };
        return { kind: 'error', errno, reason: errno === 0 ? 'acknowledged without an entry' : `the kernel answered errno ${errno}` };
      }
      if (type === CT_NEW) {
        if (len < NLMSG_HDR + NFGENMSG) return { kind: 'error', errno: 0, reason: 'conntrack message without its nfgenmsg header' };
        const found = replySource(buf, off + NLMSG_HDR + NFGENMSG, off + len);
        return typeof found === 'string' ? { kind: 'error', errno: 0, reason: found } : { kind: 'found', replySource: found };
      }
    }
    off += (len + 3) & ~3;
  }
  return { kind: 'error', errno: 0, reason: 'no answer to the request in the datagram' };
}

/** IPCTNL_MSG_CT_GET_STATS and its CTA_STATS_GLOBAL_ENTRIES attribute: how many entries a namespace tracks. */
const CT_GET_STATS = (1 << 8) | 5;
const CTA_STATS_GLOBAL_ENTRIES = 1;

/** The request for the number of conntrack entries in the socket's namespace. */
export function conntrackCountRequest(seq: number): Buffer {
  const b = Buffer.alloc(NLMSG_HDR + NFGENMSG);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(CT_GET_STATS, 4);
  b.writeUInt16LE(NLM_F_REQUEST, 6);
  b.writeUInt32LE(seq >>> 0, 8);
  return b;
}

/** The entry count in the answer to conntrackCountRequest(seq); undefined when the answer has none. Never throws. */
export function parseConntrackCount(buf: Buffer, seq: number): number | undefined {
  if (buf.length < NLMSG_HDR + NFGENMSG) return undefined;
  const len = buf.readUInt32LE(0);
  if (len < NLMSG_HDR + NFGENMSG || len > buf.length || buf.readUInt16LE(4) !== CT_GET_STATS || buf.readUInt32LE(8) !== seq >>> 0) return undefined;
  const entries = findAttribute(buf, NLMSG_HDR + NFGENMSG, len, CTA_STATS_GLOBAL_ENTRIES);
  return entries && entries[1] - entries[0] === 4 ? buf.readUInt32BE(entries[0]) : undefined;
}
