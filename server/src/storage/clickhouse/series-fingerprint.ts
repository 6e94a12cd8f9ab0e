// A series' identity as a 64-bit number that both this process and ClickHouse can compute: SipHash-2-4
// (key 0, ClickHouse's sipHash64) of the metric name followed by, per label in name order, 0xFF, the
// name, 0xFE, the value. UTF-8 never contains 0xFE or 0xFF, so the byte string is unambiguous.
// Ingest computes it here once per new series; the migration from the one-table layout computes the
// same value in SQL (seriesFingerprintSql), so old and new rows of one series share a fingerprint.

const mask = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & mask;

/** SipHash-2-4 with a zero key over `bytes`, as an unsigned 64-bit integer. */
export function sipHash64(bytes: Uint8Array): bigint {
  let v0 = 0x736f6d6570736575n, v1 = 0x646f72616e646f6dn, v2 = 0x6c7967656e657261n, v3 = 0x7465646279746573n;
  const round = (): void => {
    v0 = (v0 + v1) & mask; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & mask; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & mask; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & mask; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const n = bytes.length;
  const whole = n - (n % 8);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const compress = (m: bigint): void => { v3 ^= m; round(); round(); v0 ^= m; };
  for (let i = 0; i < whole; i += 8) compress(view.getBigUint64(i, true));
  let last = BigInt(n & 0xff) << 56n;
  for (let i = whole; i < n; i++) last |= BigInt(bytes[i]!) << BigInt(8 * (i - whole));
  compress(last);
  v2 ^= 0xffn;
  round(); round(); round(); round();
  return v0 ^ v1 ^ v2 ^ v3;
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
