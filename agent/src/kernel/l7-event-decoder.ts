// Decoder for struct rs_l7_event (agent/bpf/l7_events.h) and the payload bytes that follow it.
// agent/test/abi-l7.test.ts compiles the header and checks every constant below.
import { formatIpv4, formatIpv6, joinHostPort } from '../net/address.ts';
import { walkRingBatch } from './ring-batch.ts';

const AF_INET = 2;
const AF_INET6 = 10;

export const L7_EVENT_HEADER_SIZE = 120;

export const L7_EVENT_OFFSETS = {
  timestamp_ns: 0,
  duration_ns: 8,
  sock_id: 16,
  conn_start_ns: 24,
  cgroup_id: 32,
  request_size: 40,
  response_size: 48,
  bytes_sent: 56,
  bytes_received: 64,
  pid: 72,
  fd: 76,
  stream_id: 80,
  request_len: 84,
  response_len: 86,
  kind: 88,
  protocol: 89,
  direction: 90,
  io: 91,
  sock_type: 92,
  flags: 93,
  peer_port: 94,
  peer_addr: 96,
  peer_family: 112,
  local_port: 114,
} as const;

/** rs_l7_event.flags bits */
export const L7_FLAG_TLS = 1;
export const L7_FLAG_UNANSWERED = 2;
export const L7_FLAG_OPENED = 4;

/** enum rs_l7_event_kind */
export const L7_EVENT_KIND_CODES = { request: 1, http2_chunk: 2, message: 3, conn_close: 4 } as const;

/** enum rs_l7_protocol. Names match L7Protocol in agent/src/l7/l7-parser.ts. */
export const L7_PROTOCOL_CODES = {
  unknown: 0,
  http: 1,
  http2: 2,
  postgres: 3,
  mysql: 4,
  redis: 5,
  memcached: 6,
  mongo: 7,
  kafka: 8,
  rabbitmq: 9,
  nats: 10,
  dns: 11,
  clickhouse: 12,
  cassandra: 13,
} as const;

export type L7KernelProtocol = keyof typeof L7_PROTOCOL_CODES;

export const L7_NO_STREAM = 0xffffffff;
export const L7_MAX_REQUEST = 1024;
export const L7_MAX_RESPONSE = 512;
export const L7_MAX_CHUNK = 4096;

/** enum rs_l7_counter: indexes into the rs_l7_counters per-CPU array. */
export const L7_COUNTER_INDEX = {
  ringbufDropped: 0,
  connMapFull: 1,
  pendingMapFull: 2,
  argsMapFull: 3,
  requestOverlap: 4,
  requestEvicted: 5,
  requestTruncated: 6,
  responseTruncated: 7,
  chunkTruncated: 8,
  requestEvents: 9,
  chunkEvents: 10,
  tlsCalls: 11,
  tlsUnbound: 12,
} as const;
export const L7_COUNTER_COUNT = 13;
export const L7_COUNTERS_MAP = 'rs_l7_counters';

const PROTOCOL_BY_CODE: L7KernelProtocol[] = [];
for (const [name, code] of Object.entries(L7_PROTOCOL_CODES)) PROTOCOL_BY_CODE[code] = name as L7KernelProtocol;

export type L7Direction = 'outbound' | 'inbound';

interface L7Common {
  protocol: L7KernelProtocol;
  /** Direction of the connection: outbound = this process connect()ed (or first sent), inbound = accepted (or first received). */
  direction: L7Direction;
  pid: number;
  fd: number;
  cgroupId: number;
  /** Kernel address of the struct sock: equals TcpEvent.sockId for TCP connections. */
  connectionId: bigint;
  /** CLOCK_MONOTONIC ns when this (pid, fd) connection was first tracked; tells fd generations apart. */
  connectionStartNs: number;
  /** CLOCK_MONOTONIC ns of the event (for requests: when the first response chunk was read/written). */
  timestampNs: number;
  sockType: 'stream' | 'dgram';
  /** The connection is TLS: the bytes were captured in plaintext at SSL_read/SSL_write. */
  tls: boolean;
  /** Tracked from its connect()/accept(): the TCP tracer has an event of its opening (it is not older than the agent). */
  opened: boolean;
  /** This end's port (0 when unknown): with the peer, it names a connection older than the agent. */
  localPort: number;
  /** The other end as the socket had it when tracking started (absent: not connected, e.g.
   * unconnected UDP). IPv4-mapped IPv6 addresses print as IPv4. */
  peer?: SocketPeer;
}

/** A request paired with the first chunk of its response. */
export interface L7Event extends L7Common {
  durationNs: number;
  /** First ≤1024 bytes of the request (iovecs concatenated). */
  request: Uint8Array;
  /** Bytes of the request syscall. */
  requestSize: number;
  /** First ≤512 bytes of the first response chunk. */
  response: Uint8Array;
  /** Bytes of the first response syscall (not of the whole response). */
  responseSize: number;
  /** DNS query id or Cassandra stream id. */
  streamId?: number;
  /** For NATS/RabbitMQ messages (kind "message"): produce = written, consume = read. */
  method?: 'produce' | 'consume';
}

