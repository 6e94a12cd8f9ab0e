// HTTP/2 and gRPC. `Http2Connection` is a passive, stateful decoder of one connection: the caller
// feeds it the bytes the client sent and the bytes the server sent, each direction in order, with
// a timestamp per chunk; it parses frames (split across chunks or not), keeps one HPACK decoder
// per direction, and returns a request/response pair when a stream completes.
//
// The stateless `http2Parser` only recognises the client preface or a plausible frame header.
import type { L7Parser, L7RequestInfo, L7ResponseInfo } from './l7-parser.ts';
import { HpackDecoder, type HeaderField } from './hpack.ts';
import { statusClass } from './http.ts';
import { startsWith, u24be, u32be } from './util.ts';

export const HTTP2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

export const FrameType = {
  DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7,
  WINDOW_UPDATE: 8, CONTINUATION: 9,
} as const;

const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

export const GRPC_STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
] as const;

/** The §1.5 status label for an HTTP/2 response: grpc:<NAME> when grpc-status is present, else the class. */
export function http2Status(httpStatus: number | undefined, grpcStatus: number | undefined): string {
  if (grpcStatus !== undefined) {
    return grpcStatus >= 0 && grpcStatus < GRPC_STATUS_NAMES.length ? `grpc:${GRPC_STATUS_NAMES[grpcStatus]}` : 'unknown';
  }
  return httpStatus === undefined ? 'unknown' : statusClass(httpStatus);
}

export type Http2Side = 'client' | 'server';

export interface Http2Exchange {
  streamId: number;
  /** :method, :path, :authority (or host), :scheme; defaults "unknown", "/unknown", "", "unknown". */
  method: string;
  path: string;
  authority: string;
  scheme: string;
  traceparent?: string;
  /** :status of the first response HEADERS, undefined if the server never sent one. */
  httpStatus?: number;
  /** grpc-status from the response headers or trailers. */
  grpcStatus?: number;
  grpcMessage?: string;
  /** §1.5 status label ("2xx", "grpc:NOT_FOUND", "unknown"). */
  status: string;
  /** Timestamp of the chunk holding the request HEADERS. */
  requestTime: number;
  /** Timestamp of the chunk holding the first response HEADERS (or the end, if none). */
  responseTime: number;
  /** Timestamp of the chunk that completed the stream (END_STREAM from the server or RST_STREAM). */
  endTime: number;
  /** responseTime − requestTime. */
  duration: number;
  /** RST_STREAM error code if the stream was reset. */
  resetCode?: number;
  /** The pair as contract objects. */
  request: L7RequestInfo;
  response: L7ResponseInfo;
}

interface Stream {
  id: number;
  method: string; path: string; authority: string; scheme: string; traceparent?: string;
  requestTime: number;
  httpStatus?: number; grpcStatus?: number; grpcMessage?: string;
  responseTime?: number;
  /** Joined late: trailers came with fields that could not be read and no grpc-status among them. */
  statusUnknown?: boolean;
}

interface Direction {
  side: Http2Side;
  hpack: HpackDecoder;
  /** Unconsumed bytes (at most one frame header plus one buffered frame payload). */
  buf: Uint8Array;
  /** Payload bytes of the current frame still to discard without buffering. */
  skip: number;
  /** Client side: preface bytes still expected (only checked at the very start). */
  prefacePending: boolean;
  /** Header block being assembled from HEADERS/PUSH_PROMISE + CONTINUATION. */
  block?: { streamId: number; chunks: Uint8Array[]; size: number; endStream: boolean; push: boolean; time: number };
  /** Set after an HPACK error or an unparseable frame: the rest of this direction is ignored. */
  broken: boolean;
  total: number;
}

export interface Http2ConnectionOptions {
  /** Largest frame payload buffered (HEADERS, CONTINUATION, SETTINGS...). Larger ones break the direction. */
  maxFramePayload?: number;
  /** Largest header block (sum of HEADERS + CONTINUATION fragments). */
  maxHeaderBlock?: number;
  /** Streams awaiting a response kept at most; the oldest is dropped beyond this. */
  maxPendingStreams?: number;
}

