// MySQL client/server protocol: COM_QUERY, COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_CLOSE;
// responses OK / ERR / EOF / result set. Detection per reference §3.2.
import type { L7Parser, L7RequestInfo, L7ResponseInfo } from './l7-parser.ts';
import { PAYLOAD_CAP, text, truncate, u16le, u24le, u32le } from './util.ts';

export const MYSQL_COM = { QUERY: 0x03, STMT_PREPARE: 0x16, STMT_EXECUTE: 0x17, STMT_CLOSE: 0x19 } as const;
const NAMES: Record<number, string> = { 3: 'COM_QUERY', 0x16: 'COM_STMT_PREPARE', 0x17: 'COM_STMT_EXECUTE', 0x19: 'COM_STMT_CLOSE' };

export function detectMysqlRequest(b: Uint8Array): boolean {
  if (b.length < 5 || b[3] !== 0) return false;
  if (NAMES[b[4]] === undefined) return false;
  const len = u24le(b, 0);
  if (len < 1) return false;
  return len + 4 === b.length || (b.length >= PAYLOAD_CAP && len + 4 > b.length);
}

export interface MysqlRequestInfo extends L7RequestInfo {
  command: number;
  statementId?: number;
  /** Query text of a COM_STMT_PREPARE (the id arrives with the response). */
  query?: string;
  statementClose?: boolean;
}

export function parseMysqlRequest(b: Uint8Array, lookup?: (id: number) => string | undefined): MysqlRequestInfo | undefined {
  if (b.length < 5 || b[3] !== 0) return undefined;
  const cmd = b[4];
  const name = NAMES[cmd];
  if (!name) return undefined;
  const len = u24le(b, 0);
  const end = Math.min(b.length, len + 4);
  const cut = len + 4 > b.length;
  if (cmd === MYSQL_COM.QUERY || cmd === MYSQL_COM.STMT_PREPARE) {
    const q = truncate(text(b, 5, end).trim(), cut);
    const info: MysqlRequestInfo = { method: name, command: cmd, statement: q };
    if (cmd === MYSQL_COM.STMT_PREPARE) info.query = q;
    return info;
  }
  if (b.length < 9) return { method: name, command: cmd };
  const id = u32le(b, 5);
  if (cmd === MYSQL_COM.STMT_CLOSE) return { method: name, command: cmd, statementId: id, statementClose: true };
  return { method: name, command: cmd, statementId: id, statement: lookup?.(id) ?? `EXECUTE ${id} /* unknown */` };
}

export interface MysqlResponseInfo extends L7ResponseInfo {
  /** Statement id from a COM_STMT_PREPARE OK. */
  statementId?: number;
}

export function parseMysqlResponse(b: Uint8Array, request?: L7RequestInfo): MysqlResponseInfo | undefined {
  if (b.length < 4) return undefined;
  const len = u24le(b, 0);
  const seq = b[3];
  if (seq < 1 || len < 1) return undefined;
  if (b.length === 4) return len === 1 || len === 0xfe ? { status: 'ok' } : undefined; // header-only read
  const first = b[4];
  if (first === 0xff) {
    const r: MysqlResponseInfo = { status: 'failed' };
    if (b.length >= 7) r.code = u16le(b, 5);
    return r;
  }
  if (first === 0x00) {
    const r: MysqlResponseInfo = { status: 'ok' };
    const req = request as MysqlRequestInfo | undefined;
    if (req?.command === MYSQL_COM.STMT_PREPARE && b.length >= 9) r.statementId = u32le(b, 5);
    return r;
  }
  if (first === 0xfe) return { status: 'ok' }; // EOF
  if (first <= 0xfb) return { status: 'ok' }; // result set: column count
  return undefined;
}

export const mysqlParser: L7Parser = {
  protocol: 'mysql',
  detectRequest: detectMysqlRequest,
  parseRequest: (b) => parseMysqlRequest(b),
  parseResponse: (b, req) => parseMysqlResponse(b, req),
  responseUsesRequest: true,
};

/** Per-connection state: statement id → query from PREPARE responses; CLOSE forgets. Bounded. */
export class MysqlSession {
  private readonly statements = new Map<number, string>();
  constructor(private readonly maxStatements = 1024) {}

  parseRequest(b: Uint8Array): MysqlRequestInfo | undefined {
    const info = parseMysqlRequest(b, (id) => this.statements.get(id));
    if (info?.statementClose && info.statementId !== undefined) this.statements.delete(info.statementId);
    return info;
  }

  /** Parses the response; a PREPARE OK rewrites the request statement to "PREPARE <id> FROM <query>". */
  parseResponse(b: Uint8Array, request?: MysqlRequestInfo): MysqlResponseInfo | undefined {
    const r = parseMysqlResponse(b, request);
    if (r?.statementId !== undefined && request?.query !== undefined) {
      this.statements.set(r.statementId, request.query);
      if (this.statements.size > this.maxStatements) this.statements.delete(this.statements.keys().next().value!);
      request.statement = truncate(`PREPARE ${r.statementId} FROM ${request.query}`);
    }
    return r;
  }
}