/** Raw bytes of one syscall on an HTTP/2 connection, for the user-space HPACK decoder. */
export interface Http2Chunk extends L7Common {
  /** write = this process sent the bytes, read = it received them. */
  io: 'write' | 'read';
  /** First ≤4096 bytes. */
  data: Buffer;
  /** Bytes of the syscall. */
  size: number;
}

/** close() of a tracked socket, with the bytes this fd moved while tracked. */
export interface L7ConnClose extends L7Common {
  bytesSent: number;
  bytesReceived: number;
  /** Requests (of `protocol`) still waiting for their responses: they never got one. Usually 0
   * or 1; a UDP DNS socket may leave several queries (by query id). */
  unanswered: number;
}

export type L7Record =
  | { kind: 'request'; event: L7Event }
  | { kind: 'message'; event: L7Event }
  | { kind: 'http2_chunk'; chunk: Http2Chunk }
  | { kind: 'conn_close'; close: L7ConnClose };

/** A view of the batch being decoded: DataView reads are much cheaper than Buffer's checked
 * readUInt32LE on the hot path. Remade when a record comes from another buffer. */
let view: DataView = new DataView(new ArrayBuffer(0));
let viewOf: Buffer | undefined;

function viewFor(buf: Buffer): DataView {
  if (viewOf !== buf) {
    view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    viewOf = buf;
  }
  return view;
}

/** A u64 field as a number: exact below 2^53 (ns counters: 104 days of uptime), like Number(BigInt),
 * without allocating a BigInt per field on the hot path. */
function u64(v: DataView, at: number): number {
  return v.getUint32(at, true) + v.getUint32(at + 4, true) * 4294967296;
}

/** Connection ids (struct sock addresses) decoded recently, by their low 32 bits: a busy
 * connection sends thousands of events, and making its BigInt each time showed in the profile. */
const connectionIds = new Map<number, { high: number; id: bigint }>();
const MAX_CACHED_CONNECTION_IDS = 10_000;

function connectionIdAt(v: DataView, at: number): bigint {
  const low = v.getUint32(at, true), high = v.getUint32(at + 4, true);
  const known = connectionIds.get(low);
  if (known !== undefined && known.high === high) return known.id;
  if (connectionIds.size >= MAX_CACHED_CONNECTION_IDS) connectionIds.clear();
  const id = (BigInt(high) << 32n) | BigInt(low);
  connectionIds.set(low, { high, id });
  return id;
}

/** IPv4 peers decoded recently, by address and port: a busy connection sends thousands of events
 * with the same peer, and formatting its address (and host:port label) for each one showed in the
 * agent's profile. */
const ipv4Peers = new Map<number, SocketPeer>();
const MAX_CACHED_PEERS = 10_000;

/** The other end of a connection: ip, port and its host:port label value. */
export interface SocketPeer {
  ip: string;
  port: number;
  address: string;
}

function peerOf(buf: Buffer, off: number): SocketPeer | undefined {
  const O = L7_EVENT_OFFSETS;
  const port = buf.readUInt16LE(off + O.peer_port);
  const family = buf.readUInt16LE(off + O.peer_family);
  if (port === 0 || (family !== AF_INET && family !== AF_INET6)) return undefined;
  if (family === AF_INET6) {
    const ip = formatIpv6(buf, off + O.peer_addr);
    return { ip, port, address: joinHostPort(ip, port) };
  }
  const key = buf.readUInt32BE(off + O.peer_addr) * 65536 + port;
  let peer = ipv4Peers.get(key);
  if (!peer) {
    if (ipv4Peers.size >= MAX_CACHED_PEERS) ipv4Peers.clear();
    const ip = formatIpv4(buf, off + O.peer_addr);
    peer = { ip, port, address: joinHostPort(ip, port) };
    ipv4Peers.set(key, peer);
  }
  return peer;
}

/** common plus the kind's own fields, in place. Not `{ ...common, ... }`: that spread cost about
 * 14 µs per event (the object came out in dictionary mode), most of the agent's hot path. */
function extend<T extends L7Common>(common: L7Common, own: Omit<T, keyof L7Common>): T {
  return Object.assign(common, own) as T;
}

/** Decodes one record of len bytes at off. undefined for malformed records. The payloads of
 * request events are views into the batch (the pipeline handles them at once; whoever keeps one
 * longer copies it); HTTP/2 chunks and broker messages, which stream parsers may buffer, are copied
 * so they do not pin the batch buffer. */
