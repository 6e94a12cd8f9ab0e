// A series' identity as a 64-bit number that both this process and ClickHouse can compute: SipHash-2-4
// (key 0, ClickHouse's sipHash64) of the metric name followed by, per label in name order, 0xFF, the
// name, 0xFE, the value. UTF-8 never contains 0xFE or 0xFF, so the byte string is unambiguous.
// Ingest computes it here once per new series; the migration from the one-table layout computes the
// same value in SQL (seriesFingerprintSql), so old and new rows of one series share a fingerprint.

// The hash runs on 32-bit halves: BigInt arithmetic made it ~100 µs per new series, enough to
// stall ingest when thousands of series appear at once.

/** SipHash state v0..v3 as (high, low) 32-bit words, then the message word being absorbed. */
const st = new Uint32Array(10);
const V0 = 0, V1 = 2, V2 = 4, V3 = 6, M = 8;

/** st[a] += st[b], modulo 2^64. */
function add(a: number, b: number): void {
  const lo = st[a + 1]! + st[b + 1]!;
  st[a] = st[a]! + st[b]! + (lo > 0xffffffff ? 1 : 0);
  st[a + 1] = lo;
}

/** st[a] ^= st[b]. */
function xor(a: number, b: number): void {
  st[a] = st[a]! ^ st[b]!;
  st[a + 1] = st[a + 1]! ^ st[b + 1]!;
}

/** st[a] rotated left by n bits, 0 < n < 32. */
function rotl(a: number, n: number): void {
  const h = st[a]!, l = st[a + 1]!;
  st[a] = (h << n) | (l >>> (32 - n));
  st[a + 1] = (l << n) | (h >>> (32 - n));
}

/** st[a] rotated by 32 bits: the halves swap. */
function swap(a: number): void {
  const h = st[a]!;
  st[a] = st[a + 1]!;
  st[a + 1] = h;
}

function sipRound(): void {
  add(V0, V1); rotl(V1, 13); xor(V1, V0); swap(V0);
  add(V2, V3); rotl(V3, 16); xor(V3, V2);
  add(V0, V3); rotl(V3, 21); xor(V3, V0);
  add(V2, V1); rotl(V1, 17); xor(V1, V2); swap(V2);
}

function absorb(hi: number, lo: number): void {
  st[M] = hi; st[M + 1] = lo;
  xor(V3, M); sipRound(); sipRound(); xor(V0, M);
}

/** SipHash-2-4 with a zero key over `bytes`, as an unsigned 64-bit integer. */
export function sipHash64(bytes: Uint8Array): bigint {
  st[0] = 0x736f6d65; st[1] = 0x70736575; st[2] = 0x646f7261; st[3] = 0x6e646f6d;
  st[4] = 0x6c796765; st[5] = 0x6e657261; st[6] = 0x74656462; st[7] = 0x79746573;
  const n = bytes.length;
  const whole = n - (n % 8);
  for (let i = 0; i < whole; i += 8) {
    const lo = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    const hi = bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24);
    absorb(hi, lo);
  }
  // The last word: the remaining bytes, and the length's low byte on top.
  let lo = 0, hi = (n & 0xff) << 24;
  for (let i = whole; i < n; i++) {
    const k = i - whole;
    if (k < 4) lo |= bytes[i]! << (8 * k); else hi |= bytes[i]! << (8 * (k - 4));
  }
  absorb(hi, lo);
  st[V2 + 1] = st[V2 + 1]! ^ 0xff;
  sipRound(); sipRound(); sipRound(); sipRound();
  const rh = (st[0]! ^ st[2]! ^ st[4]! ^ st[6]!) >>> 0, rl = (st[1]! ^ st[3]! ^ st[5]! ^ st[7]!) >>> 0;
  return (BigInt(rh) << 32n) | BigInt(rl);
}

const encoder = new TextEncoder();

/** The bytes a series' fingerprint hashes; `labels` sorted by name, without __name__ and empty values. */
export function seriesFingerprintBytes(metricName: string, labels: readonly (readonly [string, string])[]): Uint8Array {
  const parts: Uint8Array[] = [encoder.encode(metricName)];
  let size = parts[0]!.length;
  for (const [k, v] of labels) {
    const kb = encoder.encode(k), vb = encoder.encode(v);
    parts.push(kb, vb);
    size += kb.length + vb.length + 2;
  }
  const out = new Uint8Array(size);
  out.set(parts[0]!, 0);
  let p = parts[0]!.length;
  for (let i = 1; i < parts.length; i += 2) {
    out[p++] = 0xff;
    out.set(parts[i]!, p); p += parts[i]!.length;
    out[p++] = 0xfe;
    out.set(parts[i + 1]!, p); p += parts[i + 1]!.length;
  }
  return out;
}

export function seriesFingerprint(metricName: string, labels: readonly (readonly [string, string])[]): bigint {
  return sipHash64(seriesFingerprintBytes(metricName, labels));
}

/** The same fingerprint in ClickHouse SQL, over columns `metric_name` and `labels` (a Map with keys in name order). */
export const seriesFingerprintSql = "sipHash64(concat(metric_name, arrayStringConcat(arrayMap((k, v) -> concat('\\xFF', k, '\\xFE', v), mapKeys(labels), mapValues(labels)))))";
