// A series' identity as a 64-bit number that both this process and ClickHouse can compute: SipHash-2-4
// (key 0, ClickHouse's sipHash64) of the metric name followed by, per label in name order, 0xFF, the
// name, 0xFE, the value. UTF-8 never contains 0xFE or 0xFF, so the byte string is unambiguous.
// Ingest computes it here once per new series; the migration from the one-table layout computes the
// same value in SQL (seriesFingerprintSql), so old and new rows of one series share a fingerprint.

// The hash runs on 32-bit halves held in local variables (BigInt arithmetic made it ~100 µs per
// new series, enough to stall ingest when thousands of series appear at once; state in a typed
// array with a call per operation still ~4 µs), and the bytes it hashes are built in one reused
// buffer with an ASCII fast path (a TextEncoder call per name and value was ~10 µs per series).

/** SipHash-2-4 with a zero key over bytes [0, n) of `bytes`, as an unsigned 64-bit integer. */
export function sipHash64(bytes: Uint8Array, n = bytes.length): bigint {
  // v0..v3 as (high, low) 32-bit words.
  let v0h = 0x736f6d65 | 0, v0l = 0x70736575 | 0, v1h = 0x646f7261 | 0, v1l = 0x6e646f6d | 0;
  let v2h = 0x6c796765 | 0, v2l = 0x6e657261 | 0, v3h = 0x74656462 | 0, v3l = 0x79746573 | 0;
  const whole = n - (n % 8);
  let s = 0, t = 0;
  for (let i = 0; ; i += 8) {
    let mh: number, ml: number;
    if (i < whole) {
      ml = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
      mh = bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24);
    } else {
      // The last word: the remaining bytes, and the length's low byte on top.
      ml = 0; mh = (n & 0xff) << 24;
      for (let j = whole; j < n; j++) {
        const k = j - whole;
        if (k < 4) ml |= bytes[j]! << (8 * k); else mh |= bytes[j]! << (8 * (k - 4));
      }
    }
    v3h ^= mh; v3l ^= ml;
    for (let r = 0; r < 2; r++) {
      // v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
      s = (v0l >>> 0) + (v1l >>> 0); v0l = s | 0; v0h = (v0h + v1h + (s > 0xffffffff ? 1 : 0)) | 0;
      t = v1h; v1h = ((t << 13) | (v1l >>> 19)) ^ v0h; v1l = ((v1l << 13) | (t >>> 19)) ^ v0l;
      t = v0h; v0h = v0l; v0l = t;
      // v2 += v3; v3 = rotl(v3, 16) ^ v2
      s = (v2l >>> 0) + (v3l >>> 0); v2l = s | 0; v2h = (v2h + v3h + (s > 0xffffffff ? 1 : 0)) | 0;
      t = v3h; v3h = ((t << 16) | (v3l >>> 16)) ^ v2h; v3l = ((v3l << 16) | (t >>> 16)) ^ v2l;
      // v0 += v3; v3 = rotl(v3, 21) ^ v0
      s = (v0l >>> 0) + (v3l >>> 0); v0l = s | 0; v0h = (v0h + v3h + (s > 0xffffffff ? 1 : 0)) | 0;
      t = v3h; v3h = ((t << 21) | (v3l >>> 11)) ^ v0h; v3l = ((v3l << 21) | (t >>> 11)) ^ v0l;
      // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
      s = (v2l >>> 0) + (v1l >>> 0); v2l = s | 0; v2h = (v2h + v1h + (s > 0xffffffff ? 1 : 0)) | 0;
      t = v1h; v1h = ((t << 17) | (v1l >>> 15)) ^ v2h; v1l = ((v1l << 17) | (t >>> 15)) ^ v2l;
      t = v2h; v2h = v2l; v2l = t;
    }
    v0h ^= mh; v0l ^= ml;
    if (i >= whole) break;
  }
  v2l ^= 0xff;
  // The same SipRound as above, written out again on purpose: as a function it would have to pass
  // eight 32-bit halves in and out through an object, which costs more than the round itself.
  for (let r = 0; r < 4; r++) {
    s = (v0l >>> 0) + (v1l >>> 0); v0l = s | 0; v0h = (v0h + v1h + (s > 0xffffffff ? 1 : 0)) | 0;
    t = v1h; v1h = ((t << 13) | (v1l >>> 19)) ^ v0h; v1l = ((v1l << 13) | (t >>> 19)) ^ v0l;
    t = v0h; v0h = v0l; v0l = t;
    s = (v2l >>> 0) + (v3l >>> 0); v2l = s | 0; v2h = (v2h + v3h + (s > 0xffffffff ? 1 : 0)) | 0;
    t = v3h; v3h = ((t << 16) | (v3l >>> 16)) ^ v2h; v3l = ((v3l << 16) | (t >>> 16)) ^ v2l;
    s = (v0l >>> 0) + (v3l >>> 0); v0l = s | 0; v0h = (v0h + v3h + (s > 0xffffffff ? 1 : 0)) | 0;
    t = v3h; v3h = ((t << 21) | (v3l >>> 11)) ^ v0h; v3l = ((v3l << 21) | (t >>> 11)) ^ v0l;
    s = (v2l >>> 0) + (v1l >>> 0); v2l = s | 0; v2h = (v2h + v1h + (s > 0xffffffff ? 1 : 0)) | 0;
    t = v1h; v1h = ((t << 17) | (v1l >>> 15)) ^ v2h; v1l = ((v1l << 17) | (t >>> 15)) ^ v2l;
    t = v2h; v2h = v2l; v2l = t;
  }
  const rh = (v0h ^ v1h ^ v2h ^ v3h) >>> 0, rl = (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
  return (BigInt(rh) << 32n) | BigInt(rl);
}

