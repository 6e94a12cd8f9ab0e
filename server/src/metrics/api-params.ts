// Parsing of the Prometheus HTTP API's time and duration parameters.
import { parseDuration } from './promql/duration.ts';

export class BadParameterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadParameterError';
  }
}

/** A timestamp: unix seconds (fractions allowed) or RFC 3339. Returns milliseconds. */
export function parseTimeParam(name: string, raw: string | undefined, fallbackMs?: number): number {
  if (raw === undefined || raw === '') {
    if (fallbackMs !== undefined) return fallbackMs;
    throw new BadParameterError(`invalid parameter "${name}": missing value`);
  }
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)) {
    const ms = Math.round(Number(raw) * 1000);
    if (Number.isFinite(ms)) return ms;
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(raw)) {
    const ms = Date.parse(raw);
    if (Number.isFinite(ms)) return ms;
  }
  throw new BadParameterError(`invalid parameter "${name}": cannot parse "${raw}" to a valid timestamp`);
}

/** A duration: float seconds or a Prometheus duration string. Returns milliseconds. */
export function parseDurationParam(name: string, raw: string | undefined): number {
  if (raw === undefined || raw === '') throw new BadParameterError(`invalid parameter "${name}": missing value`);
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)) {
    const ms = Math.round(Number(raw) * 1000);
    if (Number.isFinite(ms)) return ms;
  }
  const d = parseDuration(raw);
  if (d !== undefined) return d;
  throw new BadParameterError(`invalid parameter "${name}": cannot parse "${raw}" to a valid duration`);
}