export class Http2Connection {
  private readonly dirs: Record<Http2Side, Direction>;
  private readonly streams = new Map<number, Stream>();
  private readonly maxFramePayload: number;
  private readonly maxHeaderBlock: number;
  private readonly maxPending: number;
  /** Number of frames parsed on both sides (for tests/diagnostics). */
  frames = 0;
  /** Chunks whose uncaptured tail held frame headers: the direction stopped decoding there. */
  gaps = 0;
  /** The client's first bytes were not the preface: this connection started before we saw it. */
  joinedLate = false;

  constructor(opts: Http2ConnectionOptions = {}) {
    this.maxFramePayload = opts.maxFramePayload ?? 1 << 20;
    this.maxHeaderBlock = opts.maxHeaderBlock ?? 1 << 20;
    this.maxPending = opts.maxPendingStreams ?? 10_000;
    const mk = (side: Http2Side): Direction => ({
      side, hpack: new HpackDecoder(4096), buf: new Uint8Array(0), skip: 0, prefacePending: side === 'client',
      broken: false, total: 0,
    });
    this.dirs = { client: mk('client'), server: mk('server') };
  }

  /** Streams with a request but no completed response. */
  get pendingStreams(): number { return this.streams.size; }
  /** True once a direction hit an HPACK or framing error and stopped decoding. */
  isBroken(side: Http2Side): boolean { return this.dirs[side].broken; }

  /** Feed bytes the client sent (written on an outbound connection, read on an inbound one). */
  feedClient(data: Uint8Array, timestamp: number): Http2Exchange[] { return this.feed('client', data, timestamp); }
  /** Feed bytes the server sent. */
  feedServer(data: Uint8Array, timestamp: number): Http2Exchange[] { return this.feed('server', data, timestamp); }

  /**
   * Feed the bytes one side sent in one syscall. `size` is how many bytes the syscall moved when
   * the kernel captured fewer (a capped copy): the missing tail is harmless while it lies inside a
   * DATA payload being skipped; otherwise frames, and with them HPACK table updates, were lost, and
   * this direction stops decoding rather than miscount (see `gaps`).
   */
  feed(side: Http2Side, data: Uint8Array, timestamp: number, size = data.length): Http2Exchange[] {
    const out = this.parse(side, data, timestamp);
    const missing = size - data.length;
    const d = this.dirs[side];
    if (missing > 0 && !d.broken) {
      if (d.buf.length === 0 && d.skip >= missing) d.skip -= missing;
      else { this.gaps++; this.breakDir(d); }
    }
    return out;
  }

  private parse(side: Http2Side, data: Uint8Array, timestamp: number): Http2Exchange[] {
    const d = this.dirs[side];
    const out: Http2Exchange[] = [];
    if (d.broken || data.length === 0) return out;
    let p = 0;
    // Discard the rest of a frame we decided not to buffer.
    if (d.skip > 0) {
      const n = Math.min(d.skip, data.length);
      d.skip -= n; p = n;
      if (p === data.length) return out;
    }
    const buf = d.buf.length ? concat(d.buf, data.subarray(p)) : data.subarray(p);
    let off = 0;
    if (d.prefacePending) {
      // The client preface, possibly split; if the first bytes are not the preface, assume we
      // joined mid-connection and parse frames straight away.
      const n = Math.min(buf.length, HTTP2_PREFACE.length);
      let match = true;
      for (let i = 0; i < n; i++) if (buf[i] !== HTTP2_PREFACE.charCodeAt(i)) { match = false; break; }
      if (match && n < HTTP2_PREFACE.length) { d.buf = buf.slice(); return out; }
      d.prefacePending = false;
      if (match) off = HTTP2_PREFACE.length;
      else {
        // Mid-connection: both sides' HPACK tables hold entries from before that we never saw.
        this.joinedLate = true;
        this.dirs.client.hpack.joinedLate = true;
        this.dirs.server.hpack.joinedLate = true;
      }
    }
    while (!d.broken) {
      if (buf.length - off < 9) break;
      const len = u24be(buf, off);
      const type = buf[off + 3];
      const flags = buf[off + 4];
      const streamId = u32be(buf, off + 5) & 0x7fffffff;
      const needsPayload = type !== FrameType.DATA && type !== FrameType.WINDOW_UPDATE && type !== FrameType.PING && type !== FrameType.PRIORITY && type <= FrameType.CONTINUATION;
      if (d.block && type !== FrameType.CONTINUATION) { this.breakDir(d); break; }
      if (!needsPayload) {
        // DATA and friends: act on the header, never buffer the payload.
        this.frames++;
        off += 9;
        if (type === FrameType.DATA && flags & FLAG_END_STREAM) this.endStream(d, streamId, timestamp, out);
        const avail = buf.length - off;
        if (len > avail) { d.skip = len - avail; off = buf.length; break; }
        off += len;
        continue;
      }
      if (len > this.maxFramePayload) { this.breakDir(d); break; }
      if (buf.length - off < 9 + len) break; // wait for the rest of the frame
      this.frames++;
      this.onFrame(d, type, flags, streamId, buf.subarray(off + 9, off + 9 + len), timestamp, out);
      off += 9 + len;
    }
    d.buf = d.broken || off >= buf.length ? new Uint8Array(0) : buf.slice(off);
    return out;
  }

