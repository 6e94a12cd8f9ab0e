// HTTP/1.x. Detection follows reference §3.2: the first 15 bytes hold no NUL and the buffer starts
// with a known method (prefix match). The parser also accepts TRACE, which the detector does not.
import type { L7Parser, L7RequestInfo, L7ResponseInfo } from './l7-parser.ts';
import { indexOfByte, isDigit, startsWith, startsWithLower, text, truncate } from './util.ts';

const DETECT_METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'PATCH'];
const PARSE_METHODS = [...DETECT_METHODS, 'TRACE'];

function noNulIn15(b: Uint8Array): boolean {
  const n = Math.min(15, b.length);
  for (let i = 0; i < n; i++) if (b[i] === 0) return false;
  return true;
}

function methodOf(b: Uint8Array, methods: readonly string[]): string | undefined {
  for (const m of methods) if (startsWith(b, m)) return m;
  return undefined;
}

/**
 * Values of the headers `names` (lower case, without colon) in the header block at `from`, in
 * one pass over it: the first occurrence of each, trimmed, or undefined. A header cut by the
 * payload cap is still reported (what is there).
 */
function headerValues(b: Uint8Array, from: number, names: readonly string[]): (string | undefined)[] {
  const values = new Array<string | undefined>(names.length);
  let found = 0;
  let i = from;
  while (i < b.length && found < names.length) {
    const nl = indexOfByte(b, 10, i);
    let end = nl < 0 ? b.length : nl;
    if (end > i && b[end - 1] === 13) end--;
    if (end === i) break; // blank line: end of headers
    const colon = indexOfByte(b, 0x3a, i, end);
    for (let k = 0; colon > i && k < names.length; k++) {
      if (values[k] !== undefined || colon - i !== names[k]!.length || !startsWithLower(b, names[k]!, i)) continue;
      let v = colon + 1;
      while (v < end && (b[v] === 0x20 || b[v] === 9)) v++;
      let e = end;
      while (e > v && (b[e - 1] === 0x20 || b[e - 1] === 9)) e--;
      values[k] = text(b, v, e);
      found++;
      break;
    }
    if (nl < 0) break;
    i = nl + 1;
  }
  return values;
}

const SPAN_HEADERS = ['host', 'traceparent'] as const;
const CONTENT_LENGTH = ['content-length'] as const;

export function parseHttpRequest(b: Uint8Array): L7RequestInfo | undefined {
  const method = methodOf(b, PARSE_METHODS);
  if (!method || b.length <= method.length || b[method.length] !== 0x20) return undefined;
  const start = method.length + 1;
  let end = start;
  while (end < b.length && b[end] !== 0x20 && b[end] !== 13 && b[end] !== 10) end++;
  const cut = end >= b.length;
  const info: L7RequestInfo = { method, path: truncate(text(b, start, end), cut) };
  const lineEnd = indexOfByte(b, 10, end);
  if (lineEnd >= 0) {
    const [host, traceparent] = headerValues(b, lineEnd + 1, SPAN_HEADERS);
    if (host !== undefined) info.host = host;
    if (traceparent !== undefined) info.traceparent = traceparent;
  }
  return info;
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/** The same string object for every response of a class: request metrics look series up by it. */
export function statusClass(code: number): string {
  return code >= 100 && code <= 599 ? STATUS_CLASSES[Math.floor(code / 100) - 1]! : 'unknown';
}

export function parseHttpResponse(b: Uint8Array): L7ResponseInfo | undefined {
  // "HTTP/d.d ddd"
  if (b.length < 12 || !noNulIn15(b) || !startsWith(b, 'HTTP/')) return undefined;
  if (!isDigit(b[5]) || b[6] !== 0x2e || !isDigit(b[7]) || b[8] !== 0x20) return undefined;
  if (!isDigit(b[9]) || !isDigit(b[10]) || !isDigit(b[11])) return undefined;
  const code = (b[9]! - 48) * 100 + (b[10]! - 48) * 10 + (b[11]! - 48);
  return { status: statusClass(code), code };
}

/** Where the message at `from` ends: after its header block and a Content-Length body.
 * undefined when that is not visible in b, or the length is unknown (chunked, no length). */
function messageEnd(b: Uint8Array, from: number, hasBody: boolean): number | undefined {
  let i = from;
  for (;;) {
    const nl = indexOfByte(b, 10, i);
    if (nl < 0) return undefined;
    if (nl === i || (nl === i + 1 && b[i] === 13)) break; // blank line
    i = nl + 1;
  }
  const headersEnd = indexOfByte(b, 10, i) + 1;
  if (!hasBody) return headersEnd;
  const [length] = headerValues(b, from, CONTENT_LENGTH);
  if (length === undefined) return undefined; // chunked or read to close: the next message's start is unknown
  const n = Number(length);
  return Number.isInteger(n) && n >= 0 && headersEnd + n <= b.length ? headersEnd + n : undefined;
}

/** The common case of splitHttpPipeline in one cheap pass: the bytes end with the first blank
 * line, so they hold one request (a body declared there arrives in a later write). */
function endsWithOnlyBlankLine(b: Uint8Array): boolean {
  const n = b.length;
  if (n < 4 || b[n - 4] !== 13 || b[n - 3] !== 10 || b[n - 2] !== 13 || b[n - 1] !== 10) return false;
  for (let i = 0; i < n - 4; i++) {
    if (b[i] === 10 && (b[i + 1] === 10 || (b[i + 1] === 13 && b[i + 2] === 10))) return false;
  }
  return true;
}

/**
 * Several HTTP/1.1 requests in one write (pipelining; load tools such as h2load do it when they
 * fall behind their rate), paired by the kernel with the first chunk of the responses: one entry
 * per complete request in the captured request bytes, each with the status of its own response
 * where the captured response bytes show it (`unknown` beyond). undefined for a single request,
 * which is the cheap common case: one scan for the end of the header block.
 */
export function splitHttpPipeline(req: Uint8Array, resp: Uint8Array): Array<{ request: L7RequestInfo; response: L7ResponseInfo }> | undefined {
  if (endsWithOnlyBlankLine(req)) return undefined;
  const first = messageEnd(req, 0, true) ?? messageEnd(req, 0, false);
  if (first === undefined || first >= req.length || methodOf(req.subarray(first), PARSE_METHODS) === undefined) return undefined;
  const requests: L7RequestInfo[] = [];
  let off = 0;
  while (off < req.length) {
    const one = req.subarray(off);
    const info = parseHttpRequest(one);
    if (!info) break;
    requests.push(info);
    const end = messageEnd(one, 0, info.method !== 'GET' && info.method !== 'HEAD');
    if (end === undefined) break;
    off += end;
  }
  if (requests.length < 2) return undefined;
  let r: number | undefined = 0;
  return requests.map((request) => {
    let response: L7ResponseInfo = { status: 'unknown' };
    if (r !== undefined && r < resp.length) {
      const one = resp.subarray(r);
      response = parseHttpResponse(one) ?? response;
      const end = request.method === 'HEAD' ? messageEnd(one, 0, false) : messageEnd(one, 0, true);
      r = end === undefined ? undefined : r + end;
    }
    return { request, response };
  });
}

export const httpParser: L7Parser = {
  protocol: 'http',
  detectRequest(b) {
    return b.length >= 3 && noNulIn15(b) && methodOf(b, DETECT_METHODS) !== undefined;
  },
  parseRequest: parseHttpRequest,
  parseResponse: (b) => parseHttpResponse(b),
  splitPipelined: splitHttpPipeline,
};
