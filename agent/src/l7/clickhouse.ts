// ClickHouse native TCP protocol: the client Query packet (type 1) and the server's first packet.
// Field order of the Query packet and ClientInfo by protocol revision (the revision the client
// puts in ClientInfo is used; servers negotiate min(client, server), equal for current pairs):
//   varuint 1, string query_id,
//   ClientInfo: u8 query_kind [0 → ends], string initial_user, string initial_query_id,
//     string initial_address, [≥54449 u64 initial_query_start_time_us], u8 interface,
//     [interface 1 (TCP): string os_user, string client_hostname, string client_name,
//      varuint major, varuint minor, varuint revision], [≥54060 string quota_key],
//     [≥54448 varuint distributed_depth], [TCP, ≥54401 varuint version_patch],
//     [≥54442 u8 has_trace (1 → 16 trace id + 8 span id + string tracestate + u8 flags)],
//     [≥54453 varuint collaborate_with_initiator, varuint count_participating_replicas,
//      varuint number_of_current_replica],
//   settings: (string name, [≥54429 varuint flags, string value]) … string "" ,
//   [≥54441 string interserver_secret], varuint stage, varuint compression, string query.
import type { L7Parser, L7RequestInfo, L7ResponseInfo } from './l7-parser.ts';
import { isValidUtf8, i32le, text } from './util.ts';

/**
 * Newest revision whose Query layout is known field by field (reference §3.2). Newer clients are
 * parsed with the same layout; if they add fields before the query the text comes out wrong or
 * (usually) fails the UTF-8 / structure checks and only `method: 'Query'` is reported.
 */
export const CH_MAX_REVISION = 54460;

class Reader {
  p: number;
  ok = true;
  constructor(readonly b: Uint8Array, p = 0) { this.p = p; }
  u8(): number { if (this.p >= this.b.length) { this.ok = false; return 0; } return this.b[this.p++]; }
  varuint(): number {
    let v = 0; let shift = 0;
    for (let i = 0; i < 9; i++) {
      if (this.p >= this.b.length) { this.ok = false; return 0; }
      const c = this.b[this.p++];
      v += (c & 0x7f) * 2 ** shift;
      if (!(c & 0x80)) return v;
      shift += 7;
    }
    this.ok = false;
    return 0;
  }
  /** Length-prefixed string bounds; `max` rejects longer ones. */
  str(max = Number.MAX_SAFE_INTEGER): [number, number] {
    const l = this.varuint();
    if (!this.ok || l > max) { this.ok = false; return [0, 0]; }
    const s = this.p;
    if (s + l > this.b.length) { this.ok = false; this.p = this.b.length; return [s, this.b.length]; }
    this.p += l;
    return [s, s + l];
  }
  skip(n: number): void { if (this.p + n > this.b.length) { this.ok = false; this.p = this.b.length; } else this.p += n; }
}

function isUuidOrEmpty(b: Uint8Array, [s, e]: [number, number]): boolean {
  if (e === s) return true;
  if (e - s !== 36) return false;
  for (let i = s; i < e; i++) {
    const c = b[i];
    const dash = i - s === 8 || i - s === 13 || i - s === 18 || i - s === 23;
    if (dash ? c !== 0x2d : !((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))) return false;
  }
  return true;
}

/** Sanity-checked start of a Query packet up to the initial address (reference §3.2); reader after it. */
function queryPrefix(b: Uint8Array): Reader | undefined {
  if (b.length < 2 || b[0] !== 1) return undefined;
  const r = new Reader(b, 1);
  const qid = r.str(36);
  if (!r.ok || !isUuidOrEmpty(b, qid)) return undefined;
  const kind = r.u8();
  if (!r.ok || (kind !== 1 && kind !== 2)) return undefined;
  r.str(63); // initial_user
  const iqid = r.str(36);
  if (!r.ok || !isUuidOrEmpty(b, iqid)) return undefined;
  const [as, ae] = r.str(48);
  if (!r.ok || ae === as) return undefined;
  const a0 = b[as];
  if (!((a0 >= 0x30 && a0 <= 0x39) || a0 === 0x5b || a0 === 0x3a)) return undefined;
  return r;
}