  /** Requests seen on streams that have no completed response yet, oldest first. */
  pendingRequests(): L7RequestInfo[] {
    return [...this.streams.values()].map((s) => {
      const info: L7RequestInfo = { method: s.method, path: s.path };
      if (s.authority) info.host = s.authority;
      if (s.traceparent !== undefined) info.traceparent = s.traceparent;
      return info;
    });
  }

  /** Drops streams whose request is older than now − maxAge (same unit as the timestamps). */
  expire(now: number, maxAge: number): number {
    let n = 0;
    for (const [id, s] of this.streams) if (now - s.requestTime > maxAge) { this.streams.delete(id); n++; }
    return n;
  }

  private breakDir(d: Direction): void {
    d.broken = true;
    d.block = undefined;
    d.buf = new Uint8Array(0);
  }

  private onFrame(d: Direction, type: number, flags: number, streamId: number, payload: Uint8Array, ts: number, out: Http2Exchange[]): void {
    switch (type) {
      case FrameType.HEADERS:
      case FrameType.PUSH_PROMISE: {
        let s = 0;
        let e = payload.length;
        if (flags & FLAG_PADDED) {
          if (e < 1) { this.breakDir(d); return; }
          const pad = payload[0];
          s = 1;
          if (pad > e - s) { this.breakDir(d); return; }
          e -= pad;
        }
        if (type === FrameType.HEADERS && flags & FLAG_PRIORITY) s += 5;
        if (type === FrameType.PUSH_PROMISE) s += 4;
        if (s > e) { this.breakDir(d); return; }
        d.block = {
          streamId, chunks: [payload.subarray(s, e)], size: e - s,
          endStream: type === FrameType.HEADERS && (flags & FLAG_END_STREAM) !== 0, push: type === FrameType.PUSH_PROMISE, time: ts,
        };
        if (flags & FLAG_END_HEADERS) this.finishBlock(d, ts, out);
        return;
      }
      case FrameType.CONTINUATION: {
        const blk = d.block;
        if (!blk || blk.streamId !== streamId) { this.breakDir(d); return; }
        blk.chunks.push(payload);
        blk.size += payload.length;
        if (blk.size > this.maxHeaderBlock) { this.breakDir(d); return; }
        if (flags & FLAG_END_HEADERS) this.finishBlock(d, ts, out);
        return;
      }
      case FrameType.RST_STREAM: {
        const st = this.streams.get(streamId);
        if (st && payload.length >= 4) {
          this.streams.delete(streamId);
          out.push(this.exchange(st, ts, u32be(payload, 0)));
        }
        return;
      }
      case FrameType.SETTINGS: {
        if (flags & FLAG_ACK) return;
        // SETTINGS_HEADER_TABLE_SIZE from this side bounds the *other* side's encoder, i.e. the
        // decoder we keep for the opposite direction.
        const other = this.dirs[d.side === 'client' ? 'server' : 'client'];
        for (let i = 0; i + 6 <= payload.length; i += 6) {
          if (((payload[i] << 8) | payload[i + 1]) === 1) other.hpack.setLimit(u32be(payload, i + 2));
        }
        return;
      }
      default:
        return; // GOAWAY, unknown types: ignored
    }
  }

