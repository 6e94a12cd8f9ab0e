// Seeded fuzzing of every L7 parser: random bytes plus mutations (bit flips, truncation, splicing,
// length-field corruption, byte insertion/removal) of the real captures and spec-built messages.
// Shared by agent/test/l7-fuzz.test.ts and bench/fuzz-l7.ts. Every failure names the seed, the
// case number and the input as hex so it can be replayed with `replay`.
import type { L7Parser, L7Protocol, L7RequestInfo, L7ResponseInfo } from '../l7-parser.ts';
import { L7_PARSERS } from '../registry.ts';
import { Http2Connection, type Http2Exchange } from '../http2.ts';
import { HpackDecoder } from '../hpack.ts';
import { PostgresSession } from '../postgres.ts';
import { MysqlSession, type MysqlRequestInfo } from '../mysql.ts';
import { fromHex, hex } from '../util.ts';
import * as C from './captures.ts';
import * as B from './built.ts';

export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0 || 0x9e3779b9; }
  next(): number { // xorshift32
    let x = this.s;
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    this.s = x;
    return x;
  }
  int(n: number): number { return n <= 0 ? 0 : this.next() % n; }
  chance(p: number): boolean { return this.next() / 4294967296 < p; }
}

export interface Corpus { requests: Uint8Array[]; responses: Uint8Array[] }

const REQ_CAP = 1024;
const RESP_CAP = 512;

function fromChunks(chunks: C.Chunk[]): Corpus {
  const c: Corpus = { requests: [], responses: [] };
  for (const ch of chunks) {
    const b = fromHex(ch.hex);
    if (ch.dir === 'c') c.requests.push(b.subarray(0, REQ_CAP)); else c.responses.push(b.subarray(0, RESP_CAP));
  }
  return c;
}

export function corpusFor(p: L7Protocol): Corpus {
  switch (p) {
    case 'http': return fromChunks(C.HTTP1);
    case 'http2': { const a = fromChunks(C.GRPC); const b = fromChunks(C.HTTP2); return { requests: [...a.requests, ...b.requests], responses: [...a.responses, ...b.responses] }; }
    case 'postgres': return fromChunks(C.POSTGRES);
    case 'mysql': return fromChunks(C.MYSQL);
    case 'redis': { const a = fromChunks(C.REDIS); const b = fromChunks(C.REDIS_RESP2); return { requests: [...a.requests, ...b.requests], responses: [...a.responses, ...b.responses] }; }
    case 'memcached': return fromChunks(C.MEMCACHED);
    case 'dns': return fromChunks(C.DNS);
    case 'mongo': return { requests: [B.MONGO_FIND, B.MONGO_INSERT, B.MONGO_COMPRESSED, B.MONGO_LONG.subarray(0, REQ_CAP)], responses: [B.MONGO_REPLY] };
    case 'kafka': return { requests: [B.KAFKA_API_VERSIONS, B.KAFKA_METADATA, B.KAFKA_PRODUCE, B.KAFKA_FETCH], responses: [B.KAFKA_RESPONSE_3, B.KAFKA_RESPONSE_4] };
    case 'rabbitmq': return { requests: [B.AMQP_PUBLISH, B.AMQP_DELIVER], responses: [B.AMQP_DELIVER, B.AMQP_ACK] };
    case 'nats': return { requests: [B.NATS_PUB, B.NATS_PUB_REPLY, B.NATS_HPUB], responses: [B.NATS_MSG, B.NATS_HMSG] };
    case 'clickhouse': return { requests: [B.CH_QUERY, B.CH_QUERY_OLD], responses: [B.CH_DATA, B.CH_DATA_COMPRESSED, B.CH_EXCEPTION, B.CH_END, B.CH_PROGRESS] };
    case 'cassandra': return { requests: [B.CQL_QUERY, B.CQL_EXECUTE, B.CQL_BATCH, B.CQL_V5_QUERY], responses: [B.CQL_RESULT, B.CQL_ERROR] };
  }
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x0d, 0x0a, 0x20, 0x3f, 0xc0];

