// Decoder for struct rs_tcp_event (agent/bpf/tcp_events.h). agent/test/abi.test.ts compiles the
// header and checks every constant below against sizeof/offsetof.
import { formatIpv4, formatIpv6 } from '../net/address.ts';
import { walkRingBatch } from './ring-batch.ts';

export const TCP_EVENT_SIZE = 120;

export const TCP_EVENT_OFFSETS = {
  timestamp_ns: 0,
  sock_id: 8,
  cgroup_id: 16,
  duration_ns: 24,
  bytes_sent: 32,
  bytes_received: 40,
  pid: 48,
  netns: 52,
  type: 56,
  family: 58,
  sport: 60,
  dport: 62,
  saddr: 64,
  daddr: 80,
  direction: 96,
  comm: 104,
} as const;

/** enum rs_tcp_event_type */
export const TCP_EVENT_TYPE_CODES = {
  connect_ok: 1,
  connect_fail: 2,
  accept: 3,
  close: 4,
  listen_open: 5,
  listen_close: 6,
  retransmit: 7,
} as const;

export type TcpEventType = keyof typeof TCP_EVENT_TYPE_CODES;

/** enum rs_tcp_counter: indexes into the counters array map. */
export const TCP_COUNTER_INDEX = { ringbufDropped: 0, mapFull: 1 } as const;
export const TCP_COUNTERS_MAP = 'rs_tcp_counters';

const AF_INET = 2;
const AF_INET6 = 10;

const TYPE_BY_CODE: (TcpEventType | undefined)[] = [];
for (const [name, code] of Object.entries(TCP_EVENT_TYPE_CODES)) TYPE_BY_CODE[code] = name as TcpEventType;

export interface TcpEvent {
  type: TcpEventType;
  /** bpf_ktime_get_ns(): CLOCK_MONOTONIC nanoseconds. */
  timestampNs: number;
  /** Kernel address of the struct sock: identifies the connection while it lives. */
  sockId: bigint;
  /** v2 cgroup id of the socket's owner (inode of its cgroup v2 directory). */
  cgroupId: number;
  durationNs: number;
  bytesSent: number;
  bytesReceived: number;
  /** tgid of the connect()/listen() caller; 0 when unknown (e.g. accept, which runs in softirq). */
  pid: number;
  /** Task name of pid, from the kernel; '' when pid is unknown. Names processes that exit too fast to be looked up. */
  comm: string;
  netns: number;
  /** Socket family. A v6 socket talking to an IPv4-mapped peer stays 6, its addresses print as IPv4. */
  family: 4 | 6;
  sport: number;
  dport: number;
  saddr: string;
  daddr: string;
  direction: 'outbound' | 'inbound' | 'unknown';
}

function cString(buf: Buffer, off: number, max: number): string {
  const nul = buf.indexOf(0, off);
  const end = nul < 0 || nul > off + max ? off + max : nul;
  return buf.toString('latin1', off, end);
}


/** Decodes one record at off. Returns undefined for an unknown type or family. */
export function decodeTcpEvent(buf: Buffer, off: number): TcpEvent | undefined {
  const O = TCP_EVENT_OFFSETS;
  const type = TYPE_BY_CODE[buf.readUInt16LE(off + O.type)];
  const familyCode = buf.readUInt16LE(off + O.family);
  if (type === undefined || (familyCode !== AF_INET && familyCode !== AF_INET6)) return undefined;
  const v4 = familyCode === AF_INET;
  const dir = buf[off + O.direction];
  return {
    type,
    timestampNs: Number(buf.readBigUInt64LE(off + O.timestamp_ns)),
    sockId: buf.readBigUInt64LE(off + O.sock_id),
    cgroupId: Number(buf.readBigUInt64LE(off + O.cgroup_id)),
    durationNs: Number(buf.readBigUInt64LE(off + O.duration_ns)),
    bytesSent: Number(buf.readBigUInt64LE(off + O.bytes_sent)),
    bytesReceived: Number(buf.readBigUInt64LE(off + O.bytes_received)),
    pid: buf.readUInt32LE(off + O.pid),
    comm: cString(buf, off + O.comm, 16),
    netns: buf.readUInt32LE(off + O.netns),
    family: v4 ? 4 : 6,
    sport: buf.readUInt16LE(off + O.sport),
    dport: buf.readUInt16LE(off + O.dport),
    saddr: v4 ? formatIpv4(buf, off + O.saddr) : formatIpv6(buf, off + O.saddr),
    daddr: v4 ? formatIpv4(buf, off + O.daddr) : formatIpv6(buf, off + O.daddr),
    direction: dir === 1 ? 'outbound' : dir === 2 ? 'inbound' : 'unknown',
  };
}

/** Walks a batch from the ring buffer, calling onEvent for each valid record. Never throws on bad
 * input: records with a wrong length, an unknown type or family, and a truncated tail are skipped.
 * Returns the number of records skipped. */
export function decodeTcpEventBatch(buf: Buffer, onEvent: (e: TcpEvent) => void): number {
  return walkRingBatch(buf, (b, off, len) => (len === TCP_EVENT_SIZE ? decodeTcpEvent(b, off) : undefined), onEvent);
}
