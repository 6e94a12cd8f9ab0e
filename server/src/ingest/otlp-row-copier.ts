// OTLP protobuf copied straight into ClickHouse RowBinary, the part spans and log records share:
// a bounds-checked cursor over the request bytes, and writers that move strings, ids, timestamps
// and attribute maps from the wire to the payload without building per-item objects or hex
// strings. Most of what OTLP carries (ids, names, string attributes, fixed64 times) has the same
// bytes on both sides, so one pass that validates and copies replaces decode-to-objects plus encode.
// Validation matches the object decoder (otlp-decode.ts): the same inputs are accepted, and the
// bytes written equal encodeSpans/encodeLogs of its rows (a test checks this on fuzzed input).
import { isUtf8 } from 'node:buffer';
import { ProtobufDecodeError } from '@rootsight/common';
import type { RowBinaryWriter } from '../storage/clickhouse/row-binary.ts';
import { readAnyValue, readResource, readScope, type ResourceInfo, type ScopeInfo } from './otlp-decode.ts';
import { OtlpInvalidError, checkTimestamp, emptyValue, maxTimestampNs, valueToString, type AnyValue, type OtlpLimits } from './otlp-values.ts';
import { WireReader } from './wire-reader.ts';

const maxTimestampHigh = Number(maxTimestampNs >> 32n);

const wireTypeNames = ['varint', 'fixed64', 'length-delimited', 'start group', 'end group', 'fixed32', '6', '7'];

/**
 * Names what an error is about: a field name of the item being written (the message adds the item's
 * position), or a function building the whole subject for anything deeper.
 */
export type Where = string | (() => string);

/** Key-value ranges of one attribute list, collected while scanning its owner (fields come in any order). */
export class KeyValueRanges {
  starts: number[] = [];
  ends: number[] = [];
  n = 0;

  add(start: number, end: number): void {
    this.starts[this.n] = start;
    this.ends[this.n] = end;
    this.n++;
  }
}

/** Names in an Export*ServiceRequest: both signals nest request › resources › scopes › items alike. */
export interface RequestShape {
  message: string;
  resources: string;
  scopes: string;
  items: string;
  resourceFields: readonly (string | undefined)[];
  scopeFields: readonly (string | undefined)[];
}

/**
 * Walks request › Resource* › Scope* › items, calling beginScope once per scope and item once per
 * span or log record. Resource and scope are decoded as objects (once each: tiny next to their items).
 */
export abstract class OtlpRowCopier {
  /** Read position in src. */
  p = 0;
  /** Items written. */
  protected rows = 0;
  /** Position of the item being written (resource, scope, item index), for error messages. */
  private at = [0, 0, 0];
  // One closure for every item's error messages, built only when one is needed (a closure or a
  // string per item was a measurable cost).
  protected readonly itemWhere = () => `${this.shape.resources}[${this.at[0]}].${this.shape.scopes}[${this.at[1]}].${this.shape.items}[${this.at[2]}]`;
  protected readonly view: DataView;
  // One attribute map's parsed entries; reused for every map of the request.
  private keyStart: number[] = [];
  private keyEnd: number[] = [];
  private valueStart: number[] = [];
  private valueEnd: number[] = [];
  private dropped: boolean[] = [];

  constructor(readonly src: Uint8Array, readonly out: RowBinaryWriter, readonly limits: OtlpLimits, private readonly shape: RequestShape) {
    this.view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  }

  protected abstract beginScope(resource: ResourceInfo, scope: ScopeInfo): void;
  protected abstract item(s: number, e: number): void;

  /** Copies every item of the request; returns how many. */
  request(): number {
    const end = this.src.length;
    const requestFields = [undefined, this.shape.resources];
    let ri = 0;
    while (this.p < end) {
      const key = this.tag(end);
      if (key === 0x0a) {
        const e = this.len(end);
        this.resource(this.p, e, ri++);
        this.p = e;
      } else this.skipUnknown(key, end, requestFields);
    }
    return this.rows;
  }

