// Small byte helpers shared by the L7 parsers. Every reader is bounds-checked by its caller or
// returns a sentinel; nothing here throws on short input.

/** Statements longer than this are cut and get "..." appended. */
export const MAX_STATEMENT = 1024;
/** The kernel caps a request payload at this many bytes: a payload this long may be a prefix. */
export const PAYLOAD_CAP = 1024;

const utf8 = new TextDecoder('utf-8', { fatal: false });
// Node's Latin-1 slice works on any Uint8Array; not in the public typings.
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;

/** UTF-8 text of buf[start, end) (clamped); invalid sequences become U+FFFD. */
export function text(buf: Uint8Array, start: number, end: number): string {
  const s = Math.max(0, Math.min(start, buf.length));
  const e = Math.max(s, Math.min(end, buf.length));
  // ASCII (paths, hosts, header values) reads the same as Latin-1, several times cheaper than a
  // TextDecoder call with its subarray.
  let i = s;
  while (i < e && buf[i]! < 0x80) i++;
  if (i === e) return latin1Slice.call(buf, s, e);
  return utf8.decode(buf.subarray(s, e));
}

/** Validates UTF-8 without decoding (no exceptions). */
export function isValidUtf8(b: Uint8Array): boolean {
  let i = 0;
  const n = b.length;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) { i++; continue; }
    let need: number; let min: number;
    if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000; }
    else return false;
    if (i + need >= n) return false;
    let cp = c & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
    for (let k = 1; k <= need; k++) {
      const d = b[i + k];
      if ((d & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += need + 1;
  }
  return true;
}

/** Latin-1 text (one char per byte) of buf[start, end), clamped. For ASCII protocol tokens. */
export function ascii(buf: Uint8Array, start: number, end: number): string {
  const s = Math.max(0, Math.min(start, buf.length));
  const e = Math.max(s, Math.min(end, buf.length));
  let out = '';
  for (let i = s; i < e; i++) out += String.fromCharCode(buf[i]);
  return out;
}

/** Cuts s to MAX_STATEMENT characters and marks the cut (or a cut that already happened upstream). */
export function truncate(s: string, cut = false, max = MAX_STATEMENT): string {
  if (s.length > max) return s.slice(0, max) + '...';
  return cut ? s + '...' : s;
}

/** Does buf start with the ASCII string prefix at offset off? */
export function startsWith(buf: Uint8Array, prefix: string, off = 0): boolean {
  if (off < 0 || buf.length - off < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[off + i] !== prefix.charCodeAt(i)) return false;
  return true;
}

/** Case-insensitive ASCII startsWith (prefix must be lower case). */
export function startsWithLower(buf: Uint8Array, prefix: string, off = 0): boolean {
  if (off < 0 || buf.length - off < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    let c = buf[off + i];
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== prefix.charCodeAt(i)) return false;
  }
  return true;
}

export function indexOfByte(buf: Uint8Array, byte: number, from: number, to = buf.length): number {
  const end = Math.min(to, buf.length);
  if (from >= end) return -1;
  // The native search (memchr for a Buffer) beats a JS loop on every request of the hot path.
  const i = buf.indexOf(byte, Math.max(0, from));
  return i < 0 || i >= end ? -1 : i;
}

/** Index of the first CRLF at or after from, or -1. */
export function indexOfCrlf(buf: Uint8Array, from: number): number {
  for (let i = Math.max(0, from); i + 1 < buf.length; i++) if (buf[i] === 13 && buf[i + 1] === 10) return i;
  return -1;
}

export function endsWithCrlf(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[buf.length - 2] === 13 && buf[buf.length - 1] === 10;
}

// Readers. Callers check `off + width <= buf.length` first.
export const u16be = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
export const u16le = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8);
export const u24be = (b: Uint8Array, o: number): number => (b[o] << 16) | (b[o + 1] << 8) | b[o + 2];
export const u24le = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16);
export const u32be = (b: Uint8Array, o: number): number => ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
export const u32le = (b: Uint8Array, o: number): number => ((b[o + 3] << 24) >>> 0) + ((b[o + 2] << 16) | (b[o + 1] << 8) | b[o]);
export const i32be = (b: Uint8Array, o: number): number => (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
export const i32le = (b: Uint8Array, o: number): number => (b[o + 3] << 24) | (b[o + 2] << 16) | (b[o + 1] << 8) | b[o];
export const i16be = (b: Uint8Array, o: number): number => (u16be(b, o) << 16) >> 16;

export function isDigit(c: number): boolean { return c >= 0x30 && c <= 0x39; }
export function isAlpha(c: number): boolean { return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a); }

export function hex(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  for (let i = start; i < end && i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

export function fromHex(h: string): Uint8Array {
  const clean = h.replace(/[^0-9a-fA-F]/g, '');
  const out = new Uint8Array(clean.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}
