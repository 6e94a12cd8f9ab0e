// Trace and span ids for the spans the agent makes: random, as W3C Trace Context asks, from a
// pool filled by the system's CSPRNG a few kilobytes at a time. A randomBytes call per id cost
// more than the rest of a span at 10k requests/s.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 16 * 1024;
const pool = new Uint8Array(POOL_BYTES);
let used = POOL_BYTES;

/** n fresh random bytes (n ≤ 64), never all zero (an all-zero trace or span id is invalid). */
export function randomId(n: number): Uint8Array {
  for (;;) {
    if (used + n > POOL_BYTES) {
      randomFillSync(pool);
      used = 0;
    }
    const id = pool.slice(used, used + n);
    used += n;
    for (let i = 0; i < n; i++) if (id[i] !== 0) return id;
  }
}