  private resource(s: number, e: number, ri: number): void {
    // The resource may come after its scopes on the wire: find it first.
    let resource: ResourceInfo = { attributes: {}, serviceName: '' };
    const scopes: number[] = [];
    this.p = s;
    while (this.p < e) {
      const key = this.tag(e);
      if (key === 0x0a) {
        const end = this.len(e);
        const at = this.p;
        resource = this.decoded(() => readResource(new WireReader(this.src, at, end, 2), this.limits, () => `${this.shape.resources}[${ri}].resource`));
        this.p = end;
      } else if (key === 0x12) {
        const end = this.len(e);
        scopes.push(this.p, end);
        this.p = end;
      } else this.skipUnknown(key, e, this.shape.resourceFields);
    }
    for (let i = 0; i < scopes.length; i += 2) this.scope(scopes[i]!, scopes[i + 1]!, resource, ri, i / 2);
  }

  private scope(s: number, e: number, resource: ResourceInfo, ri: number, si: number): void {
    let scope: ScopeInfo = { name: '', version: '' };
    const items: number[] = [];
    this.p = s;
    while (this.p < e) {
      const key = this.tag(e);
      if (key === 0x0a) {
        const end = this.len(e);
        const at = this.p;
        scope = this.decoded(() => readScope(new WireReader(this.src, at, end, 3)));
        this.p = end;
      } else if (key === 0x12) {
        const end = this.len(e);
        items.push(this.p, end);
        this.p = end;
      } else this.skipUnknown(key, e, this.shape.scopeFields);
    }
    if (items.length === 0) return;
    this.beginScope(resource, scope);
    for (let i = 0; i < items.length; i += 2) {
      this.at[0] = ri; this.at[1] = si; this.at[2] = i / 2;
      this.item(items[i]!, items[i + 1]!);
      this.rows++;
    }
  }

  private decoded<T>(f: () => T): T {
    try {
      return f();
    } catch (err) {
      return this.rethrow(err);
    }
  }

  malformed(detail: string): OtlpInvalidError {
    return new OtlpInvalidError(`malformed protobuf ${this.shape.message}: ${detail}`);
  }

  /** Errors from the shared reader (used for rare value shapes) read like our own. */
  rethrow(e: unknown): never {
    if (e instanceof ProtobufDecodeError) throw this.malformed(e.message);
    throw e;
  }

  wrongType(field: string, key: number): OtlpInvalidError {
    return this.malformed(`field ${field}: wire type ${wireTypeNames[key % 8]}, at byte ${this.p}`);
  }

  /** Varints up to 2^53 are exact; larger ones come back rounded (callers that care re-read them as bigint). */
  varint(end: number): number {
    const src = this.src;
    let p = this.p;
    if (p >= end) throw this.malformed(`truncated varint at byte ${p}`);
    let b = src[p++]!;
    if (b < 0x80) { this.p = p; return b; }
    let result = b & 0x7f;
    let scale = 128;
    for (let i = 1; i < 10; i++) {
      if (p >= end) throw this.malformed(`truncated varint at byte ${p}`);
      b = src[p++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) { this.p = p; return result; }
      scale *= 128;
    }
    throw this.malformed(`varint longer than 10 bytes at byte ${this.p}`);
  }

  /** The next field's key (field number × 8 + wire type). */
  tag(end: number): number {
    const key = this.varint(end);
    if (key < 8) throw this.malformed(`field number 0 at byte ${this.p}`);
    return key;
  }

  /** Reads a length prefix; returns where the field ends, leaving p at its first byte. */
  len(end: number): number {
    const n = this.varint(end);
    if (n > end - this.p) throw this.malformed(`truncated message: need ${n} bytes at ${this.p}, have ${end - this.p}`);
    return this.p + n;
  }

  /** Position of a fixed-width field's bytes (p moves past them). */
  fixed(width: number, end: number): number {
    const at = this.p;
    if (width > end - at) throw this.malformed(`truncated message: need ${width} bytes at ${at}, have ${end - at}`);
    this.p = at + width;
    return at;
  }

