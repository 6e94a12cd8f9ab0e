// Redis RESP2/RESP3. A request is an array of bulk strings; reference §3.2 detection.
import type { L7Parser, L7RequestInfo, L7ResponseInfo } from './l7-parser.ts';
import { isAlpha, isDigit, text, truncate } from './util.ts';

/** `*` 1–2 digits CRLF `$` 1–2 digits CRLF letter, ≥ 11 bytes. */
export function detectRedisRequest(b: Uint8Array): boolean {
  if (b.length < 11 || b[0] !== 0x2a) return false;
  let i = 1;
  const digits = (): boolean => {
    const s = i;
    while (i < b.length && isDigit(b[i]) && i - s < 3) i++;
    return i - s >= 1 && i - s <= 2;
  };
  if (!digits() || b[i] !== 13 || b[i + 1] !== 10) return false;
  i += 2;
  if (b[i] !== 0x24) return false;
  i++;
  if (!digits() || b[i] !== 13 || b[i + 1] !== 10) return false;
  i += 2;
  return i < b.length && isAlpha(b[i]);
}

/** Reads a decimal integer ending in CRLF at off: [value, next] or undefined. */
function readInt(b: Uint8Array, off: number): [number, number] | undefined {
  let i = off;
  let neg = false;
  if (b[i] === 0x2d) { neg = true; i++; }
  let v = 0;
  const s = i;
  while (i < b.length && isDigit(b[i]) && i - s < 10) v = v * 10 + (b[i++] - 48);
  if (i === s || i + 1 >= b.length || b[i] !== 13 || b[i + 1] !== 10) return undefined;
  return [neg ? -v : v, i + 2];
}

export function parseRedisRequest(b: Uint8Array): L7RequestInfo | undefined {
  if (b.length < 4 || b[0] !== 0x2a) return undefined;
  const n = readInt(b, 1);
  if (!n || n[0] < 1) return undefined;
  const count = n[0];
  let off = n[1];
  const args: string[] = [];
  let cut = false;
  for (let k = 0; k < Math.min(count, 2); k++) {
    if (off >= b.length || b[off] !== 0x24) { cut = off >= b.length; break; }
    const l = readInt(b, off + 1);
    if (!l || l[0] < 0) { cut = true; break; }
    const start = l[1];
    const end = start + l[0];
    if (end > b.length) { args.push(text(b, start, b.length)); cut = true; break; }
    args.push(text(b, start, end));
    off = end + 2;
  }
  if (args.length === 0) return undefined;
  const cmd = args[0].toUpperCase();
  let statement = args.length > 1 ? `${cmd} ${args[1]}` : cmd;
  if (count > 2 && !cut) statement += ' ...';
  return { method: truncate(cmd), statement: truncate(statement, cut) };
}

// Reference §3.2 treats a leading `*` as ok "unless it looks like a command" (the BPF side uses that to
// tell a request read on an inbound socket from a reply). Here the caller already knows the
// direction, so every array reply — LRANGE results look exactly like commands — is ok.
const OK_FIRST = new Set([0x24, 0x3a, 0x2b, 0x5f, 0x23, 0x2c, 0x28, 0x3d, 0x7e, 0x3e, 0x25, 0x7c, 0x2a]);

export function parseRedisResponse(b: Uint8Array): L7ResponseInfo | undefined {
  if (b.length < 1) return undefined;
  const c = b[0];
  if (c === 0x2d || c === 0x21) return { status: 'failed' }; // -ERR / !<len> blob error
  if (OK_FIRST.has(c)) return { status: 'ok' };
  return undefined;
}

const AGGREGATE = new Set([0x2a, 0x25, 0x7e, 0x3e, 0x7c]); // * % ~ > |
const BLOB = new Set([0x24, 0x21, 0x3d]); // $ ! =
const MAX_NESTING = 8;

/** Offset just past one complete RESP value at off, or undefined if it is cut or malformed. */
export function skipRespValue(b: Uint8Array, off: number, depth = 0): number | undefined {
  if (off >= b.length || depth > MAX_NESTING) return undefined;
  const t = b[off];
  if (AGGREGATE.has(t) || BLOB.has(t)) {
    const n = readInt(b, off + 1);
    if (!n) return undefined;
    if (n[0] < 0) return n[1]; // null array / null bulk
    if (BLOB.has(t)) {
      const end = n[1] + n[0] + 2;
      return end <= b.length && b[end - 2] === 13 && b[end - 1] === 10 ? end : undefined;
    }
    // A map (%) and an attribute (|) hold n key/value pairs.
    const items = t === 0x25 || t === 0x7c ? 2 * n[0] : n[0];
    let o: number | undefined = n[1];
    for (let i = 0; i < items && o !== undefined; i++) o = skipRespValue(b, o, depth + 1);
    return o;
  }
  if (!OK_FIRST.has(t) && t !== 0x2d) return undefined;
  for (let i = off + 1; i + 1 < b.length; i++) if (b[i] === 13 && b[i + 1] === 10) return i + 2;
  return undefined;
}

/**
 * A write holding several commands (a pipeline; redis-benchmark sends its two CONFIG GETs that
 * way) paired with the first chunk of the replies: one request per complete command in the
 * captured request bytes, each with the status of its own reply. A reply beyond the captured
 * response bytes is `unknown`. undefined when the write holds a single command.
 */
export function splitRedisPipeline(req: Uint8Array, resp: Uint8Array): Array<{ request: L7RequestInfo; response: L7ResponseInfo }> | undefined {
  const commands: L7RequestInfo[] = [];
  let off = 0;
  while (off < req.length && req[off] === 0x2a) {
    const end = skipRespValue(req, off);
    if (end === undefined) break;
    const info = parseRedisRequest(req.subarray(off, end));
    if (!info) break;
    commands.push(info);
    off = end;
  }
  if (commands.length < 2) return undefined;
  let r: number | undefined = 0;
  return commands.map((request) => {
    let response: L7ResponseInfo = { status: 'unknown' };
    if (r !== undefined && r < resp.length) {
      const end = skipRespValue(resp, r);
      // The last visible reply may be cut: its first byte still tells ok from failed.
      const first = parseRedisResponse(resp.subarray(r, r + 1));
      if (first) response = first;
      r = end;
    } else r = undefined;
    return { request, response };
  });
}

export const redisParser: L7Parser = {
  protocol: 'redis',
  detectRequest: detectRedisRequest,
  parseRequest: parseRedisRequest,
  parseResponse: (b) => parseRedisResponse(b),
  splitPipelined: splitRedisPipeline,
};
