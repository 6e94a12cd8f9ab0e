// Snappy block decompression (the framing-free format remote write uses), into a buffer the caller
// may reuse from one request to the next: a fresh zero-filled output per request was, with its page
// faults and garbage, a visible part of remote-write CPU. Strict: the output must be exactly the
// declared length and every copy must point inside what is already written.

export class SnappyFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnappyFormatError';
  }
}

/** A growable output buffer reused across calls; what one call returns is valid until the next. */
export class SnappyOutput {
  buf = new Uint8Array(0);
}

/** The uncompressed length a block declares (its varint preamble), and where its body starts. */
export function snappyDeclaredLength(src: Uint8Array): { length: number; start: number } {
  let length = 0;
  for (let i = 0, scale = 1; i < 5 && i < src.length; i++, scale *= 128) {
    const b = src[i]!;
    length += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (length > 0xffffffff) break;
      return { length, start: i + 1 };
    }
  }
  throw new SnappyFormatError('bad length preamble');
}

/**
 * Decompresses a snappy block. With `output` the result is a view of its buffer (grown as
 * needed); otherwise a new array. Refuses a declared length above maxBytes before allocating.
 */
export function snappyDecompress(src: Uint8Array, maxBytes: number, output?: SnappyOutput): Uint8Array {
  const { length, start } = snappyDeclaredLength(src);
  if (length > maxBytes) throw new SnappyFormatError(`the uncompressed length of ${length} is too big, expect at most ${maxBytes}`);
  let out: Uint8Array;
  if (output) {
    if (output.buf.length < length) output.buf = new Uint8Array(Math.max(length, Math.min(maxBytes, output.buf.length * 2)));
    out = output.buf;
  } else {
    out = new Uint8Array(length);
  }
  const end = decodeBody(src, start, out, length);
  if (end !== length) throw new SnappyFormatError(`block decodes to ${end} bytes, its header says ${length}`);
  return output ? out.subarray(0, length) : out;
}

/** Decodes elements from src[pos..] into out[0..limit); returns the output length, throws SnappyFormatError when malformed. */
function decodeBody(src: Uint8Array, pos: number, out: Uint8Array, limit: number): number {
  const n = src.length;
  let op = 0;
  while (pos < n) {
    const c = src[pos++]!;
    const tag = c & 3;
    let len: number;
    if (tag === 0) {
      len = (c >>> 2) + 1;
      if (len > 60) {
        const extra = len - 60;
        if (pos + extra > n) throw new SnappyFormatError('truncated literal length');
        len = src[pos]!;
        if (extra > 1) len += src[pos + 1]! * 0x100;
        if (extra > 2) len += src[pos + 2]! * 0x10000;
        if (extra > 3) len += src[pos + 3]! * 0x1000000;
        len += 1;
        pos += extra;
      }
      if (pos + len > n) throw new SnappyFormatError('literal runs past the input');
      if (op + len > limit) throw new SnappyFormatError('output longer than declared');
      if (len < 32) {
        for (let i = 0; i < len; i++) out[op + i] = src[pos + i]!;
      } else {
        out.set(src.subarray(pos, pos + len), op);
      }
      pos += len;
      op += len;
      continue;
    }
    let offset: number;
    if (tag === 1) {
      if (pos >= n) throw new SnappyFormatError('truncated copy');
      len = ((c >>> 2) & 7) + 4;
      offset = ((c >>> 5) << 8) | src[pos]!;
      pos += 1;
    } else if (tag === 2) {
      if (pos + 2 > n) throw new SnappyFormatError('truncated copy');
      len = (c >>> 2) + 1;
      offset = src[pos]! | (src[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > n) throw new SnappyFormatError('truncated copy');
      len = (c >>> 2) + 1;
      offset = (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16) | (src[pos + 3]! << 24)) >>> 0;
      pos += 4;
    }
    if (offset === 0 || offset > op) throw new SnappyFormatError(`copy offset ${offset} at output byte ${op} points before the start`);
    if (op + len > limit) throw new SnappyFormatError('output longer than declared');
    const from = op - offset;
    // Overlapping copies (offset < len) repeat a pattern and must go byte by byte.
    if (len >= 32 && offset >= len) {
      out.copyWithin(op, from, from + len);
    } else {
      for (let i = 0; i < len; i++) out[op + i] = out[from + i]!;
    }
    op += len;
  }
  return op;
}
