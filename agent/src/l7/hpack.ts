// HPACK (RFC 7541) decoder: static table, dynamic table with size updates, Huffman strings.
// The Huffman code of Appendix B is canonical (codes of equal length are consecutive and ordered
// by symbol), so it is fully described by the code length of each of the 257 symbols; the
// decoding table is rebuilt from those lengths at module load.

/** Code length in bits of symbols 0..256 (256 = EOS), RFC 7541 Appendix B. */
const HUFFMAN_LENGTHS: readonly number[] = [
  // 0-31 (control characters)
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  // 32-63: ' ' ! " # $ % & ' ( ) * + , - . /  0-9 : ; < = > ?
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  // 64-95: @ A-Z [ \ ] ^ _
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  // 96-127: ` a-z { | } ~ DEL
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  // 128-255
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  // 256: EOS
  30,
];

export interface HuffmanCode { code: number; bits: number }

/** Canonical codes from the lengths: exported so tests can check them against the RFC table. */
export const HUFFMAN_CODES: readonly HuffmanCode[] = (() => {
  const order = HUFFMAN_LENGTHS.map((bits, sym) => ({ bits, sym })).sort((a, b) => a.bits - b.bits || a.sym - b.sym);
  const codes: HuffmanCode[] = new Array(257);
  let code = 0;
  let prevBits = order[0].bits;
  for (let k = 0; k < order.length; k++) {
    const { bits, sym } = order[k];
    if (k > 0) code = (code + 1) * 2 ** (bits - prevBits);
    prevBits = bits;
    codes[sym] = { code, bits };
  }
  return codes;
})();

// Decoding tree as flat arrays: node i has children left[i]/right[i]; leaves store sym >= 0.
const MAX_NODES = 2 * 257;
const left = new Int16Array(MAX_NODES).fill(-1);
const right = new Int16Array(MAX_NODES).fill(-1);
const leafSym = new Int16Array(MAX_NODES).fill(-1);
let nodeCount = 1;
for (let sym = 0; sym < 257; sym++) {
  const { code, bits } = HUFFMAN_CODES[sym];
  let n = 0;
  for (let i = bits - 1; i >= 0; i--) {
    const bit = Math.floor(code / 2 ** i) % 2;
    const arr = bit ? right : left;
    if (arr[n] < 0) arr[n] = nodeCount++;
    n = arr[n];
  }
  leafSym[n] = sym;
}

/**
 * Decodes Huffman-coded bytes b[start, end) into a latin1 string (one char per octet).
 * Returns undefined on a coding error: EOS in the data, padding longer than 7 bits or not all ones.
 */
export function huffmanDecode(b: Uint8Array, start: number, end: number): string | undefined {
  let n = 0;
  let depth = 0; // bits consumed since the last symbol
  let allOnes = true;
  const out: number[] = [];
  for (let i = start; i < end; i++) {
    const byte = b[i];
    for (let bit = 7; bit >= 0; bit--) {
      const v = (byte >> bit) & 1;
      n = v ? right[n] : left[n];
      if (n < 0) return undefined;
      depth++;
      if (!v) allOnes = false;
      const s = leafSym[n];
      if (s >= 0) {
        if (s === 256) return undefined; // EOS must not appear in a string
        out.push(s);
        n = 0; depth = 0; allOnes = true;
      }
    }
  }
  if (depth > 7 || !allOnes) return undefined;
  let s = '';
  for (let i = 0; i < out.length; i += 4096) s += String.fromCharCode(...out.slice(i, i + 4096));
  return s;
}

export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''],
  ['etag', ''], ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''],
  ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''],
  ['last-modified', ''], ['link', ''], ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''],
  ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''], ['retry-after', ''],
  ['server', ''], ['set-cookie', ''], ['strict-transport-security', ''], ['transfer-encoding', ''],
  ['user-agent', ''], ['vary', ''], ['via', ''], ['www-authenticate', ''],
];

export type HeaderField = [name: string, value: string];

/** Name of a dynamic-table entry added after a late join, named by an entry from before it. */
const UNKNOWN_NAME = '\u0000';

/** Hard cap on any dynamic table size a peer can ask for (the protocol allows 2^32-1). */
const TABLE_SIZE_CAP = 1 << 20;
/** Cap on the decoded size of one header list (name + value + 32 per field). */
const HEADER_LIST_CAP = 256 * 1024;

export class HpackDecoder {
  /** Dynamic table, oldest first (index 1 of the dynamic table is the last element). */
  private entries: HeaderField[] = [];
  private size = 0;
  private maxSize: number;
  /** Upper bound for size updates: SETTINGS_HEADER_TABLE_SIZE as advertised by the decoding side. */
  private limit: number;
  /**
   * The decoder joined a connection after its start (the agent started later), so the entries
   * added before are unknown. A reference to one (a dynamic index beyond the entries seen) skips
   * that field instead of failing the block. The entries added since are still right: both tables
   * add the same entries in the same order, so the ones this decoder has are the encoder's newest,
   * at the same indices, whatever either side evicted (sizes of entries named after an unknown
   * entry are guessed short, so this side evicts no earlier than the encoder).
   */
  joinedLate = false;
  /** Fields of the last decoded block that were skipped as unknown (joinedLate only). */
  unknownFields = 0;

