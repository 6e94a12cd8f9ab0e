// OTLP AnyValue / KeyValue handling shared by the protobuf and JSON decoders: one value model,
// one set of limits, one way to turn values into the strings the attribute maps store.
// Strings stay as they are; scalars use their usual text; arrays and maps become JSON.

export class OtlpInvalidError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OtlpInvalidError';
  }
}

export interface OtlpLimits {
  /** Attributes per resource, scope, span, event, link or log record. */
  maxAttributes: number;
  /** Events and links per span. */
  maxEventsPerSpan: number;
  /** Nesting of array/kvlist values. */
  maxValueDepth: number;
}

export const defaultOtlpLimits: OtlpLimits = { maxAttributes: 1024, maxEventsPerSpan: 1024, maxValueDepth: 16 };

export type AnyValue =
  | { t: 'string'; v: string }
  | { t: 'bool'; v: boolean }
  | { t: 'int'; v: bigint }
  | { t: 'double'; v: number }
  | { t: 'bytes'; v: Uint8Array }
  | { t: 'array'; v: AnyValue[] }
  | { t: 'kvlist'; v: [string, AnyValue][] }
  | { t: 'empty' };

export const emptyValue: AnyValue = { t: 'empty' };

export function valueToString(v: AnyValue): string {
  switch (v.t) {
    case 'string': return v.v;
    case 'bool': return v.v ? 'true' : 'false';
    case 'int': return v.v.toString();
    case 'double': return doubleToString(v.v);
    case 'bytes': return Buffer.from(v.v).toString('base64');
    case 'empty': return '';
    default: return JSON.stringify(valueToJson(v));
  }
}

function doubleToString(d: number): string {
  if (Number.isNaN(d)) return 'NaN';
  if (d === Infinity) return '+Inf';
  if (d === -Infinity) return '-Inf';
  return String(d);
}

function valueToJson(v: AnyValue): unknown {
  switch (v.t) {
    case 'string': return v.v;
    case 'bool': return v.v;
    case 'int': return v.v >= BigInt(Number.MIN_SAFE_INTEGER) && v.v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v.v) : v.v.toString();
    case 'double': return Number.isFinite(v.v) ? v.v : doubleToString(v.v);
    case 'bytes': return Buffer.from(v.v).toString('base64');
    case 'array': return v.v.map(valueToJson);
    case 'kvlist': return Object.fromEntries(v.v.map(([k, x]) => [k, valueToJson(x)]));
    case 'empty': return null;
  }
}

/** Collects key/value pairs into a map under the attribute limit; a repeated key keeps the last value. */
export class AttributeCollector {
  readonly map: Record<string, string> = {};
  private n = 0;
  constructor(private readonly limits: OtlpLimits, private readonly where: () => string) {}

  add(key: string, value: AnyValue): void {
    if (++this.n > this.limits.maxAttributes) {
      throw new OtlpInvalidError(`${this.where()} has more than ${this.limits.maxAttributes} attributes; drop some (SDK attribute limits) or split the item`);
    }
    this.map[key] = valueToString(value);
  }
}

/**
 * Timestamps are unsigned 64-bit nanoseconds. DateTime64(9) would hold up to 2^63-1 ns (2262), but
 * the tables sort by toUnixTimestamp(Timestamp), a UInt32 of seconds: a later time fails the whole
 * insert, taking the other requests batched with it down too. So the last accepted second is
 * 2^32-1 (2106-02-07), for every OTLP timestamp alike.
 */
export const maxTimestampNs = 4_294_967_295_999_999_999n;

export function checkTimestamp(ns: bigint, what: () => string): bigint {
  if (ns < 0n || ns > maxTimestampNs) {
    throw new OtlpInvalidError(`${what()}: timestamp ${ns} ns is out of range (negative as int64, or after 2106); send nanoseconds since the Unix epoch`);
  }
  return ns;
}

export const spanKindNames = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
export const statusCodeNames = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
