// PostgreSQL frontend/backend protocol v3: simple query (Q), extended query (Parse/Bind/Execute/
// Sync), Close. Detection per reference §3.2.
import type { L7Parser, L7RequestInfo, L7ResponseInfo } from './l7-parser.ts';
import { PAYLOAD_CAP, indexOfByte, text, truncate, u32be } from './util.ts';

const SYNC = [0x53, 0, 0, 0, 4];

function endsWithSync(b: Uint8Array): boolean {
  if (b.length < 5) return false;
  for (let i = 0; i < 5; i++) if (b[b.length - 5 + i] !== SYNC[i]) return false;
  return true;
}

export function detectPostgresRequest(b: Uint8Array): boolean {
  if (b.length < 5) return false;
  const t = b[0];
  const len = u32be(b, 1);
  if (len < 4) return false;
  if (t === 0x51 /* Q */ || t === 0x43 /* C */) {
    if (len + 1 === b.length) return true;
    if (t === 0x51 && b.length >= PAYLOAD_CAP && len + 1 > b.length) return true; // cut by the cap
  }
  if (t === 0x50 /* P */ || t === 0x42 /* B */) {
    if (endsWithSync(b) && len + 1 <= b.length) return true;
    if (b.length >= PAYLOAD_CAP && len + 1 > b.length) return true; // a long Parse cut by the cap
  }
  return endsWithSync(b) && (b.length === 5 || (len + 1 <= b.length && isFrontendType(t)));
}

function isFrontendType(t: number): boolean {
  // P B E D S H C F d c f p Q X
  return t === 0x50 || t === 0x42 || t === 0x45 || t === 0x44 || t === 0x53 || t === 0x48 || t === 0x43;
}

/** Reads a NUL-terminated string at off within [off, end); cut = no NUL before end. */
function cstr(b: Uint8Array, off: number, end: number): { s: string; next: number; cut: boolean } {
  const z = indexOfByte(b, 0, off, end);
  if (z < 0) return { s: text(b, off, end), next: end, cut: true };
  return { s: text(b, off, z), next: z + 1, cut: false };
}

export interface PostgresRequestInfo extends L7RequestInfo {
  /** Set for a Close of a prepared statement ("statement close" events are not counted). */
  statementClose?: boolean;
  /** Names of statements prepared in this payload (for a session to remember). */
  prepared?: { name: string; query: string }[];
  /** Name of the prepared statement a Bind referred to. */
  boundStatement?: string;
}

/** Stateless parse: walks the messages of the payload. `lookup` resolves a Bind's statement name. */
export function parsePostgresRequest(b: Uint8Array, lookup?: (name: string) => string | undefined): PostgresRequestInfo | undefined {
  if (b.length < 5) return undefined;
  let off = 0;
  let info: PostgresRequestInfo | undefined;
  let guard = 0;
  while (off + 5 <= b.length && guard++ < 1000) {
    const t = b[off];
    const len = u32be(b, off + 1);
    if (len < 4) break;
    const end = Math.min(b.length, off + 1 + len);
    const body = off + 5;
    if (t === 0x51) { // Query
      const q = cstr(b, body, end);
      return { method: 'Q', statement: truncate(q.s.trim(), q.cut) };
    } else if (t === 0x50) { // Parse: name, query, params
      const name = cstr(b, body, end);
      const q = name.cut ? { s: '', next: end, cut: true } : cstr(b, name.next, end);
      const query = truncate(q.s.trim(), q.cut);
      info ??= { method: 'P' };
      (info.prepared ??= []).push({ name: name.s, query });
      if (info.statement === undefined) info.statement = name.s ? `PREPARE ${name.s} AS ${query}` : query;
      if (name.s) info.statement = truncate(info.statement);
    } else if (t === 0x42) { // Bind: portal, statement name
      const portal = cstr(b, body, end);
      const stmt = portal.cut ? { s: '', next: end, cut: true } : cstr(b, portal.next, end);
      info ??= { method: 'B' };
      info.boundStatement = stmt.s;
      if (info.statement === undefined) {
        const known = lookup?.(stmt.s);
        info.statement = known ?? `EXECUTE ${stmt.s} /* unknown */`;
      }
    } else if (t === 0x43) { // Close: 'S' name | 'P' name
      if (body < end) {
        const kind = b[body];
        const name = cstr(b, body + 1, end);
        info ??= { method: 'C' };
        if (kind === 0x53) { info.statementClose = true; info.boundStatement = name.s; }
      }
    } else if (t === 0x45 || t === 0x53 || t === 0x44 || t === 0x48) {
      // Execute, Sync, Describe, Flush: nothing to extract.
      info ??= { method: String.fromCharCode(t) };
    } else {
      break;
    }
    if (off + 1 + len > b.length) break; // cut by the payload cap
    off += 1 + len;
  }
  return info;
}

const BACKEND_TYPES = new Set('RKSZTDCENA123ntsIGHWVcdv'.split('').map((c) => c.charCodeAt(0)));

