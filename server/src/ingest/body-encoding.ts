// Content-Encoding for the OTLP and profile endpoints: identity, gzip, deflate, zstd and snappy
// (block format as OTel collectors send it, and the framed stream format). Every decoder stops at
// the decompressed-size limit, so a small hostile body cannot allocate without bound.
import { promisify } from 'node:util';
import { gunzip, inflate, inflateRaw } from 'node:zlib';
import { Decompress } from 'fzstd';
import { snappyUncompress } from '@rootsight/common';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);
const inflateRawAsync = promisify(inflateRaw);

/** A request the client must fix; `status` is the HTTP code to answer with. */
export class IngestRequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'IngestRequestError';
  }
}

export const supportedEncodings = ['identity', 'gzip', 'deflate', 'zstd', 'snappy'];

export async function decodeBody(body: Buffer, encodingHeader: string | undefined, maxBytes: number): Promise<Buffer> {
  const encoding = (encodingHeader ?? '').trim().toLowerCase();
  const tooLarge = () => new IngestRequestError(413, `decompressed body is larger than the limit of ${maxBytes} bytes; send smaller batches`);
  const invalid = (e: unknown) => new IngestRequestError(400, `body is not valid ${encoding} (Content-Encoding: ${encoding}): ${(e as Error).message}`);
  switch (encoding) {
    case '':
    case 'identity':
      if (body.length > maxBytes) throw tooLarge();
      return body;
    case 'gzip':
    case 'x-gzip':
      try {
        return await gunzipAsync(body, { maxOutputLength: maxBytes });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
        throw invalid(e);
      }
    case 'deflate':
      try {
        return await inflateAsync(body, { maxOutputLength: maxBytes });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
        // Some clients send raw deflate without the zlib wrapper.
        try {
          return await inflateRawAsync(body, { maxOutputLength: maxBytes });
        } catch {
          throw invalid(e);
        }
      }
    case 'zstd':
      return zstdDecode(body, maxBytes, tooLarge, invalid);
    case 'snappy':
    case 'x-snappy-framed':
      try {
        return isFramedSnappy(body) ? framedSnappyDecode(body, maxBytes, tooLarge) : Buffer.from(snappyBlock(body, maxBytes, tooLarge));
      } catch (e) {
        if (e instanceof IngestRequestError) throw e;
        throw invalid(e);
      }
    default:
      throw new IngestRequestError(415, `unsupported Content-Encoding "${encoding}"; use one of ${supportedEncodings.join(', ')}`);
  }
}

function zstdDecode(body: Buffer, maxBytes: number, tooLarge: () => Error, invalid: (e: unknown) => Error): Buffer {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const overflow = new Error('zstd output over limit');
  let ended = false;
  const d = new Decompress((chunk, final) => {
    total += chunk.length;
    if (total > maxBytes) throw overflow;
    chunks.push(chunk.slice()); // fzstd reuses its window buffer
    if (final) ended = true;
  });
  try {
    d.push(body, true);
  } catch (e) {
    if (e === overflow) throw tooLarge();
    throw invalid(e);
  }
  if (!ended && body.length > 0) throw invalid(new Error('truncated zstd frame'));
  return Buffer.concat(chunks, total);
}

function snappyBlock(data: Uint8Array, maxBytes: number, tooLarge: () => Error): Uint8Array {
  // The block's preamble declares its output size; check it before allocating.
  let declared = 0;
  for (let i = 0, scale = 1; i < Math.min(data.length, 5); i++, scale *= 128) {
    declared += (data[i]! & 0x7f) * scale;
    if ((data[i]! & 0x80) === 0) break;
  }
  if (declared > maxBytes) throw tooLarge();
  return snappyUncompress(data, maxBytes);
}

const framedMagic = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);

function isFramedSnappy(b: Buffer): boolean {
  return b.length >= framedMagic.length && b.subarray(0, framedMagic.length).equals(framedMagic);
}

/** The snappy framing format: typed chunks; checksums are not verified (TCP and the protobuf decoder catch corruption). */
function framedSnappyDecode(b: Buffer, maxBytes: number, tooLarge: () => Error): Buffer {
  const out: Uint8Array[] = [];
  let total = 0;
  let pos = 0;
  while (pos < b.length) {
    if (pos + 4 > b.length) throw new Error('truncated chunk header');
    const type = b[pos]!;
    const len = b[pos + 1]! | (b[pos + 2]! << 8) | (b[pos + 3]! << 16);
    pos += 4;
    if (pos + len > b.length) throw new Error('truncated chunk');
    const chunk = b.subarray(pos, pos + len);
    pos += len;
    let data: Uint8Array | undefined;
    if (type === 0x00) data = snappyBlock(chunk.subarray(4), maxBytes - total, tooLarge);
    else if (type === 0x01) data = chunk.subarray(4);
    else if (type === 0xff || type === 0xfe || (type >= 0x80 && type <= 0xfd)) continue;
    else throw new Error(`reserved unskippable chunk type 0x${type.toString(16)}`);
    total += data.length;
    if (total > maxBytes) throw tooLarge();
    out.push(data);
  }
  return Buffer.concat(out, total);
}
