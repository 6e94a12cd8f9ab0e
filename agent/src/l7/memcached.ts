// Memcached text protocol. Detection per reference §3.2.
import type { L7Parser, L7RequestInfo, L7ResponseInfo } from './l7-parser.ts';
import { PAYLOAD_CAP, ascii, endsWithCrlf, indexOfCrlf, startsWith, truncate } from './util.ts';

const PREFIXES = ['set ', 'add ', 'cas ', 'get ', 'gets', 'gat ', 'gats', 'incr ', 'decr ', 'touch ', 'delete ', 'append ', 'prepend', 'replace'];

export function detectMemcachedRequest(b: Uint8Array): boolean {
  if (b.length < 9) return false;
  let ok = false;
  for (const p of PREFIXES) if (startsWith(b, p)) { ok = true; break; }
  if (!ok) return false;
  // A storage command cut by the payload cap does not end in CRLF; its command line still does.
  return endsWithCrlf(b) || (b.length >= PAYLOAD_CAP && indexOfCrlf(b, 0) > 0);
}

export function parseMemcachedRequest(b: Uint8Array): L7RequestInfo | undefined {
  let ok = false;
  for (const p of PREFIXES) if (startsWith(b, p)) { ok = true; break; }
  if (!ok) return undefined;
  const eol = indexOfCrlf(b, 0);
  const cut = eol < 0;
  const line = ascii(b, 0, cut ? Math.min(b.length, 4096) : eol);
  const parts = line.split(/[ \t]+/).filter((s) => s.length > 0);
  const cmd = parts[0];
  if (!cmd) return undefined;
  let keys: string[];
  if (cmd === 'get' || cmd === 'gets') keys = parts.slice(1);
  else if (cmd === 'gat' || cmd === 'gats') keys = parts.slice(2);
  else keys = parts.slice(1, 2);
  return { method: cmd, statement: truncate(keys.length ? `${cmd} ${keys.join(' ')}` : cmd, cut) };
}

/**
 * Status per reference §3.2: VALUE, STORED, DELETED, NOT_FOUND / NOT_STORED, EXISTS, digits → ok;
 * ERROR, CLIENT_ERROR, SERVER_ERROR → failed. Deliberate deviation: Coroot's BPF side never
 * matches TOUCHED (it compares against "TOC") nor a bare END (a miss), so those produce no event
 * there; here both are ok, because a miss or a touch is a successful request.
 */
export function parseMemcachedResponse(b: Uint8Array): L7ResponseInfo | undefined {
  if (b.length < 3) return undefined;
  const firstLineComplete = indexOfCrlf(b, 0) >= 0;
  const isValue = startsWith(b, 'VALUE ');
  if (!endsWithCrlf(b) && !(isValue && firstLineComplete)) return undefined;
  if (startsWith(b, 'ERR') || startsWith(b, 'CLI') || startsWith(b, 'SER')) return { status: 'failed' };
  if (startsWith(b, 'VAL') || startsWith(b, 'STO') || startsWith(b, 'DEL') || startsWith(b, 'NOT') || startsWith(b, 'EXI')
    || startsWith(b, 'TOUCHED') || startsWith(b, 'END\r\n')) return { status: 'ok' };
  if (b[0] >= 0x30 && b[0] <= 0x39) return { status: 'ok' };
  return undefined;
}

export const memcachedParser: L7Parser = {
  protocol: 'memcached',
  detectRequest: detectMemcachedRequest,
  parseRequest: parseMemcachedRequest,
  parseResponse: (b) => parseMemcachedResponse(b),
};