export function decodeL7Record(buf: Buffer, off: number, len: number): L7Record | undefined {
  const O = L7_EVENT_OFFSETS;
  if (len < L7_EVENT_HEADER_SIZE || off < 0 || off + len > buf.length) return undefined;
  const v = viewFor(buf);
  const reqLen = v.getUint16(off + O.request_len, true);
  const respLen = v.getUint16(off + O.response_len, true);
  if (L7_EVENT_HEADER_SIZE + reqLen + respLen !== len) return undefined;
  const protocol = PROTOCOL_BY_CODE[buf[off + O.protocol]!];
  const dir = buf[off + O.direction];
  if (protocol === undefined || (dir !== 1 && dir !== 2)) return undefined;
  const direction: L7Direction = dir === 1 ? 'outbound' : 'inbound';
  const payload = off + L7_EVENT_HEADER_SIZE;
  const kind = buf[off + O.kind];
  const io = buf[off + O.io];
  if (kind === L7_EVENT_KIND_CODES.request) {
    // The hot path: one object literal of the whole event, so every request event has one shape.
    const stream = v.getUint32(off + O.stream_id, true);
    const event: L7Event = {
      protocol, direction,
      pid: v.getUint32(off + O.pid, true),
      fd: v.getUint32(off + O.fd, true),
      cgroupId: u64(v, off + O.cgroup_id),
      connectionId: connectionIdAt(v, off + O.sock_id),
      connectionStartNs: u64(v, off + O.conn_start_ns),
      timestampNs: u64(v, off + O.timestamp_ns),
      sockType: buf[off + O.sock_type] === 2 ? 'dgram' : 'stream',
      tls: (buf[off + O.flags]! & L7_FLAG_TLS) !== 0,
      opened: (buf[off + O.flags]! & L7_FLAG_OPENED) !== 0,
      localPort: buf.readUInt16LE(off + O.local_port),
      peer: peerOf(buf, off),
      durationNs: u64(v, off + O.duration_ns),
      // Plain Uint8Array views: a Buffer view costs several times more to make.
      request: new Uint8Array(buf.buffer, buf.byteOffset + payload, reqLen),
      requestSize: u64(v, off + O.request_size),
      response: new Uint8Array(buf.buffer, buf.byteOffset + payload + reqLen, respLen),
      responseSize: u64(v, off + O.response_size),
      streamId: stream === L7_NO_STREAM ? undefined : stream,
      method: undefined,
    };
    return { kind: 'request', event };
  }
  const common: L7Common = {
    protocol, direction,
    pid: v.getUint32(off + O.pid, true),
    fd: v.getUint32(off + O.fd, true),
    cgroupId: u64(v, off + O.cgroup_id),
    connectionId: connectionIdAt(v, off + O.sock_id),
    connectionStartNs: u64(v, off + O.conn_start_ns),
    timestampNs: u64(v, off + O.timestamp_ns),
    sockType: buf[off + O.sock_type] === 2 ? 'dgram' : 'stream',
    tls: (buf[off + O.flags]! & L7_FLAG_TLS) !== 0,
    opened: (buf[off + O.flags]! & L7_FLAG_OPENED) !== 0,
    localPort: buf.readUInt16LE(off + O.local_port),
    peer: peerOf(buf, off),
  };
  switch (kind) {
    case L7_EVENT_KIND_CODES.message: {
      const stream = v.getUint32(off + O.stream_id, true);
      const event = extend<L7Event>(common, {
        durationNs: u64(v, off + O.duration_ns),
        request: Buffer.from(buf.subarray(payload, payload + reqLen)),
        requestSize: u64(v, off + O.request_size),
        response: Buffer.from(buf.subarray(payload + reqLen, payload + reqLen + respLen)),
        responseSize: u64(v, off + O.response_size),
        method: io === 1 ? 'produce' : 'consume',
      });
      if (stream !== L7_NO_STREAM) event.streamId = stream;
      return { kind: 'message', event };
    }
    case L7_EVENT_KIND_CODES.http2_chunk:
      if (io !== 1 && io !== 2) return undefined;
      return {
        kind: 'http2_chunk',
        chunk: extend<Http2Chunk>(common, {
          io: io === 1 ? 'write' : 'read',
          data: Buffer.from(buf.subarray(payload, payload + reqLen)),
          size: u64(v, off + O.request_size),
        }),
      };
    case L7_EVENT_KIND_CODES.conn_close:
      return {
        kind: 'conn_close',
        close: extend<L7ConnClose>(common, {
          bytesSent: u64(v, off + O.bytes_sent),
          bytesReceived: u64(v, off + O.bytes_received),
          unanswered: (buf[off + O.flags]! & L7_FLAG_UNANSWERED) === 0 ? 0 : unansweredAtClose(v.getUint32(off + O.stream_id, true)),
        }),
      };
    default:
      return undefined;
  }
}

/** A close event's stream_id field holds how many requests it left unanswered (at least one
 * when the flag is set; an older kernel object leaves RS_L7_NO_STREAM there, meaning one). */
function unansweredAtClose(streamField: number): number {
  return streamField === L7_NO_STREAM || streamField === 0 ? 1 : streamField;
}

/** Walks a batch from the ring buffer. Never throws; returns the number of records skipped. */
export function decodeL7Batch(buf: Buffer, onRecord: (r: L7Record) => void): number {
  return walkRingBatch(buf, decodeL7Record, onRecord);
}