interface Parsed { iface: number; query?: string }

/**
 * Parses the rest of the packet assuming initial_query_start_time is (revision ≥ 54449) or is not
 * present; the revision read later must agree with the assumption. undefined when it does not fit.
 */
function parseRest(b: Uint8Array, at: number, withStartTime: boolean): Parsed | undefined {
  const r = new Reader(b, at);
  if (withStartTime) r.skip(8);
  const iface = r.u8();
  if (!r.ok || iface < 1 || iface > 8) return undefined;
  if (iface !== 1) return withStartTime ? { iface } : undefined;
  r.str(); r.str(); r.str(); // os_user, client_hostname, client_name
  r.varuint(); r.varuint();
  const rev = r.varuint();
  if (!r.ok) return { iface }; // cut before the revision: the header still looked right
  if (withStartTime !== rev >= 54449) return undefined;
  if (rev >= 54060) r.str(); // quota_key
  if (rev >= 54448) r.varuint(); // distributed_depth
  if (rev >= 54401) r.varuint(); // version_patch
  if (rev >= 54442) {
    const t = r.u8();
    if (t === 1) { r.skip(24); r.str(); r.skip(1); }
  }
  if (rev >= 54453) { r.varuint(); r.varuint(); r.varuint(); }
  if (rev < 54429) return { iface }; // binary settings of very old revisions are not decoded
  for (let i = 0; i < 10_000 && r.ok; i++) {
    const [s, e] = r.str();
    if (s === e) break;
    r.varuint(); r.str();
  }
  if (rev >= 54441) r.str(); // interserver secret
  r.varuint(); // stage
  r.varuint(); // compression
  const len = r.varuint();
  if (!r.ok) return { iface };
  const s = r.p;
  const cut = s + len > b.length;
  let e = cut ? b.length : s + len;
  if (cut) {
    // Do not split a UTF-8 sequence at the cut.
    let k = e;
    while (k > s && (b[k - 1] & 0xc0) === 0x80) k--;
    if (k > s && b[k - 1] >= 0xc0) e = k - 1;
  }
  if (!isValidUtf8(b.subarray(s, e))) return { iface };
  const q = text(b, s, e).trim();
  return { iface, query: q.length > 1024 ? q.slice(0, 1024) + '...<TRUNCATED>' : cut ? q + '...<TRUNCATED>' : q };
}

function parseQuery(b: Uint8Array): Parsed | undefined {
  const r = queryPrefix(b);
  if (!r) return undefined;
  return parseRest(b, r.p, true) ?? parseRest(b, r.p, false);
}

export function detectClickhouseRequest(b: Uint8Array): boolean {
  return b.length >= 40 && parseQuery(b) !== undefined;
}

export function parseClickhouseRequest(b: Uint8Array): L7RequestInfo | undefined {
  const p = parseQuery(b);
  if (!p) return undefined;
  const info: L7RequestInfo = { method: 'Query' };
  if (p.query !== undefined) info.statement = p.query;
  return info;
}

export function parseClickhouseResponse(b: Uint8Array): L7ResponseInfo | undefined {
  if (b.length < 1) return undefined;
  switch (b[0]) {
    case 1: // Data
      if (b.length >= 3 && b[1] === 0 && b[2] === 1) return { status: 'ok' };
      if (b.length >= 19 && b[1] === 0 && (b[18] === 0x02 || b[18] === 0x82 || b[18] === 0x90)) return { status: 'ok' };
      return undefined;
    case 2: { // Exception: int32 code
      if (b.length < 5) return undefined;
      const code = i32le(b, 1);
      return code >= 1 && code <= 4096 ? { status: 'failed', code } : undefined;
    }
    case 5:
      return b.length === 1 ? { status: 'ok' } : undefined;
    default:
      return undefined;
  }
}

export const clickhouseParser: L7Parser = {
  protocol: 'clickhouse',
  detectRequest: detectClickhouseRequest,
  parseRequest: parseClickhouseRequest,
  parseResponse: (b) => parseClickhouseResponse(b),
};
