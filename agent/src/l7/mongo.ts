// MongoDB wire protocol: OP_MSG (2013) and OP_COMPRESSED (2012). Statement = section 0 document
// as compact extended JSON; status is always "unknown" (reference §1.5).
import type { L7Parser, L7RequestInfo, L7ResponseInfo } from './l7-parser.ts';
import { renderBson } from './bson.ts';
import { MAX_STATEMENT, i32le } from './util.ts';

export const OP_MSG = 2013;
export const OP_COMPRESSED = 2012;

function header(b: Uint8Array): { length: number; requestId: number; responseTo: number; opCode: number } | undefined {
  if (b.length < 16) return undefined;
  const opCode = i32le(b, 12);
  if (opCode !== OP_MSG && opCode !== OP_COMPRESSED) return undefined;
  const length = i32le(b, 0);
  if (length < 16 || length > 48 * 1024 * 1024) return undefined;
  return { length, requestId: i32le(b, 4), responseTo: i32le(b, 8), opCode };
}

export function detectMongoRequest(b: Uint8Array): boolean {
  const h = header(b);
  return h !== undefined && h.responseTo === 0;
}

export interface MongoRequestInfo extends L7RequestInfo { requestId: number }

export function parseMongoRequest(b: Uint8Array): MongoRequestInfo | undefined {
  const h = header(b);
  if (!h || h.responseTo !== 0) return undefined;
  if (h.opCode === OP_COMPRESSED) return { statement: '<compressed>', requestId: h.requestId };
  // OP_MSG: flagBits, then sections: kind 0 = body document, kind 1 = size + identifier + documents.
  const end = Math.min(b.length, h.length);
  let p = 20;
  let guard = 0;
  while (p < end && guard++ < 64) {
    const kind = b[p];
    if (kind === 0) {
      const r = renderBson(b.subarray(0, end), p + 1);
      if (r.json === '') break;
      let statement = r.json;
      if (statement.length > MAX_STATEMENT) statement = statement.slice(0, MAX_STATEMENT) + '...';
      else if (r.cut) statement += '...';
      const info: MongoRequestInfo = { statement, requestId: h.requestId };
      if (r.firstKey !== undefined) info.method = r.firstKey;
      return info;
    }
    if (kind === 1) {
      if (p + 5 > end) break;
      const size = i32le(b, p + 1);
      if (size < 4) break;
      p += 1 + size;
      continue;
    }
    break;
  }
  return { statement: '<truncated>', requestId: h.requestId };
}

export function parseMongoResponse(b: Uint8Array, request?: L7RequestInfo): L7ResponseInfo | undefined {
  // A 4-byte first read (length only) is a response in progress: reported as unknown too.
  if (b.length === 4) return i32le(b, 0) >= 16 ? { status: 'unknown' } : undefined;
  const h = header(b);
  if (!h || h.responseTo === 0) return undefined;
  const req = request as MongoRequestInfo | undefined;
  if (req?.requestId !== undefined && req.requestId !== h.responseTo) return undefined;
  return { status: 'unknown' };
}

export const mongoParser: L7Parser = {
  protocol: 'mongo',
  detectRequest: detectMongoRequest,
  parseRequest: parseMongoRequest,
  parseResponse: parseMongoResponse,
  responseUsesRequest: true,
};