  constructor(maxTableSize = 4096) {
    this.maxSize = Math.min(maxTableSize, TABLE_SIZE_CAP);
    this.limit = this.maxSize;
  }

  /** The decoding side advertised SETTINGS_HEADER_TABLE_SIZE (applied permissively: the bound only grows). */
  setLimit(n: number): void {
    this.limit = Math.min(Math.max(this.limit, n), TABLE_SIZE_CAP);
  }

  get tableSize(): number { return this.size; }
  get maxTableSize(): number { return this.maxSize; }
  /** Dynamic table entries, newest first (dynamic index 1 first). */
  table(): HeaderField[] { return this.entries.slice().reverse(); }

  private evict(): void {
    let drop = 0;
    while (this.size > this.maxSize && drop < this.entries.length) {
      const [n, v] = this.entries[drop];
      this.size -= n.length + v.length + 32;
      drop++;
    }
    if (drop) this.entries.splice(0, drop);
  }

  private add(name: string, value: string): void {
    const sz = name.length + value.length + 32;
    if (sz > this.maxSize) { this.entries = []; this.size = 0; return; }
    this.entries.push([name, value]);
    this.size += sz;
    this.evict();
  }

  private lookup(index: number): HeaderField | undefined {
    if (index <= 0) return undefined;
    if (index <= STATIC_TABLE.length) {
      const e = STATIC_TABLE[index - 1];
      return [e[0], e[1]];
    }
    const d = index - STATIC_TABLE.length;
    if (d > this.entries.length) return undefined;
    return this.entries[this.entries.length - d];
  }

  /**
   * Decodes one complete header block. Returns undefined on a decoding error, after which the
   * dynamic table may be out of step with the encoder (the caller should stop trusting it).
   */
  decode(b: Uint8Array, start = 0, end = b.length): HeaderField[] | undefined {
    const out: HeaderField[] = [];
    let p = start;
    let listSize = 0;
    let fieldSeen = false;
    this.unknownFields = 0;
    /** A dynamic index a late-joined decoder cannot know: the field is skipped, not an error. */
    const unknownIndex = (idx: number) => this.joinedLate && idx > STATIC_TABLE.length;
    const int = (prefixBits: number): number => {
      // RFC 7541 §5.1; -1 on truncation or a value above 2^28.
      if (p >= end) return -1;
      const max = (1 << prefixBits) - 1;
      let v = b[p++] & max;
      if (v < max) return v;
      let m = 0;
      for (;;) {
        if (p >= end || m > 21) return -1;
        const c = b[p++];
        v += (c & 0x7f) * 2 ** m;
        m += 7;
        if (!(c & 0x80)) break;
      }
      return v > 1 << 28 ? -1 : v;
    };
    const str = (): string | undefined => {
      if (p >= end) return undefined;
      const huff = (b[p] & 0x80) !== 0;
      const len = int(7);
      if (len < 0 || len > end - p) return undefined;
      const s0 = p;
      p += len;
      if (huff) return huffmanDecode(b, s0, s0 + len);
      let s = '';
      for (let i = s0; i < s0 + len; i += 4096) s += String.fromCharCode(...b.subarray(i, Math.min(i + 4096, s0 + len)));
      return s;
    };
    while (p < end) {
      const c = b[p];
      let field: HeaderField | undefined;
      if (c & 0x80) {
        const idx = int(7);
        field = this.lookup(idx);
        if (!field && !unknownIndex(idx)) return undefined;
        if (!field || field[0] === UNKNOWN_NAME) { this.unknownFields++; fieldSeen = true; continue; }
        field = [field[0], field[1]];
      } else if ((c & 0xe0) === 0x20) {
        // Dynamic table size update: only at the start of a block.
        if (fieldSeen) return undefined;
        const n = int(5);
        if (n < 0 || n > this.limit) return undefined;
        this.maxSize = n;
        this.evict();
        continue;
      } else {
        const incremental = (c & 0xc0) === 0x40;
        const idx = int(incremental ? 6 : 4);
        if (idx < 0) return undefined;
        let name: string | undefined;
        if (idx === 0) name = str();
        else name = this.lookup(idx)?.[0] ?? (unknownIndex(idx) ? UNKNOWN_NAME : undefined);
        if (name === undefined) return undefined;
        const value = str();
        if (value === undefined) return undefined;
        field = [name, value];
        if (incremental) this.add(name, value);
        if (name === UNKNOWN_NAME) { this.unknownFields++; fieldSeen = true; continue; }
      }
      fieldSeen = true;
      listSize += field[0].length + field[1].length + 32;
      if (listSize > HEADER_LIST_CAP) return undefined;
      out.push(field);
    }
    return out;
  }
}
