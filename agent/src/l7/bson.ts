// A small BSON reader that renders a document as compact (relaxed) extended JSON. It never reads
// past the buffer: a cut document is rendered up to the cut and marked with "...".

const OUT_CAP = 1200; // stop rendering once the output passes this (statements are cut at 1 KiB)
const MAX_DEPTH = 32;

interface Ctx { b: Uint8Array; out: string; cut: boolean }

const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

function i32(b: Uint8Array, o: number): number { return (b[o + 3] << 24) | (b[o + 2] << 16) | (b[o + 1] << 8) | b[o]; }

function jsonString(s: string): string { return JSON.stringify(s); }

function hexOf(b: Uint8Array, s: number, e: number): string {
  let h = '';
  for (let i = s; i < e; i++) h += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return h;
}

function base64(b: Uint8Array, s: number, e: number): string {
  return Buffer.from(b.buffer, b.byteOffset + s, e - s).toString('base64');
}

/** cstring at o (ends before `end`): [string, next] or undefined if no NUL. */
function cstring(b: Uint8Array, o: number, end: number): [string, number] | undefined {
  let z = o;
  while (z < end && b[z] !== 0) z++;
  if (z >= end) return undefined;
  return [Buffer.from(b.buffer, b.byteOffset + o, z - o).toString('utf8'), z + 1];
}

function decimal128(b: Uint8Array, o: number): string {
  const lo = dv(b).getBigUint64(o, true);
  const hi = dv(b).getBigUint64(o + 8, true);
  const neg = (hi >> 63n) === 1n;
  const comb = Number((hi >> 58n) & 0x1fn);
  if (comb === 0x1f) return 'NaN';
  if (comb === 0x1e) return neg ? '-Infinity' : 'Infinity';
  let exp: bigint; let coef: bigint;
  if ((hi >> 61n & 3n) === 3n) { // 11 form: coefficient > 10^34 is non-canonical → 0
    exp = (hi >> 47n) & 0x3fffn; coef = 0n;
  } else {
    exp = (hi >> 49n) & 0x3fffn;
    coef = ((hi & 0x1ffffffffffffn) << 64n) | lo;
  }
  const e = Number(exp) - 6176;
  return `${neg ? '-' : ''}${coef}${e === 0 ? '' : `E${e > 0 ? '+' : ''}${e}`}`;
}

