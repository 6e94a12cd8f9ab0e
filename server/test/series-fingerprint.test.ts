// The 32-bit SipHash-2-4 gives the same 64-bit values as a plain BigInt transcription of the
// algorithm, for every message length around the 8-byte word boundaries (ClickHouse agreement is
// checked in storage-series-table.test.ts).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sipHash64 } from '../src/storage/clickhouse/series-fingerprint.ts';

const mask = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & mask;

function referenceSipHash64(bytes: Uint8Array): bigint {
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

it('matches the BigInt SipHash-2-4 for lengths 0–300 and bytes of every value', () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let n = 0; n <= 300; n++) {
    for (let k = 0; k < 4; k++) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = k === 0 ? 0xff : k === 1 ? 0 : Math.floor(rnd() * 256);
      assert.equal(sipHash64(b), referenceSipHash64(b), `length ${n}, case ${k}`);
    }
  }
});
