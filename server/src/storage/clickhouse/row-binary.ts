// ClickHouse's RowBinary input format, written straight into one growing buffer. The engine reads
// it without parsing text (no JSON, no float formatting, no escaping), which is what makes inserts
// cheap: a row is its values' bytes in column order. Type mapping used by our tables:
//   String / LowCardinality(String) → varint length + bytes    FixedString(N) → N bytes
//   (U)Int8..64, Enum8 → little-endian integer                 Float64 → 8 bytes IEEE 754
//   DateTime64(P) → Int64 ticks of 10^-P s                      Array(T), Map(K, V) → varint count + items

/** Float64 bit pattern Prometheus uses for "series ended" (a signalling NaN; JS numbers cannot keep it). */
export const staleMarkerBits = 0x7ff0000000000002n;

/** Whether the little-endian Float64 at byteOffset is exactly the stale marker (read from its bits: as a JS number it is just NaN). */
export function isStaleMarkerAt(view: DataView, byteOffset: number): boolean {
  return view.getUint32(byteOffset, true) === 0x00000002 && view.getUint32(byteOffset + 4, true) === 0x7ff00000;
}

/** Value of one hex digit's char code; 0 for anything else (ids come from our own hex encoders). */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return 0;
}

export class RowBinaryWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Makes room for n more bytes. */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  /** A non-negative integer below 2^53 as UInt64 (or a non-negative Int64). */
  u64(v: number): void {
    this.reserve(8);
    this.buf.writeUInt32LE(v % 0x1_0000_0000, this.pos);
    this.buf.writeUInt32LE(Math.floor(v / 0x1_0000_0000), this.pos + 4);
    this.pos += 8;
  }

  /** Any integer in [-2^53, 2^53] as Int64 (e.g. DateTime64(3) milliseconds). */
  i64(v: number): void {
    if (v >= 0) { this.u64(v); return; }
    this.reserve(8);
    this.buf.writeBigInt64LE(BigInt(v), this.pos);
    this.pos += 8;
  }

  bigU64(v: bigint): void {
    this.reserve(8);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.pos);
    this.pos += 8;
  }

  bigI64(v: bigint): void {
    this.reserve(8);
    this.buf.writeBigInt64LE(BigInt.asIntN(64, v), this.pos);
    this.pos += 8;
  }

  f64(v: number): void {
    this.reserve(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** LEB128, as RowBinary prefixes strings, arrays and maps. */
  varint(v: number): void {
    this.reserve(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  string(s: string): void {
    const len = s.length;
    // Short ASCII strings (names, keys, most values) are copied char by char: cheaper than a
    // native Buffer.write call. Anything else falls back to the UTF-8 encoder.
    if (len < 128) {
      this.reserve(1 + len * 3);
      const buf = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === len) {
        buf[this.pos] = len;
        this.pos = start + len;
        return;
      }
      if (len <= 42) {
        // 42 × 3 bytes still fits a one-byte length.
        const n = buf.write(s, start, 'utf8');
        buf[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    const n = Buffer.byteLength(s);
    this.varint(n);
    this.reserve(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** A String column holding a non-negative integer below 2^53 in decimal, as String(v) would. */
  decimal(v: number): void {
    this.reserve(17);
    const buf = this.buf;
    let digits = 1;
    for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
    buf[this.pos] = digits;
    let p = this.pos + digits;
    for (let x = v, i = 0; i < digits; i++) {
      const q = Math.floor(x / 10);
      buf[p--] = 48 + (x - q * 10);
      x = q;
    }
    this.pos += 1 + digits;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** String column from raw bytes (already valid UTF-8). */
  stringBytes(b: Uint8Array): void {
    this.varint(b.length);
    this.bytes(b);
  }

  /** FixedString(n) from hex (as our decoders produce it); '' (absent) is n zero bytes. */
  fixedHex(hex: string, n: number): void {
    this.reserve(n);
    const buf = this.buf;
    const p = this.pos;
    if (hex.length !== n * 2) {
      buf.fill(0, p, p + n);
      if (hex !== '') buf.write(hex, p, n, 'hex');
    } else {
      for (let i = 0; i < n; i++) buf[p + i] = (hexDigit(hex.charCodeAt(2 * i)) << 4) | hexDigit(hex.charCodeAt(2 * i + 1));
    }
    this.pos = p + n;
  }

  /** Map(String, String) from an object. */
  stringMap(m: Record<string, string>): void {
    const keys = Object.keys(m);
    this.varint(keys.length);
    for (const k of keys) {
      this.string(k);
      this.string(m[k]!);
    }
  }

  /** The bytes written so far (a view; valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