/** Renders the element value of type t at o (value area ends before `end`); returns next offset or -1 if cut. */
function value(c: Ctx, t: number, o: number, end: number, depth: number): number {
  const b = c.b;
  const need = (n: number): boolean => o + n <= end;
  switch (t) {
    case 0x01: { // double
      if (!need(8)) return -1;
      const v = dv(b).getFloat64(o, true);
      c.out += Number.isFinite(v) ? (Object.is(v, -0) ? '-0.0' : Number.isInteger(v) ? v.toFixed(1) : String(v)) : `{"$numberDouble":"${v}"}`;
      return o + 8;
    }
    case 0x02: case 0x0d: case 0x0e: { // string, JS code, symbol
      if (!need(4)) return -1;
      const len = i32(b, o);
      if (len < 1) return -1;
      if (o + 4 + len > end) {
        const s = Buffer.from(b.buffer, b.byteOffset + o + 4, Math.max(0, Math.min(end, b.length) - o - 4)).toString('utf8');
        const q = jsonString(s);
        c.out += t === 0x02 ? q.slice(0, -1) : (t === 0x0d ? `{"$code":${q.slice(0, -1)}` : `{"$symbol":${q.slice(0, -1)}`);
        return -1;
      }
      const s = Buffer.from(b.buffer, b.byteOffset + o + 4, len - 1).toString('utf8');
      c.out += t === 0x02 ? jsonString(s) : t === 0x0d ? `{"$code":${jsonString(s)}}` : `{"$symbol":${jsonString(s)}}`;
      return o + 4 + len;
    }
    case 0x03: case 0x04: return doc(c, o, end, t === 0x04, depth + 1);
    case 0x05: { // binary
      if (!need(5)) return -1;
      const len = i32(b, o);
      if (len < 0 || o + 5 + len > end) return -1;
      const sub = b[o + 4];
      c.out += `{"$binary":{"base64":"${base64(b, o + 5, o + 5 + len)}","subType":"${(sub < 16 ? '0' : '') + sub.toString(16)}"}}`;
      return o + 5 + len;
    }
    case 0x06: c.out += '{"$undefined":true}'; return o;
    case 0x07:
      if (!need(12)) return -1;
      c.out += `{"$oid":"${hexOf(b, o, o + 12)}"}`;
      return o + 12;
    case 0x08:
      if (!need(1)) return -1;
      c.out += b[o] ? 'true' : 'false';
      return o + 1;
    case 0x09:
      if (!need(8)) return -1;
      c.out += `{"$date":{"$numberLong":"${dv(b).getBigInt64(o, true)}"}}`;
      return o + 8;
    case 0x0a: c.out += 'null'; return o;
    case 0x0b: { // regex: two cstrings
      const p = cstring(b, o, end);
      if (!p) return -1;
      const f = cstring(b, p[1], end);
      if (!f) return -1;
      c.out += `{"$regularExpression":{"pattern":${jsonString(p[0])},"options":${jsonString(f[0])}}}`;
      return f[1];
    }
    case 0x0c: { // DBPointer: string + 12-byte id
      if (!need(4)) return -1;
      const len = i32(b, o);
      if (len < 1 || o + 4 + len + 12 > end) return -1;
      const s = Buffer.from(b.buffer, b.byteOffset + o + 4, len - 1).toString('utf8');
      c.out += `{"$dbPointer":{"$ref":${jsonString(s)},"$id":{"$oid":"${hexOf(b, o + 4 + len, o + 16 + len)}"}}}`;
      return o + 16 + len;
    }
    case 0x0f: { // code with scope: int32 total, string, document
      if (!need(8)) return -1;
      const len = i32(b, o + 4);
      if (len < 1 || o + 8 + len > end) return -1;
      const s = Buffer.from(b.buffer, b.byteOffset + o + 8, len - 1).toString('utf8');
      c.out += `{"$code":${jsonString(s)},"$scope":`;
      const next = doc(c, o + 8 + len, end, false, depth + 1);
      if (next < 0) return -1;
      c.out += '}';
      return next;
    }
    case 0x10:
      if (!need(4)) return -1;
      c.out += String(i32(b, o));
      return o + 4;
    case 0x11:
      if (!need(8)) return -1;
      c.out += `{"$timestamp":{"t":${dv(b).getUint32(o + 4, true)},"i":${dv(b).getUint32(o, true)}}}`;
      return o + 8;
    case 0x12:
      if (!need(8)) return -1;
      c.out += String(dv(b).getBigInt64(o, true));
      return o + 8;
    case 0x13:
      if (!need(16)) return -1;
      c.out += `{"$numberDecimal":"${decimal128(b, o)}"}`;
      return o + 16;
    case 0xff: c.out += '{"$minKey":1}'; return o;
    case 0x7f: c.out += '{"$maxKey":1}'; return o;
    default: return -1;
  }
}

/** Renders the document at o; returns the offset after it, or -1 if cut/invalid (output then ends mid-way). */
function doc(c: Ctx, o: number, end: number, isArray: boolean, depth: number): number {
  const b = c.b;
  if (o + 5 > end) return -1;
  const len = i32(b, o);
  if (len < 5) return -1;
  if (depth > MAX_DEPTH) { c.out += isArray ? '[...' : '{...'; return -1; }
  const docEnd = Math.min(end, o + len);
  c.out += isArray ? '[' : '{';
  let p = o + 4;
  let first = true;
  while (p < docEnd) {
    const t = b[p];
    if (t === 0) {
      if (p + 1 !== o + len) return -1;
      c.out += isArray ? ']' : '}';
      return p + 1;
    }
    const name = cstring(b, p + 1, docEnd);
    if (!name) return -1;
    if (!first) c.out += ',';
    first = false;
    if (!isArray) c.out += jsonString(name[0]) + ':';
    if (c.out.length > OUT_CAP) return -1;
    const next = value(c, t, name[1], docEnd, depth);
    if (next < 0) return -1;
    p = next;
  }
  return -1;
}

export interface BsonRender {
  json: string;
  /** The document was cut (buffer ended) or invalid; json holds what could be rendered. */
  cut: boolean;
  /** Length the document declares (for walking OP_MSG sections). */
  length: number;
  /** First key of the document (the command name of a Mongo command). */
  firstKey?: string;
}

export function renderBson(b: Uint8Array, off = 0): BsonRender {
  const c: Ctx = { b, out: '', cut: false };
  const length = off + 4 <= b.length ? i32(b, off) : 0;
  const next = doc(c, off, b.length, false, 0);
  let firstKey: string | undefined;
  if (off + 5 < b.length && b[off + 4] !== 0) firstKey = cstring(b, off + 5, b.length)?.[0];
  const r: BsonRender = { json: c.out, cut: next < 0, length };
  if (firstKey !== undefined) r.firstKey = firstKey;
  return r;
}