/** Reused by seriesFingerprint: grown when a series needs more. */
let scratch = Buffer.allocUnsafe(1024);

/** Writes `s` as UTF-8 at p in scratch (grown as needed); returns the end. */
function put(s: string, p: number): number {
  const n = s.length;
  if (p + n * 3 > scratch.length) grow(p + n * 3);
  const b = scratch;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return p + b.write(s.slice(i), p, 'utf8');
    b[p++] = c;
  }
  return p;
}

function grow(need: number): void {
  const next = Buffer.allocUnsafe(Math.max(need, scratch.length * 2));
  scratch.copy(next);
  scratch = next;
}

/** Writes the bytes a fingerprint hashes into scratch; returns their length. */
function fingerprintInput(metricName: string, labels: readonly (readonly [string, string])[]): number {
  let p = put(metricName, 0);
  for (const [k, v] of labels) {
    if (p + 2 > scratch.length) grow(p + 2);
    scratch[p++] = 0xff;
    p = put(k, p);
    if (p + 1 > scratch.length) grow(p + 1);
    scratch[p++] = 0xfe;
    p = put(v, p);
  }
  return p;
}

/** The bytes a series' fingerprint hashes; `labels` sorted by name, without __name__ and empty values. */
export function seriesFingerprintBytes(metricName: string, labels: readonly (readonly [string, string])[]): Uint8Array {
  return Uint8Array.prototype.slice.call(scratch, 0, fingerprintInput(metricName, labels));
}

export function seriesFingerprint(metricName: string, labels: readonly (readonly [string, string])[]): bigint {
  const n = fingerprintInput(metricName, labels);
  return sipHash64(scratch, n);
}

/** The same fingerprint in ClickHouse SQL, over columns `metric_name` and `labels` (a Map with keys in name order). */
export const seriesFingerprintSql = "sipHash64(concat(metric_name, arrayStringConcat(arrayMap((k, v) -> concat('\\xFF', k, '\\xFE', v), mapKeys(labels), mapValues(labels)))))";
