// Minimal protobuf wire-format reader and writer. Rootsight speaks a handful of fixed protobuf
// schemas (Prometheus remote write, OTLP, pprof); a generic runtime would cost more than these
// lines and hide where limits are checked. 64-bit values come back exact as bigint where they
// can exceed 2^53 (nanosecond timestamps), and nesting is bounded against hostile input.

export class ProtobufDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufDecodeError';
  }
}

export const WireType = { Varint: 0, Fixed64: 1, LengthDelimited: 2, Fixed32: 5 } as const;

const textDecoder = new TextDecoder('utf-8', { fatal: true });
// Node's Latin-1 slice works on any Uint8Array; not in the public typings. Absent outside Node.
const latin1Slice = typeof Buffer === 'undefined' ? undefined
  : (Buffer.prototype as unknown as { latin1Slice?: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;
const textEncoder = new TextEncoder();

const MAX_NESTING = 32;

/** Reads fields from one message; nested messages get their own reader over a sub-range. */
export class ProtobufReader {
  pos: number;
  // Created on first use: most sub-messages (labels, attributes) never read a fixed-width field,
  // and a DataView per sub-reader was a measurable share of OTLP decoding.
  private dataView: DataView | undefined;

  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length, readonly depth = 0) {
    this.pos = start;
    if (depth > MAX_NESTING) throw new ProtobufDecodeError(`messages nested more than ${MAX_NESTING} levels deep`);
  }

  private get view(): DataView {
    return (this.dataView ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** Returns [fieldNumber, wireType] of the next field. */
  tag(): [number, number] {
    const key = this.varint();
    const field = Math.floor(key / 8);
    if (field === 0) throw new ProtobufDecodeError(`field number 0 at byte ${this.pos}`);
    return [field, key & 7];
  }

  /** Varints up to 2^53 are exact; larger ones (rare: huge int64 timestamps) lose precision, never throw. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtobufDecodeError('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new ProtobufDecodeError('varint longer than 10 bytes');
  }

  /** int64 as a two's-complement varint: negative values come back negative. */
  int64(): number {
    return Number(this.varintBig(true));
  }

  /** int64 / uint64 varint, exact. */
  varintBig(signed: boolean): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtobufDecodeError('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return signed ? BigInt.asIntN(64, result) : BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw new ProtobufDecodeError('varint longer than 10 bytes');
  }

  fixed64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  fixed32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A repeated varint field, packed (wire type 2) or not (0), appended to out. */
  repeatedVarintBig(wireType: number, signed: boolean, out: bigint[]): void {
    if (wireType === WireType.Varint) { out.push(this.varintBig(signed)); return; }
    this.expect(WireType.LengthDelimited, wireType);
    const r = this.sub();
    while (!r.done()) out.push(r.varintBig(signed));
  }

  repeatedVarint(wireType: number, out: number[]): void {
    if (wireType === WireType.Varint) { out.push(this.varint()); return; }
    this.expect(WireType.LengthDelimited, wireType);
    const r = this.sub();
    while (!r.done()) out.push(r.varint());
  }

  double(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Returns [start, end) of a length-delimited field without copying. */
  range(): [number, number] {
    const len = this.varint();
    this.need(len);
    const start = this.pos;
    this.pos += len;
    return [start, this.pos];
  }

  bytes(): Uint8Array {
    const [s, e] = this.range();
    return this.buf.subarray(s, e);
  }

  string(): string {
    const [s, e] = this.range();
    // ASCII (nearly every name, key and value on the wire) is valid UTF-8 byte for byte; Latin-1
    // slicing it is ~3× cheaper than a TextDecoder call.
    if (latin1Slice && e - s <= 256) {
      const b = this.buf;
      let i = s;
      while (i < e && b[i]! < 0x80) i++;
      if (i === e) return latin1Slice.call(b, s, e);
    }
    try {
      return textDecoder.decode(this.buf.subarray(s, e));
    } catch {
      throw new ProtobufDecodeError(`invalid UTF-8 in string field at byte ${s}`);
    }
  }

  sub(): ProtobufReader {
    const [s, e] = this.range();
    const r = new ProtobufReader(this.buf, s, e, this.depth + 1);
    r.dataView = this.dataView; // same bytes: share the view instead of making one per message
    return r;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WireType.Varint: this.varint(); return;
      case WireType.Fixed64: this.need(8); this.pos += 8; return;
      case WireType.LengthDelimited: this.range(); return;
      case WireType.Fixed32: this.need(4); this.pos += 4; return;
      default: throw new ProtobufDecodeError(`unsupported wire type ${wireType} at byte ${this.pos}`);
    }
  }

  expect(wireType: number, actual: number, field = ''): void {
    if (wireType !== actual) throw new ProtobufDecodeError(`${field ? `field ${field}: ` : ''}wire type ${actual}, expected ${wireType} at byte ${this.pos}`);
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new ProtobufDecodeError(`truncated message: need ${n} bytes at ${this.pos}, have ${this.end - this.pos}`);
  }
}

/** Append-only writer. Nested messages are written in place (beginMessage/endMessage) or into a
 * child writer and then embedded (message). */
export class ProtobufWriter {
  private cur = new Uint8Array(256);
  private len = 0;
  private view = new DataView(this.cur.buffer);

  private ensure(n: number): void {
    if (this.len + n <= this.cur.length) return;
    let size = this.cur.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.cur.subarray(0, this.len));
    this.cur = next;
    this.view = new DataView(next.buffer);
  }

  get length(): number {
    return this.len;
  }

  tag(field: number, wireType: number): this {
    return this.varint(field * 8 + wireType);
  }

  varint(v: number): this {
    this.ensure(10);
    if (v < 0) {
      // int64 negative: two's complement over 64 bits, always 10 bytes.
      let lo = (v % 2 ** 32 + 2 ** 32) % 2 ** 32;
      let hi = Math.floor(v / 2 ** 32) + 2 ** 32;
      for (let i = 0; i < 9; i++) {
        this.cur[this.len++] = (lo & 0x7f) | 0x80;
        lo = (lo >>> 7) | ((hi & 0x7f) << 25);
        hi = hi >>> 7;
      }
      this.cur[this.len++] = lo & 0x01;
      return this;
    }
    while (v >= 0x80) {
      this.cur[this.len++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.cur[this.len++] = v;
    return this;
  }

  double(field: number, v: number): this {
    this.tag(field, WireType.Fixed64);
    this.ensure(8);
    this.view.setFloat64(this.len, v, true);
    this.len += 8;
    return this;
  }

  /** fixed64 from a bigint (OTLP nanosecond timestamps exceed 2^53). */
  fixed64(field: number, v: bigint): this {
    this.tag(field, WireType.Fixed64);
    this.ensure(8);
    this.view.setBigUint64(this.len, BigInt.asUintN(64, v), true);
    this.len += 8;
    return this;
  }

  bool(field: number, v: boolean): this {
    return this.tag(field, WireType.Varint).varint(v ? 1 : 0);
  }

  int64(field: number, v: number): this {
    return this.tag(field, WireType.Varint).varint(v);
  }

  uint(field: number, v: number): this {
    return this.tag(field, WireType.Varint).varint(v);
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WireType.LengthDelimited).varint(data.length);
    this.ensure(data.length);
    this.cur.set(data, this.len);
    this.len += data.length;
    return this;
  }

  string(field: number, s: string): this {
    // ASCII (nearly every key and value) is written char by char in one pass, without an encoder
    // call and its intermediate array; at the first other char the write is undone and the
    // string goes through the encoder.
    const n = s.length;
    if (n > 1024) return this.bytes(field, textEncoder.encode(s));
    const start = this.len;
    this.tag(field, WireType.LengthDelimited).varint(n);
    this.ensure(n);
    const cur = this.cur;
    let at = this.len;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.len = start;
        return this.bytes(field, textEncoder.encode(s));
      }
      cur[at++] = c;
    }
    this.len = at;
    return this;
  }

  /** Bytes that are already encoded fields of this message. */
  raw(data: Uint8Array): this {
    this.ensure(data.length);
    this.cur.set(data, this.len);
    this.len += data.length;
    return this;
  }

  message(field: number, child: ProtobufWriter): this {
    return this.bytes(field, child.finish());
  }

  /**
   * Starts a nested message of `field` written in place, without a child writer; close it with
   * endMessage(mark). One byte is reserved for its length; a longer message is moved up once
   * its length is known.
   */
  beginMessage(field: number): number {
    this.tag(field, WireType.LengthDelimited);
    this.ensure(1);
    return this.len++;
  }

  endMessage(mark: number): this {
    const size = this.len - mark - 1;
    let lengthBytes = 1;
    for (let v = size; v >= 0x80; v = Math.floor(v / 128)) lengthBytes++;
    if (lengthBytes > 1) {
      this.ensure(lengthBytes - 1);
      this.cur.copyWithin(mark + lengthBytes, mark + 1, this.len);
      this.len += lengthBytes - 1;
    }
    let v = size, at = mark;
    while (v >= 0x80) {
      this.cur[at++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.cur[at] = v;
    return this;
  }

  finish(): Uint8Array {
    return this.cur.subarray(0, this.len);
  }
}