/** One mutated input derived from the corpus (or random bytes). */
export function mutate(rng: Rng, corpus: Uint8Array[]): Uint8Array {
  const mode = rng.int(10);
  if (mode === 0 || corpus.length === 0) {
    const out = new Uint8Array(rng.int(rng.chance(0.5) ? 64 : 1100));
    for (let i = 0; i < out.length; i++) out[i] = rng.int(256);
    return out;
  }
  const base = corpus[rng.int(corpus.length)];
  let b = new Uint8Array(base);
  const steps = 1 + rng.int(4);
  for (let s = 0; s < steps; s++) {
    const k = rng.int(7);
    if (k === 0 && b.length) { // bit flips
      const n = 1 + rng.int(4);
      for (let i = 0; i < n; i++) { const o = rng.int(b.length); b[o] ^= 1 << rng.int(8); }
    } else if (k === 1) { // truncation
      b = b.slice(0, rng.int(b.length + 1));
    } else if (k === 2) { // splicing with another capture
      const other = corpus[rng.int(corpus.length)];
      const cut = rng.int(b.length + 1);
      const from = rng.int(other.length + 1);
      const n = new Uint8Array(cut + other.length - from);
      n.set(b.subarray(0, cut)); n.set(other.subarray(from), cut);
      b = n;
    } else if (k === 3 && b.length) { // length-field corruption: 1–4 bytes near the start
      const o = rng.int(Math.min(b.length, 24));
      const w = 1 + rng.int(4);
      const v = [0x00, 0xff, 0x7f, 0x80][rng.int(4)];
      for (let i = o; i < Math.min(b.length, o + w); i++) b[i] = i === o ? rng.int(256) : v;
    } else if (k === 4 && b.length) { // interesting byte
      b[rng.int(b.length)] = INTERESTING[rng.int(INTERESTING.length)];
    } else if (k === 5) { // insert bytes
      const at = rng.int(b.length + 1);
      const ins = rng.int(16);
      const n = new Uint8Array(b.length + ins);
      n.set(b.subarray(0, at)); for (let i = 0; i < ins; i++) n[at + i] = rng.int(256); n.set(b.subarray(at), at + ins);
      b = n;
    } else if (b.length) { // remove a range
      const at = rng.int(b.length);
      const n = rng.int(Math.min(32, b.length - at) + 1);
      const out = new Uint8Array(b.length - n);
      out.set(b.subarray(0, at)); out.set(b.subarray(at + n), at);
      b = out;
    }
  }
  return b;
}

const STATUSES: Record<L7Protocol, (s: string) => boolean> = {
  http: (s) => /^[1-5]xx$|^unknown$/.test(s),
  http2: (s) => /^[1-5]xx$|^unknown$|^grpc:[A-Z_]+$/.test(s),
  postgres: (s) => s === 'ok' || s === 'failed' || s === 'unknown',
  mysql: (s) => s === 'ok' || s === 'failed',
  redis: (s) => s === 'ok' || s === 'failed' || s === 'unknown', // unknown: a pipelined reply beyond the captured bytes
  memcached: (s) => s === 'ok' || s === 'failed',
  cassandra: (s) => s === 'ok' || s === 'failed',
  clickhouse: (s) => s === 'ok' || s === 'failed',
  mongo: (s) => s === 'unknown',
  kafka: (s) => s === 'unknown',
  rabbitmq: (s) => s === 'ok',
  nats: (s) => s === 'ok',
  dns: (s) => ['ok', 'format_error', 'servfail', 'nxdomain', 'not_implemented', 'refused'].includes(s),
};

const MAX_STMT_OUT = 1024 + '...<TRUNCATED>'.length;

function checkRequest(r: L7RequestInfo | undefined): string | undefined {
  if (r === undefined) return undefined;
  if (typeof r !== 'object' || r === null) return 'request is not an object';
  for (const k of ['method', 'path', 'host', 'statement', 'domain', 'traceparent'] as const) {
    const v = r[k];
    if (v !== undefined && typeof v !== 'string') return `${k} is not a string`;
  }
  if (r.statement !== undefined && r.statement.length > MAX_STMT_OUT) return `statement too long (${r.statement.length})`;
  if (r.path !== undefined && r.path.length > MAX_STMT_OUT) return `path too long (${r.path.length})`;
  if (r.direction !== undefined && r.direction !== 'produce' && r.direction !== 'consume') return 'bad direction';
  return undefined;
}

