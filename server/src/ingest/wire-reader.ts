// Protobuf wire reading for OTLP and pprof, with what the shared reader in common/ lacks for these
// schemas: exact 64-bit fixed and varint values as bigint (nanosecond timestamps exceed 2^53),
// packed repeated fields, and a nesting-depth guard against hostile input.
import { ProtobufDecodeError } from '@rootsight/common';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class WireReader {
  pos: number;

  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length, readonly depth = 0) {
    this.pos = start;
    if (depth > 32) throw new ProtobufDecodeError('messages nested more than 32 levels deep');
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  tag(): [number, number] {
    const key = this.varint();
    const field = Math.floor(key / 8);
    if (field === 0) throw new ProtobufDecodeError(`field number 0 at byte ${this.pos}`);
    return [field, key & 7];
  }

  /** Exact up to 2^53; used for lengths, enums, small ints. */
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
    const lo = BigInt((this.buf[this.pos]! | (this.buf[this.pos + 1]! << 8) | (this.buf[this.pos + 2]! << 16) | (this.buf[this.pos + 3]! << 24)) >>> 0);
    const hi = BigInt((this.buf[this.pos + 4]! | (this.buf[this.pos + 5]! << 8) | (this.buf[this.pos + 6]! << 16) | (this.buf[this.pos + 7]! << 24)) >>> 0);
    this.pos += 8;
    return (hi << 32n) | lo;
  }

  fixed32(): number {
    this.need(4);
    const v = (this.buf[this.pos]! | (this.buf[this.pos + 1]! << 8) | (this.buf[this.pos + 2]! << 16) | (this.buf[this.pos + 3]! << 24)) >>> 0;
    this.pos += 4;
    return v;
  }

  double(): number {
    this.need(8);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }

  range(): [number, number] {
    const len = this.varint();
    this.need(len);
    const s = this.pos;
    this.pos += len;
    return [s, this.pos];
  }

  bytes(): Uint8Array {
    const [s, e] = this.range();
    return this.buf.subarray(s, e);
  }

  string(): string {
    const [s, e] = this.range();
    if (e === s) return '';
    try {
      return utf8.decode(this.buf.subarray(s, e));
    } catch {
      throw new ProtobufDecodeError(`invalid UTF-8 in a string field at byte ${s}`);
    }
  }

  sub(): WireReader {
    const [s, e] = this.range();
    return new WireReader(this.buf, s, e, this.depth + 1);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0: this.varint(); return;
      case 1: this.need(8); this.pos += 8; return;
      case 2: this.range(); return;
      case 5: this.need(4); this.pos += 4; return;
      default: throw new ProtobufDecodeError(`unsupported wire type ${wireType} at byte ${this.pos}`);
    }
  }

  /** Reads a repeated varint field, packed (wire type 2) or not (0), into out. */
  repeatedVarintBig(wireType: number, signed: boolean, out: bigint[]): void {
    if (wireType === 0) { out.push(this.varintBig(signed)); return; }
    this.expect(2, wireType);
    const [s, e] = this.range();
    const r = new WireReader(this.buf, s, e, this.depth + 1);
    while (!r.done()) out.push(r.varintBig(signed));
  }

  repeatedVarint(wireType: number, out: number[]): void {
    if (wireType === 0) { out.push(this.varint()); return; }
    this.expect(2, wireType);
    const [s, e] = this.range();
    const r = new WireReader(this.buf, s, e, this.depth + 1);
    while (!r.done()) out.push(r.varint());
  }

  expect(want: number, got: number, field = ''): void {
    if (want !== got) throw new ProtobufDecodeError(`${field ? `field ${field}: ` : ''}wire type ${got}, expected ${want} at byte ${this.pos}`);
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new ProtobufDecodeError(`truncated message: need ${n} bytes at byte ${this.pos}, have ${this.end - this.pos}`);
  }
}

const hexTable = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += hexTable[b[i]!];
  return s;
}
