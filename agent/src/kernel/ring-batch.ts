// The native addon hands ring-buffer records to JS in batches of [u32 LE length][record] frames.

/**
 * Calls decode for each framed record; a record it cannot decode (undefined) and a cut-off tail
 * are counted, never thrown. Returns the number of records skipped.
 */
export function walkRingBatch<T>(buf: Buffer, decode: (buf: Buffer, offset: number, length: number) => T | undefined, onRecord: (r: T) => void): number {
  let bad = 0;
  let off = 0;
  while (off < buf.length) {
    if (off + 4 > buf.length) { bad++; break; }
    const len = buf.readUInt32LE(off);
    const start = off + 4;
    if (start + len > buf.length) { bad++; break; }
    off = start + len;
    const r = decode(buf, start, len);
    if (r === undefined) { bad++; continue; }
    onRecord(r);
  }
  return bad;
}