function checkResponse(p: L7Protocol, r: L7ResponseInfo | undefined): string | undefined {
  if (r === undefined) return undefined;
  if (typeof r !== 'object' || r === null || typeof r.status !== 'string') return 'response without a status string';
  if (!STATUSES[p](r.status)) return `status ${JSON.stringify(r.status)} is not a ${p} status`;
  if (r.code !== undefined && !Number.isFinite(r.code)) return 'code is not a finite number';
  if (r.addresses !== undefined && (!Array.isArray(r.addresses) || r.addresses.some((a) => typeof a !== 'string'))) return 'bad addresses';
  return undefined;
}

function checkExchange(e: Http2Exchange): string | undefined {
  if (typeof e.streamId !== 'number' || typeof e.method !== 'string' || typeof e.path !== 'string') return 'bad exchange';
  if (!STATUSES.http2(e.status)) return `bad exchange status ${e.status}`;
  return checkRequest(e.request) ?? checkResponse('http2', e.response);
}

export interface FuzzFailure { protocol: L7Protocol; seed: number; caseNo: number; inputHex: string; error: string }
export interface FuzzStats { protocol: L7Protocol; cases: number; ms: number; parsedRequests: number; parsedResponses: number }

/** Runs one input through a parser (all three calls, plus the stateful helpers where there are some). */
export function runOne(parser: L7Parser, b: Uint8Array, sessions: { pg: PostgresSession; my: MysqlSession }): { req: boolean; resp: boolean; error?: string } {
  const p = parser.protocol;
  const d = parser.detectRequest(b);
  if (typeof d !== 'boolean') return { req: false, resp: false, error: 'detectRequest did not return a boolean' };
  const req = parser.parseRequest(b);
  let err = checkRequest(req);
  if (err) return { req: false, resp: false, error: err };
  const r1 = parser.parseResponse(b);
  err = checkResponse(p, r1);
  if (err) return { req: false, resp: false, error: err };
  const r2 = parser.parseResponse(b, req);
  err = checkResponse(p, r2);
  if (err) return { req: false, resp: false, error: err };
  // The same bytes as a pipelined write and as its replies.
  for (const x of parser.splitPipelined?.(b, b) ?? []) {
    err = checkRequest(x.request) ?? checkResponse(p, x.response);
    if (err) return { req: false, resp: false, error: `splitPipelined: ${err}` };
  }
  if (p === 'postgres') err = checkRequest(sessions.pg.parseRequest(b));
  else if (p === 'mysql') {
    const mreq = sessions.my.parseRequest(b);
    err = checkRequest(mreq) ?? checkResponse(p, sessions.my.parseResponse(b, mreq as MysqlRequestInfo | undefined));
  }
  if (err) return { req: false, resp: false, error: err };
  return { req: req !== undefined, resp: r1 !== undefined };
}