  private finishBlock(d: Direction, ts: number, out: Http2Exchange[]): void {
    const blk = d.block!;
    d.block = undefined;
    const block = blk.chunks.length === 1 ? blk.chunks[0] : concatAll(blk.chunks, blk.size);
    const fields = d.hpack.decode(block);
    if (!fields) { this.breakDir(d); return; }
    if (blk.push) return; // promised request headers: decoded only to keep the table in step
    if (d.side === 'client') this.onRequestHeaders(blk.streamId, fields, blk.time);
    else this.onResponseHeaders(blk.streamId, fields, blk.time, blk.endStream, out, d.hpack.unknownFields > 0);
  }

  private onRequestHeaders(id: number, fields: HeaderField[], ts: number): void {
    if (this.streams.has(id) || id === 0) return; // client trailers (or bogus stream 0)
    const st: Stream = { id, method: 'unknown', path: '/unknown', authority: '', scheme: 'unknown', requestTime: ts };
    for (const [n, v] of fields) {
      if (n === ':method') st.method = v;
      else if (n === ':path') st.path = v;
      else if (n === ':authority') st.authority = v;
      else if (n === 'host' && !st.authority) st.authority = v;
      else if (n === ':scheme') st.scheme = v;
      else if (n === 'traceparent') st.traceparent = v;
    }
    if (this.streams.size >= this.maxPending) {
      const oldest = this.streams.keys().next();
      if (!oldest.done) this.streams.delete(oldest.value);
    }
    this.streams.set(id, st);
  }

  private onResponseHeaders(id: number, fields: HeaderField[], ts: number, endStream: boolean, out: Http2Exchange[], unknownFields: boolean): void {
    const st = this.streams.get(id);
    if (!st) return; // response to a stream we never saw (joined mid-connection)
    // A block that ends the stream (trailers, or a trailers-only response) is where gRPC puts
    // grpc-status; after a late join it may be one of the fields that could not be read, and the
    // HTTP status class would then claim a success the call may not have had.
    const last = endStream || st.httpStatus !== undefined;
    let grpcSeen = false;
    for (const [n, v] of fields) {
      if (n === ':status' && st.httpStatus === undefined) {
        const c = parseDecimal(v);
        if (c !== undefined) {
          // 1xx informational headers precede the final response: do not take their time.
          if (c >= 100 && c < 200) continue;
          st.httpStatus = c;
        }
      } else if (n === 'grpc-status') {
        grpcSeen = true;
        const c = parseDecimal(v);
        if (c !== undefined) st.grpcStatus = c;
      } else if (n === 'grpc-message') st.grpcMessage = v;
    }
    if (last && unknownFields && !grpcSeen && st.grpcStatus === undefined) st.statusUnknown = true;
    if (st.responseTime === undefined && st.httpStatus !== undefined) st.responseTime = ts;
    if (endStream) this.endStream(this.dirs.server, id, ts, out);
  }

  private endStream(d: Direction, id: number, ts: number, out: Http2Exchange[]): void {
    if (d.side !== 'server') return; // a client half-close only ends the request
    const st = this.streams.get(id);
    if (!st) return;
    this.streams.delete(id);
    out.push(this.exchange(st, ts));
  }

  private exchange(st: Stream, end: number, resetCode?: number): Http2Exchange {
    const responseTime = st.responseTime ?? end;
    const status = st.statusUnknown ? 'unknown' : http2Status(st.httpStatus, st.grpcStatus);
    const request: L7RequestInfo = { method: st.method, path: st.path };
    if (st.authority) request.host = st.authority;
    if (st.traceparent !== undefined) request.traceparent = st.traceparent;
    const response: L7ResponseInfo = { status };
    const code = st.grpcStatus ?? st.httpStatus;
    if (code !== undefined) response.code = code;
    const ex: Http2Exchange = {
      streamId: st.id, method: st.method, path: st.path, authority: st.authority, scheme: st.scheme,
      status, requestTime: st.requestTime, responseTime, endTime: end, duration: responseTime - st.requestTime,
      request, response,
    };
    if (st.traceparent !== undefined) ex.traceparent = st.traceparent;
    if (st.httpStatus !== undefined) ex.httpStatus = st.httpStatus;
    if (st.grpcStatus !== undefined) ex.grpcStatus = st.grpcStatus;
    if (st.grpcMessage !== undefined) ex.grpcMessage = st.grpcMessage;
    if (resetCode !== undefined) ex.resetCode = resetCode;
    return ex;
  }
}

