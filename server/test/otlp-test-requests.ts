// OTLP requests for tests, built twice from one description: as protobuf (every AnyValue type,
// raw int64 varints, fixed32 fields the SDK encoders never vary) and as OTLP/JSON, so a test can
// send both and compare what is stored. Plus a seeded body mutator for fuzzing decoders.
import assert from 'node:assert/strict';
import { ProtobufWriter } from '@rootsight/common';
import { OtlpInvalidError } from '../src/ingest/otlp-values.ts';
import { RowBinaryWriter } from '../src/storage/clickhouse/row-binary.ts';


export type V = { s: string } | { b: boolean } | { i: bigint } | { d: number } | { bytes: Uint8Array } | { arr: V[] } | { kv: [string, V][] } | Record<string, never>;
export type Attrs = [string, V][];

export function pbValue(v: V): ProtobufWriter {
  const w = new ProtobufWriter();
  if ('s' in v) w.string(1, v.s);
  else if ('b' in v) w.bool(2, v.b);
  else if ('i' in v) w.tag(3, 0).varint(Number(v.i)); // exact below 2^53 and for -2^63; larger ones: rawVarintValue
  else if ('d' in v) w.double(4, v.d);
  else if ('bytes' in v) w.bytes(7, v.bytes);
  else if ('arr' in v) { const a = new ProtobufWriter(); for (const x of v.arr) a.message(1, pbValue(x)); w.message(5, a); }
  else if ('kv' in v) { const m = new ProtobufWriter(); pbAttrs(m, 1, v.kv); w.message(6, m); }
  return w;
}

export function pbAttrs(w: ProtobufWriter, field: number, attrs: Attrs): void {
  for (const [k, v] of attrs) {
    const value = 'i' in v && v.i >= 2n ** 53n ? rawVarintValue(v.i) : pbValue(v);
    w.message(field, new ProtobufWriter().string(1, k).message(2, value));
  }
}

function rawVarintValue(i: bigint): ProtobufWriter {
  // The writer's varint takes a number, inexact past 2^53: field 3's key and LEB128 bytes by hand.
  let u = BigInt.asUintN(64, i);
  const bytes: number[] = [0x18];
  do { let b = Number(u & 0x7fn); u >>= 7n; if (u > 0n) b |= 0x80; bytes.push(b); } while (u > 0n);
  return RawMessage(Uint8Array.from(bytes));
}

/** A finished message given as bytes (fields the writer has no method for: fixed32, raw varints). */
export function RawMessage(raw: Uint8Array): ProtobufWriter {
  const w = new ProtobufWriter();
  w.finish = () => raw;
  return w;
}

export const withFixed32 = (m: ProtobufWriter, field: number, v: number) => {
  const head = m.finish();
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(v >>> 0);
  return RawMessage(Buffer.concat([head, Buffer.from(new ProtobufWriter().tag(field, 5).finish()), tail]));
};

export function jsonValue(v: V): unknown {
  if ('s' in v) return { stringValue: v.s };
  if ('b' in v) return { boolValue: v.b };
  if ('i' in v) return { intValue: v.i.toString() };
  if ('d' in v) return { doubleValue: Number.isNaN(v.d) ? 'NaN' : v.d };
  if ('bytes' in v) return { bytesValue: Buffer.from(v.bytes).toString('base64') };
  if ('arr' in v) return { arrayValue: { values: v.arr.map(jsonValue) } };
  if ('kv' in v) return { kvlistValue: { values: jsonAttrs(v.kv) } };
  return {};
}
export const jsonAttrs = (attrs: Attrs) => attrs.map(([key, v]) => ({ key, value: jsonValue(v) }));

export const hex = (s: string) => Buffer.from(s, 'hex');

/** A seeded mutation of `src`: bytes overwritten, bit flips, truncation, insertion, cut-outs, or plain garbage. */
export function mutate(src: Uint8Array, iter: number, rnd: () => number): Uint8Array {
  const b = Buffer.from(src);
  switch (iter % 6) {
    case 0: for (let k = 0; k < 1 + Math.floor(rnd() * 3); k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256); return b;
    case 1: return b.subarray(0, Math.floor(rnd() * b.length));
    case 2: { const at = Math.floor(rnd() * b.length); b[at] = b[at]! ^ (1 << Math.floor(rnd() * 8)); return b; }
    case 3: { const at = Math.floor(rnd() * b.length); return Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(rnd() * 256), Math.floor(rnd() * 256)]), b.subarray(at)]); }
    case 4: { const s = Math.floor(rnd() * b.length); const e = s + Math.floor(rnd() * 40); return Buffer.concat([b.subarray(0, s), b.subarray(Math.min(e, b.length))]); }
    default: return Buffer.from(Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256)));
  }
}

export function seededRandom(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

/** What a decoder made of a body: RowBinary bytes and row count, or the error it threw. */
export type RowsOutcome = { ok: true; bytes: Buffer; rows: number } | { ok: false; error: Error };

/** Runs `encode` (which writes rows into w and returns how many) and catches what it throws. */
export function rowsOutcome(encode: (w: RowBinaryWriter) => number, initialBytes: number): RowsOutcome {
  try {
    const w = new RowBinaryWriter(initialBytes);
    const rows = encode(w);
    return { ok: true, bytes: Buffer.from(w.view()), rows };
  } catch (e) {
    return { ok: false, error: e as Error };
  }
}

/**
 * The object decoder's outcome and the one-pass decoder's must agree: both accept with the same
 * rows and bytes, or both refuse, and the one-pass decoder only ever refuses with OtlpInvalidError.
 */
export function assertSameRows(viaObjects: RowsOutcome, onePass: RowsOutcome, label: string): RowsOutcome {
  const a = viaObjects, b = onePass;
  if (!b.ok) assert.ok(b.error instanceof OtlpInvalidError, `${label}: one-pass decoder threw ${b.error.name}: ${b.error.message}`);
  if (a.ok !== b.ok) {
    assert.fail(`${label}: object decoder ${a.ok ? 'accepted' : `refused (${(a as { error: Error }).error.message})`}, one-pass ${b.ok ? 'accepted' : `refused (${(b as { error: Error }).error.message})`}`);
  }
  if (a.ok && b.ok) {
    assert.equal(b.rows, a.rows, `${label}: row count`);
    assert.ok(a.bytes.equals(b.bytes), `${label}: RowBinary differs (${a.bytes.length} vs ${b.bytes.length} bytes)`);
  }
  return b;
}