/** Fuzzes one protocol for `cases` inputs. Throws an Error carrying seed, case and input on the first failure. */
export function fuzzProtocol(protocol: L7Protocol, cases: number, seed: number): FuzzStats {
  const parser = L7_PARSERS.find((x) => x.protocol === protocol)!;
  const corpus = corpusFor(protocol);
  const all = [...corpus.requests, ...corpus.responses];
  const rng = new Rng(seed);
  const sessions = { pg: new PostgresSession(64), my: new MysqlSession(64) };
  const t0 = performance.now();
  let pr = 0; let ps = 0;
  const fail = (i: number, input: Uint8Array | string, error: string): never => {
    const inputHex = typeof input === 'string' ? input : hex(input);
    const e = new Error(`fuzz ${protocol} seed=${seed} case=${i}: ${error}\ninput=${inputHex}`) as Error & { failure: FuzzFailure };
    e.failure = { protocol, seed, caseNo: i, inputHex, error };
    throw e;
  };
  for (let i = 0; i < cases; i++) {
    if (protocol === 'http2' && i % 8 === 7) {
      // Stateful path: a mutated, re-chunked connection through Http2Connection.
      const chunks = connectionCase(rng);
      const conn = new Http2Connection({ maxFramePayload: 64 * 1024, maxHeaderBlock: 64 * 1024, maxPendingStreams: 64 });
      let desc = '';
      try {
        let t = 0;
        for (const [side, data] of chunks) {
          desc += `${side[0]}:${hex(data.subarray(0, 2048))};`;
          for (const ex of conn.feed(side, data, t++)) { const err = checkExchange(ex); if (err) fail(i, desc, err); }
        }
      } catch (e) {
        if ((e as { failure?: unknown }).failure) throw e;
        fail(i, desc, `Http2Connection threw: ${(e as Error).stack}`);
      }
      continue;
    }
    const b = mutate(rng, all);
    let res;
    try { res = runOne(parser, b, sessions); } catch (e) { fail(i, b, `threw: ${(e as Error).stack}`); }
    if (res!.error) fail(i, b, res!.error);
    if (res!.req) pr++;
    if (res!.resp) ps++;
  }
  return { protocol, cases, ms: performance.now() - t0, parsedRequests: pr, parsedResponses: ps };
}

const H2_CONNS = [C.GRPC, C.HTTP2.slice(0, 9)].map((cs) => cs.map((c) => [c.dir === 'c' ? 'client' : 'server', fromHex(c.hex)] as const));

/** A capture connection with one or two chunks mutated and everything re-split at random points. */
function connectionCase(rng: Rng): [('client' | 'server'), Uint8Array][] {
  const conn = H2_CONNS[rng.int(H2_CONNS.length)];
  const out: [('client' | 'server'), Uint8Array][] = [];
  const victim = rng.int(conn.length);
  for (let k = 0; k < conn.length; k++) {
    const [side, data0] = conn[k];
    let data = data0;
    if (k === victim || rng.chance(0.1)) data = mutate(rng, [data0]);
    let off = 0;
    while (off < data.length) {
      const n = rng.chance(0.5) ? data.length - off : 1 + rng.int(data.length - off);
      out.push([side, data.subarray(off, off + n)]);
      off += n;
    }
  }
  return out;
}

/** Fuzzes the HPACK decoder directly on mutated header blocks taken from the captures. */
export function fuzzHpack(cases: number, seed: number): number {
  const rng = new Rng(seed);
  const blocks: Uint8Array[] = [];
  for (const ch of [...C.GRPC, ...C.HTTP2]) {
    const b = fromHex(ch.hex);
    for (let o = ch.hex.startsWith('505249') ? 24 : 0; o + 9 <= b.length;) {
      const len = (b[o] << 16) | (b[o + 1] << 8) | b[o + 2];
      if (b[o + 3] === 1 && o + 9 + len <= b.length) blocks.push(b.subarray(o + 9, o + 9 + len));
      o += 9 + len;
    }
  }
  let decoded = 0;
  let dec = new HpackDecoder();
  for (let i = 0; i < cases; i++) {
    if (i % 50 === 0) dec = new HpackDecoder();
    const b = mutate(rng, blocks);
    let r;
    try { r = dec.decode(b); } catch (e) { throw new Error(`fuzz hpack seed=${seed} case=${i}: threw ${(e as Error).stack}\ninput=${hex(b)}`); }
    if (r) {
      decoded++;
      for (const f of r) if (typeof f[0] !== 'string' || typeof f[1] !== 'string') throw new Error(`fuzz hpack seed=${seed} case=${i}: bad field\ninput=${hex(b)}`);
    }
    if (dec.tableSize > dec.maxTableSize) throw new Error(`fuzz hpack seed=${seed} case=${i}: table over its size\ninput=${hex(b)}`);
  }
  return decoded;
}

/** Replays one failing input printed by a failure. */
export function replay(protocol: L7Protocol, inputHex: string): ReturnType<typeof runOne> {
  const parser = L7_PARSERS.find((x) => x.protocol === protocol)!;
  return runOne(parser, fromHex(inputHex), { pg: new PostgresSession(), my: new MysqlSession() });
}