  skip(key: number, end: number): void {
    switch (key % 8) {
      case 0: this.varint(end); return;
      case 1: this.fixed(8, end); return;
      case 2: this.p = this.len(end); return;
      case 5: this.fixed(4, end); return;
      default: throw this.malformed(`unsupported wire type ${key % 8} at byte ${this.p}`);
    }
  }

  /** Throws for a known field sent with the wrong wire type; skips anything else. */
  skipUnknown(key: number, end: number, known: readonly (string | undefined)[]): void {
    const name = known[Math.floor(key / 8)];
    if (name !== undefined) throw this.wrongType(name, key);
    this.skip(key, end);
  }

  /** UTF-8 check for a string field (protobuf strings must be UTF-8; ClickHouse would take anything). */
  checkUtf8(s: number, e: number): void {
    const src = this.src;
    let i = s;
    while (i < e && src[i]! < 0x80) i++;
    if (i < e && !isUtf8(src.subarray(s, e))) throw this.malformed(`invalid UTF-8 in string field at byte ${s}`);
  }

  copyBytes(s: number, e: number): void {
    const out = this.out;
    const n = e - s;
    out.reserve(n);
    if (n <= 128) {
      const src = this.src;
      const buf = out.buf;
      let o = out.pos;
      for (let i = s; i < e; i++) buf[o++] = src[i]!;
      out.pos = o;
    } else {
      out.buf.set(this.src.subarray(s, e), out.pos);
      out.pos += n;
    }
  }

  /** Bytes encoded once per resource or scope, copied into every row (a loop beats a native call at this size). */
  copyShared(b: Uint8Array): void {
    const out = this.out;
    const n = b.length;
    out.reserve(n);
    const buf = out.buf;
    const o = out.pos;
    for (let i = 0; i < n; i++) buf[o + i] = b[i]!;
    out.pos = o + n;
  }

  zeros(n: number): void {
    const out = this.out;
    out.reserve(n);
    const buf = out.buf;
    for (let i = 0; i < n; i++) buf[out.pos + i] = 0;
    out.pos += n;
  }

  /** A String column from a protobuf string field's bytes; s < 0 (absent) writes ''. */
  copyString(s: number, e: number): void {
    if (s < 0) { this.out.u8(0); return; }
    this.checkUtf8(s, e);
    this.out.varint(e - s);
    this.copyBytes(s, e);
  }

  /**
   * FixedString(n) from an id field: exactly n bytes, not all zero. An optional id that is absent
   * or all zero (OTLP's "invalid id") is written as n zero bytes, as the object path does.
   */
  copyId(s: number, e: number, n: number, optional: boolean, what: Where): void {
    const out = this.out;
    out.reserve(n);
    const len = s < 0 ? 0 : e - s;
    if (len === 0 && optional) { this.zeros(n); return; }
    if (len !== n) throw new OtlpInvalidError(`${this.whereOf(what)} must be ${n} bytes, got ${len}`);
    const src = this.src;
    let zero = true;
    for (let i = s; i < e; i++) if (src[i] !== 0) { zero = false; break; }
    if (zero && !optional) throw new OtlpInvalidError(`${this.whereOf(what)} is all zeros, which OTLP defines as invalid`);
    this.copyBytes(s, e);
  }

  /** Rejects a fixed64 timestamp at `at` past maxTimestampNs, as checkTimestamp does; at < 0 is absent. */
  checkTimestampAt(at: number, what: Where): void {
    // Below the limit's high word every low word is fine; at or above it, compare exactly.
    if (at >= 0 && this.hi32(at) >= maxTimestampHigh) checkTimestamp(this.view.getBigUint64(at, true), () => this.whereOf(what));
  }

  /** An error message's subject: a field of the current item (no closure per item), or any text. */
  whereOf(what: Where): string {
    return typeof what === 'string' ? `${this.itemWhere()}.${what}` : what();
  }

