// Cassandra CQL native protocol v3–v5 frame header: version (0x0N request / 0x8N response),
// flags, i16 stream, opcode, i32 length. QUERY/EXECUTE/BATCH requests; RESULT → ok, ERROR → failed.
// (v5 "modern framing" segments after STARTUP are not unwrapped.)
import type { L7Parser, L7RequestInfo, L7ResponseInfo } from './l7-parser.ts';
import { i16be, i32be, text, truncate, u16be } from './util.ts';

const OP_ERROR = 0x00;
const OP_QUERY = 0x07;
const OP_RESULT = 0x08;
const OP_EXECUTE = 0x0a;
const OP_BATCH = 0x0d;

export interface CassandraRequestInfo extends L7RequestInfo { streamId: number }

function isVersion(v: number): boolean { return v >= 3 && v <= 5; }

export function detectCassandraRequest(b: Uint8Array): boolean {
  if (b.length < 9 || !isVersion(b[0])) return false;
  const op = b[4];
  return (op === OP_QUERY || op === OP_EXECUTE || op === OP_BATCH) && i32be(b, 5) >= 0;
}

export function parseCassandraRequest(b: Uint8Array): CassandraRequestInfo | undefined {
  if (!detectCassandraRequest(b)) return undefined;
  const streamId = i16be(b, 2);
  const op = b[4];
  const end = Math.min(b.length, 9 + i32be(b, 5));
  if (op === OP_QUERY) {
    const info: CassandraRequestInfo = { method: 'QUERY', streamId };
    if (end >= 13) {
      const l = i32be(b, 9);
      if (l >= 0) info.statement = truncate(text(b, 13, Math.min(end, 13 + l)).trim(), 13 + l > end);
    }
    return info;
  }
  if (op === OP_EXECUTE) {
    const info: CassandraRequestInfo = { method: 'EXECUTE', streamId };
    if (end >= 11) {
      const l = u16be(b, 9);
      let h = '';
      for (let i = 11; i < Math.min(end, 11 + l, 11 + 64); i++) h += (b[i] < 16 ? '0' : '') + b[i].toString(16);
      info.statement = `EXECUTE 0x${h}`;
    }
    return info;
  }
  return { method: 'BATCH', streamId };
}

export function parseCassandraResponse(b: Uint8Array, request?: L7RequestInfo): L7ResponseInfo | undefined {
  if (b.length < 9 || !(b[0] & 0x80) || !isVersion(b[0] & 0x7f)) return undefined;
  const req = request as CassandraRequestInfo | undefined;
  if (req?.streamId !== undefined && req.streamId !== i16be(b, 2)) return undefined;
  const op = b[4];
  if (op === OP_RESULT) return { status: 'ok' };
  if (op === OP_ERROR) {
    const r: L7ResponseInfo = { status: 'failed' };
    if (b.length >= 13) r.code = i32be(b, 9);
    return r;
  }
  return undefined;
}

export const cassandraParser: L7Parser = {
  protocol: 'cassandra',
  detectRequest: detectCassandraRequest,
  parseRequest: parseCassandraRequest,
  parseResponse: parseCassandraResponse,
  responseUsesRequest: true,
};