function parseDecimal(v: string): number | undefined {
  if (v.length === 0 || v.length > 9) return undefined;
  for (let i = 0; i < v.length; i++) { const c = v.charCodeAt(i); if (c < 48 || c > 57) return undefined; }
  return Number(v);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0); out.set(b, a.length);
  return out;
}

function concatAll(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

/** Client preface at the start (all 24 bytes). */
export function isHttp2Preface(b: Uint8Array): boolean {
  return b.length >= 24 && startsWith(b, HTTP2_PREFACE);
}

/**
 * A plausible HTTP/2 frame header at the start: length + 9 ≤ size, type ≤ 9 (reference §3.2), plus
 * cheap sanity the BPF side does not do: reserved bit clear, stream 0 exactly for SETTINGS / PING /
 * GOAWAY, SETTINGS length a multiple of 6, PING length 8. Still loose: see registry.ts.
 */
export function isHttp2Frame(b: Uint8Array): boolean {
  if (b.length < 9) return false;
  const len = u24be(b, 0);
  const type = b[3];
  if (type > 9 || len + 9 > b.length) return false;
  if (b[5] & 0x80) return false;
  const sid = u32be(b, 5);
  const connLevel = type === FrameType.SETTINGS || type === FrameType.PING || type === FrameType.GOAWAY;
  if (connLevel !== (sid === 0) && type !== FrameType.WINDOW_UPDATE) return false;
  if (type === FrameType.SETTINGS && len % 6 !== 0) return false;
  if (type === FrameType.PING && len !== 8) return false;
  return true;
}

/** Decodes frames of one chunk statelessly (fresh HPACK tables): enough for a connection's first write. */
function firstRequest(b: Uint8Array): L7RequestInfo | undefined {
  const c = new Http2Connection({ maxFramePayload: 64 * 1024 });
  c.feedClient(b, 0);
  return c.pendingRequests()[0] ?? { method: 'unknown', path: '/unknown' };
}

export const http2Parser: L7Parser = {
  protocol: 'http2',
  detectRequest: (b) => isHttp2Preface(b) || isHttp2Frame(b),
  parseRequest: (b) => (isHttp2Preface(b) || isHttp2Frame(b) ? firstRequest(b) : undefined),
  parseResponse(b) {
    // Stateless: the first HEADERS of a server chunk with a fresh decoder (works for the first
    // response on a connection, or any response encoded without dynamic-table references).
    if (!isHttp2Frame(b)) return undefined;
    let off = 0;
    const hp = new HpackDecoder();
    let httpStatus: number | undefined;
    let grpcStatus: number | undefined;
    while (off + 9 <= b.length) {
      const len = u24be(b, off);
      const type = b[off + 3];
      const flags = b[off + 4];
      if (off + 9 + len > b.length) break;
      if (type === FrameType.HEADERS) {
        let s = off + 9; let e = s + len;
        if (flags & FLAG_PADDED) { if (e <= s || b[s] > e - s - 1) break; e -= b[s]; s++; }
        if (flags & FLAG_PRIORITY) s += 5;
        if (s > e) break;
        const f = hp.decode(b, s, e);
        if (!f) break;
        for (const [n, v] of f) {
          if (n === ':status' && httpStatus === undefined) httpStatus = parseDecimal(v);
          else if (n === 'grpc-status') grpcStatus = parseDecimal(v);
        }
      }
      off += 9 + len;
    }
    const r: L7ResponseInfo = { status: http2Status(httpStatus, grpcStatus) };
    const code = grpcStatus ?? httpStatus;
    if (code !== undefined) r.code = code;
    return r;
  },
};