  /** DateTime64(9) from a fixed64 field: the same little-endian bytes; 0 when absent. */
  copyTimestamp(at: number): void {
    const out = this.out;
    out.reserve(8);
    if (at < 0) { this.zeros(8); return; }
    this.copyBytes(at, at + 8);
  }

  /** The uint32 halves of a fixed64 at `at` (0 when absent), for exact arithmetic without bigint. */
  lo32(at: number): number { return at < 0 ? 0 : this.view.getUint32(at, true); }
  hi32(at: number): number { return at < 0 ? 0 : this.view.getUint32(at + 4, true); }

  u32At(at: number): number { return this.view.getUint32(at, true); }

  /**
   * Writes a Map(String, String) from KeyValue messages: a repeated key keeps its first position
   * and its last value (as an object's keys do in the object path), values become strings the way
   * valueToString does. `readerDepth` is the nesting an AnyValue has here, so nested values hit the
   * same depth limits as in the object decoder.
   */
  writeAttributeMap(list: KeyValueRanges, readerDepth: number, where: () => string): void {
    const n = list.n;
    if (n > this.limits.maxAttributes) {
      throw new OtlpInvalidError(`${where()} has more than ${this.limits.maxAttributes} attributes; drop some (SDK attribute limits) or split the item`);
    }
    const ks = this.keyStart, ke = this.keyEnd, vs = this.valueStart, ve = this.valueEnd, dropped = this.dropped;
    for (let i = 0; i < n; i++) {
      this.readKeyValue(list.starts[i]!, list.ends[i]!, i, readerDepth);
      dropped[i] = false;
    }
    let count = n;
    if (n > 1) count -= this.mergeRepeatedKeys(n, readerDepth);
    this.out.varint(count);
    for (let i = 0; i < n; i++) {
      if (dropped[i]) continue;
      this.out.varint(ke[i]! - ks[i]!); // UTF-8 checked by readKeyValue
      this.copyBytes(ks[i]!, ke[i]!);
      this.writeValue(vs[i]!, ve[i]!, readerDepth);
    }
  }

  private readKeyValue(s: number, e: number, i: number, readerDepth: number): void {
    this.p = s;
    let k0 = -1, k1 = -1, v0 = -1, v1 = -1;
    while (this.p < e) {
      const key = this.tag(e);
      if (key === 0x0a) { const end = this.len(e); k0 = this.p; k1 = end; this.checkUtf8(k0, k1); this.p = end; }
      else if (key === 0x12) {
        const end = this.len(e);
        // An earlier value field is replaced, but the object decoder still validated it.
        if (v0 >= 0) this.valueOf(v0, v1, readerDepth);
        v0 = this.p; v1 = end; this.p = end;
      } else this.skipUnknown(key, e, keyValueFields);
    }
    this.keyStart[i] = k0 < 0 ? 0 : k0;
    this.keyEnd[i] = k0 < 0 ? 0 : k1;
    this.valueStart[i] = v0;
    this.valueEnd[i] = v1;
  }

  /**
   * Marks repeated keys dropped (moving their value to the first occurrence); returns how many. A
   * replaced value is never written, so it is validated here (the object decoder read it too).
   */
  private mergeRepeatedKeys(n: number, readerDepth: number): number {
    const ks = this.keyStart, ke = this.keyEnd, vs = this.valueStart, ve = this.valueEnd, dropped = this.dropped;
    const src = this.src;
    let merged = 0;
    if (n <= 32) {
      for (let j = 1; j < n; j++) {
        const len = ke[j]! - ks[j]!;
        for (let i = 0; i < j; i++) {
          if (dropped[i] || ke[i]! - ks[i]! !== len) continue;
          let same = true;
          for (let b = 0; b < len; b++) if (src[ks[i]! + b] !== src[ks[j]! + b]) { same = false; break; }
          if (!same) continue;
          this.valueOf(vs[i]!, ve[i]!, readerDepth);
          vs[i] = vs[j]!; ve[i] = ve[j]!; dropped[j] = true; merged++;
          break;
        }
      }
      return merged;
    }
    const firstByKey = new Map<string, number>();
    const bytes = Buffer.from(src.buffer, src.byteOffset, src.byteLength);
    for (let j = 0; j < n; j++) {
      const k = bytes.toString('latin1', ks[j]!, ke[j]!);
      const i = firstByKey.get(k);
      if (i === undefined) { firstByKey.set(k, j); continue; }
      this.valueOf(vs[i]!, ve[i]!, readerDepth);
      vs[i] = vs[j]!; ve[i] = ve[j]!; dropped[j] = true; merged++;
    }
    return merged;
  }

