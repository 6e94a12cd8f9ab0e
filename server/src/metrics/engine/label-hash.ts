// A 64-bit hash of a series' label set, the same number Prometheus computes for it: XXH64 (seed 0)
// of every label's name and value in name order, each followed by the byte 0xff. limitk and
// limit_ratio pick series by it, so the choice depends on nothing but the labels: it is the same at
// every step of a range query, in every query, and (for limit_ratio) the same as Prometheus 3's.
import { namesInOrder, type Labels } from './labels.ts';

const labelSeparator = 0xff;
const hashes = new WeakMap<Labels, bigint>();

/** The label set's hash; empty values do not count (they mean "no such label"). Memoised per label object. */
export function labelSetHash(l: Labels): bigint {
  let h = hashes.get(l);
  if (h === undefined) {
    const parts: Buffer[] = [];
    const sep = Buffer.of(labelSeparator);
    for (const name of namesInOrder(l)) parts.push(Buffer.from(name, 'utf8'), sep, Buffer.from(l[name]!, 'utf8'), sep);
    h = xxh64(Buffer.concat(parts));
    hashes.set(l, h);
  }
  return h;
}

/** Where the hash falls in [0, 1]: hash / 2^64, rounded to a double as Go's float64(uint64) is. */
export function labelSetHashFraction(l: Labels): number {
  return Number(labelSetHash(l)) / 2 ** 64;
}

const mask64 = (1n << 64n) - 1n;
const prime1 = 0x9e3779b185ebca87n;
const prime2 = 0xc2b2ae3d27d4eb4fn;
const prime3 = 0x165667b19e3779f9n;
const prime4 = 0x85ebca77c2b2ae63n;
const prime5 = 0x27d4eb2f165667c5n;

/**
 * XXH64 with seed 0, from the algorithm's public specification. BigInt keeps the 64-bit arithmetic
 * plain to read; it is slow per byte, but each label set is hashed once and memoised.
 */
export function xxh64(data: Uint8Array): bigint {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const len = data.byteLength;
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (prime1 + prime2) & mask64, v2 = prime2, v3 = 0n, v4 = (-prime1) & mask64;
    for (; p + 32 <= len; p += 32) {
      v1 = accumulate(v1, view.getBigUint64(p, true));
      v2 = accumulate(v2, view.getBigUint64(p + 8, true));
      v3 = accumulate(v3, view.getBigUint64(p + 16, true));
      v4 = accumulate(v4, view.getBigUint64(p + 24, true));
    }
    h = (rotateLeft(v1, 1n) + rotateLeft(v2, 7n) + rotateLeft(v3, 12n) + rotateLeft(v4, 18n)) & mask64;
    for (const v of [v1, v2, v3, v4]) h = ((h ^ accumulate(0n, v)) * prime1 + prime4) & mask64;
  } else {
    h = prime5;
  }
  h = (h + BigInt(len)) & mask64;
  for (; p + 8 <= len; p += 8) {
    h ^= accumulate(0n, view.getBigUint64(p, true));
    h = (rotateLeft(h, 27n) * prime1 + prime4) & mask64;
  }
  if (p + 4 <= len) {
    h ^= (BigInt(view.getUint32(p, true)) * prime1) & mask64;
    h = (rotateLeft(h, 23n) * prime2 + prime3) & mask64;
    p += 4;
  }
  for (; p < len; p++) {
    h ^= (BigInt(data[p]!) * prime5) & mask64;
    h = (rotateLeft(h, 11n) * prime1) & mask64;
  }
  h ^= h >> 33n;
  h = (h * prime2) & mask64;
  h ^= h >> 29n;
  h = (h * prime3) & mask64;
  h ^= h >> 32n;
  return h;
}

/** One lane folded into an accumulator (the algorithm's "round"). */
function accumulate(acc: bigint, lane: bigint): bigint {
  return (rotateLeft((acc + lane * prime2) & mask64, 31n) * prime1) & mask64;
}

function rotateLeft(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & mask64;
}
