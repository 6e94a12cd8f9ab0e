// Values an expression evaluates to at one instant.
import type { Labels } from './labels.ts';

export interface Scalar { type: 'scalar'; value: number }
export interface InstantSample { labels: Labels; value: number }
export interface InstantVector { type: 'vector'; samples: InstantSample[] }
export interface RangeSeries { labels: Labels; timestamps: number[]; values: number[] }
export interface RangeVector { type: 'matrix'; series: RangeSeries[] }
export type Value = Scalar | InstantVector | RangeVector;

/** A user-facing evaluation error (Prometheus answers these as errorType "execution" / 422). */
export class PromqlEvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromqlEvalError';
  }
}