  /**
   * Writes an AnyValue (bytes s..e, s < 0 when absent) as the String its attribute map stores.
   * `readerDepth` is the message nesting this value has in the request (the object decoder's
   * reader counts it against its limit, so the same input is refused by both).
   */
  writeValue(s: number, e: number, readerDepth: number): void {
    if (s < 0) { this.out.u8(0); return; }
    // The last of the oneof's fields wins.
    this.p = s;
    let lastKey = 0, at = -1, atEnd = -1, nested = false;
    while (this.p < e) {
      const key = this.tag(e);
      switch (key) {
        case 0x0a: { const end = this.len(e); this.checkUtf8(this.p, end); lastKey = key; at = this.p; atEnd = end; this.p = end; break; }
        case 0x10: case 0x18: lastKey = key; at = this.p; this.varint(e); atEnd = this.p; break;
        case 0x21: lastKey = key; at = this.fixed(8, e); atEnd = this.p; break;
        case 0x2a: case 0x32: lastKey = key; this.p = this.len(e); nested = true; break;
        case 0x3a: { const end = this.len(e); lastKey = key; at = this.p; atEnd = end; this.p = end; break; }
        default: this.skipUnknown(key, e, anyValueFields);
      }
    }
    // Arrays and kvlists (rare in attributes) go through the object decoder, which validates every
    // field and renders JSON: one definition of both.
    if (nested) { this.out.string(valueToString(this.valueOf(s, e, readerDepth))); return; }
    switch (lastKey) {
      case 0x0a: this.out.varint(atEnd - at); this.copyBytes(at, atEnd); return;
      case 0x10: { this.p = at; this.out.string(this.varint(atEnd) !== 0 ? 'true' : 'false'); return; }
      case 0x18: {
        this.p = at;
        const v = this.varint(atEnd);
        // Exact below 2^53; negative int64s are 10-byte varints and take the bigint path.
        if (v < 2 ** 53) this.out.decimal(v);
        else this.out.string(new WireReader(this.src, at, atEnd).varintBig(true).toString());
        return;
      }
      case 0x21: this.out.string(valueToString({ t: 'double', v: this.view.getFloat64(at, true) })); return;
      case 0x3a: this.out.string(Buffer.from(this.src.buffer, this.src.byteOffset + at, atEnd - at).toString('base64')); return;
      default: this.out.u8(0);
    }
  }

  /** An AnyValue's bytes decoded by the object decoder (nested values, log bodies); empty when absent. */
  valueOf(s: number, e: number, readerDepth: number): AnyValue {
    if (s < 0) return emptyValue;
    const saved = this.p;
    try {
      return readAnyValue(new WireReader(this.src, s, e, readerDepth), this.limits, 0);
    } catch (err) {
      return this.rethrow(err);
    } finally {
      this.p = saved;
    }
  }
}

const keyValueFields = [undefined, 'KeyValue.key', 'KeyValue.value'];
const anyValueFields = [undefined, 'AnyValue.string_value', 'AnyValue.bool_value', 'AnyValue.int_value', 'AnyValue.double_value', 'AnyValue.array_value', 'AnyValue.kvlist_value', 'AnyValue.bytes_value'];
