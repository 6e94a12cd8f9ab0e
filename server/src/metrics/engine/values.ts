// Values an expression evaluates to at one instant.
import type { Labels } from './labels.ts';

export interface Scalar { type: 'scalar'; value: number }
export interface StringValue { type: 'string'; value: string }
/** `ts` is the sample's own timestamp (ms) when it came straight from a selector; timestamp() reads it. */
export interface InstantSample { labels: Labels; value: number; ts?: number }
export interface InstantVector { type: 'vector'; samples: InstantSample[] }
/** A series' samples at indexes [lo, hi) of its columns (shared with the loaded data, never copied). */
export interface RangeSeries { labels: Labels; timestamps: ArrayLike<number>; values: ArrayLike<number>; lo: number; hi: number }
export interface RangeVector { type: 'matrix'; series: RangeSeries[] }
export type Value = Scalar | StringValue | InstantVector | RangeVector;

/** A user-facing evaluation error (Prometheus answers these as errorType "execution" / 422). */
export class PromqlEvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromqlEvalError';
  }
}

/** Prometheus' staleness marker: a NaN with this exact bit pattern ends a series. */
const staleBits = { hi: 0x7ff00000, lo: 0x00000002 };
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function isStaleMarker(v: number): boolean {
  if (!Number.isNaN(v)) return false;
  f64[0] = v;
  const hi = littleEndian ? u32[1]! : u32[0]!;
  const lo = littleEndian ? u32[0]! : u32[1]!;
  return hi === staleBits.hi && lo === staleBits.lo;
}