export function parsePostgresResponse(b: Uint8Array): L7ResponseInfo | undefined {
  let off = 0;
  // Skip ParseComplete / BindComplete / NoData (each exactly 5 bytes).
  while (off + 5 <= b.length && (b[off] === 0x31 || b[off] === 0x32 || b[off] === 0x6e) && u32be(b, off + 1) === 4) off += 5;
  if (off + 5 > b.length) return off > 0 ? { status: 'unknown' } : undefined;
  const t = b[off];
  const len = u32be(b, off + 1);
  if (len < 4 || !BACKEND_TYPES.has(t)) return undefined;
  if (t === 0x45) return { status: 'failed' };
  if (t === 0x54 || t === 0x74 || t === 0x44 || t === 0x43 || t === 0x49) return { status: 'ok' };
  // A Parse-only round trip (libpq's PQprepare, pgbench -M prepared) is answered ParseComplete +
  // ReadyForQuery: the statement was prepared, so the request succeeded. Coroot's status parser
  // has no case for it and reports such requests as unknown; here they are ok.
  if (t === 0x5a && off > 0) return { status: 'ok' };
  return { status: 'unknown' };
}

/**
 * A write of several statements (pipeline mode: libpq's PQpipelineSync, pgx batches, pgbench's
 * \startpipeline), paired with the first chunk of the responses: one request per Execute or simple
 * Query whose message is whole in the captured bytes, each with the status of its own outcome in
 * order (CommandComplete or EmptyQueryResponse ok, ErrorResponse failed). After an error the
 * server skips the rest of the Sync group: those statements failed too (ReadyForQuery ends the
 * group). A simple Query is its own group and takes the first outcome before its ReadyForQuery
 * (a string of several statements is one request, as when written alone). Outcomes beyond the
 * captured response bytes are unknown. undefined for one statement.
 */
export function splitPostgresPipeline(req: Uint8Array, resp: Uint8Array): Array<{ request: L7RequestInfo; response: L7ResponseInfo }> | undefined {
  const statements: Array<{ request: L7RequestInfo; group: number; simple: boolean }> = [];
  let group = 0;
  let parsed: string | undefined; // the text of the last Parse: what the Executes after it run
  for (let off = 0, guard = 0; off + 5 <= req.length && guard++ < 1000;) {
    const t = req[off]!;
    const len = u32be(req, off + 1);
    if (len < 4 || off + 1 + len > req.length) break; // cut by the capture cap: not whole
    const body = off + 5, end = off + 1 + len;
    if (t === 0x51) { // Query
      group++;
      statements.push({ request: { method: 'Q', statement: truncate(cstr(req, body, end).s.trim()) }, group, simple: true });
      group++;
    } else if (t === 0x50) { // Parse
      parsed = truncate(cstr(req, cstr(req, body, end).next, end).s.trim());
    } else if (t === 0x45) { // Execute
      const request: L7RequestInfo = { method: 'E' };
      if (parsed !== undefined) request.statement = parsed;
      statements.push({ request, group, simple: false });
    } else if (t === 0x53) { // Sync
      group++;
    } else if (!isFrontendType(t)) break;
    off = end;
  }
  if (statements.length < 2) return undefined;
  const statuses: string[] = [];
  let failedGroup: number | undefined;
  let simpleAnswered = false; // a simple Query has its outcome: the rest until ReadyForQuery is its own
  for (let off = 0, guard = 0; off + 5 <= resp.length && statuses.length < statements.length && guard++ < 10_000;) {
    const t = resp[off]!;
    const len = u32be(resp, off + 1);
    if (len < 4 || !BACKEND_TYPES.has(t)) break;
    const outcome = t === 0x43 || t === 0x49 ? 'ok' : t === 0x45 ? 'failed' : undefined; // CommandComplete, EmptyQueryResponse, ErrorResponse
    if (outcome && !simpleAnswered) {
      const st = statements[statuses.length]!;
      statuses.push(outcome);
      if (st.simple) simpleAnswered = true;
      else if (outcome === 'failed') failedGroup = st.group;
    } else if (t === 0x5a) { // ReadyForQuery: a group ends; after an error, its skipped statements failed
      while (failedGroup !== undefined && statuses.length < statements.length && statements[statuses.length]!.group === failedGroup) statuses.push('failed');
      failedGroup = undefined;
      simpleAnswered = false;
    }
    if (off + 1 + len > resp.length) break; // the message runs past the captured bytes
    off += 1 + len;
  }
  return statements.map((s, i) => ({ request: s.request, response: { status: statuses[i] ?? 'unknown' } }));
}

export const postgresParser: L7Parser = {
  protocol: 'postgres',
  detectRequest: detectPostgresRequest,
  parseRequest: (b) => parsePostgresRequest(b),
  parseResponse: (b) => parsePostgresResponse(b),
  splitPipelined: splitPostgresPipeline,
};

/**
 * Per-connection state: remembers prepared statements so a later Bind shows the query text, and
 * forgets them on Close. Bounded (oldest names dropped first).
 */
export class PostgresSession {
  private readonly statements = new Map<string, string>();
  constructor(private readonly maxStatements = 1024) {}

  parseRequest(b: Uint8Array): PostgresRequestInfo | undefined {
    const info = parsePostgresRequest(b, (n) => this.statements.get(n));
    if (!info) return info;
    for (const p of info.prepared ?? []) {
      if (!p.name) continue;
      this.statements.delete(p.name);
      this.statements.set(p.name, p.query);
      if (this.statements.size > this.maxStatements) this.statements.delete(this.statements.keys().next().value!);
    }
    if (info.statementClose && info.boundStatement !== undefined) this.statements.delete(info.boundStatement);
    return info;
  }

  get size(): number { return this.statements.size; }
}
