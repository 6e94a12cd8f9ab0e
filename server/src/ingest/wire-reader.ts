// OTLP and pprof decoding use the shared protobuf reader (bigint 64-bit values, packed repeated
// fields, nesting bound); this file adds the hex form ids are stored in.
export { ProtobufReader as WireReader } from '@rootsight/common';

const hexTable = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(b: Uint8Array): string {
  // Node's native hex for ids (8–16 bytes): one call instead of a string built byte by byte.
  if (b.length >= 8) return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  let s = '';
  for (let i = 0; i < b.length; i++) s += hexTable[b[i]!];
  return s;
}
