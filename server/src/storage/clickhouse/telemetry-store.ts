// Writes and reads spans, log records and profile samples. Rows arrive validated by ingest/;
// ids travel as lower-case hex and are stored as bytes (see schema.ts). Timestamps are
// nanoseconds since the epoch as bigint: they do not fit a double.
import type { ClickHouseDriver, InsertSettings } from './driver.ts';
import { RowBinaryWriter } from './row-binary.ts';
import { logsTable, profileSamplesTable, profileStacksTable, tracesTable } from './schema.ts';

export type Attributes = Record<string, string>;

export interface SpanEventRow { timeNs: bigint; name: string; attributes: Attributes }
export interface SpanLinkRow { traceId: string; spanId: string; traceState: string; attributes: Attributes }

export interface SpanRow {
  startNs: bigint;
  endNs: bigint;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  traceState: string;
  flags: number;
  name: string;
  kind: number;
  serviceName: string;
  resourceAttributes: Attributes;
  scopeName: string;
  scopeVersion: string;
  attributes: Attributes;
  statusCode: number;
  statusMessage: string;
  events: SpanEventRow[];
  links: SpanLinkRow[];
}

export interface LogRow {
  timeNs: bigint;
  observedNs: bigint;
  traceId: string;
  spanId: string;
  flags: number;
  severityText: string;
  severityNumber: number;
  serviceName: string;
  body: string;
  resourceAttributes: Attributes;
  scopeName: string;
  scopeVersion: string;
  attributes: Attributes;
  eventName: string;
}

export interface ProfileSampleRow {
  serviceName: string;
  type: string;
  startNs: bigint;
  endNs: bigint;
  labels: Attributes;
  stackHash: bigint;
  value: bigint;
}

export interface ProfileStackRow { serviceName: string; hash: bigint; lastSeenNs: bigint; stack: string[] }

/** Columns of an otel_traces RowBinary payload, in encodeSpans' order (ids as bytes, not the *Hex inputs). */
export const spanColumns = [
  'Timestamp', 'TraceId', 'SpanId', 'ParentSpanId', 'TraceState', 'TraceFlags', 'SpanName', 'SpanKind', 'ServiceName',
  'ResourceAttributes', 'ScopeName', 'ScopeVersion', 'SpanAttributes', 'Duration', 'StatusCode', 'StatusMessage',
  'Events.Timestamp', 'Events.Name', 'Events.Attributes', 'Links.TraceId', 'Links.SpanId', 'Links.TraceState', 'Links.Attributes',
];
/** Columns of an otel_logs RowBinary payload, in encodeLogs' order. */
export const logColumns = [
  'Timestamp', 'ObservedTimestamp', 'TraceId', 'SpanId', 'TraceFlags', 'SeverityText', 'SeverityNumber', 'ServiceName',
  'Body', 'ResourceAttributes', 'ScopeName', 'ScopeVersion', 'LogAttributes', 'EventName',
];

/**
 * Encodes attribute maps, reusing the bytes of the previous map when the same object comes again:
 * every span or record of one resource shares its resource's attribute object.
 */
class SharedMapEncoder {
  private last: Attributes | undefined;
  private bytes = Buffer.alloc(0);

  write(w: RowBinaryWriter, m: Attributes): void {
    if (m !== this.last) {
      const start = w.pos;
      w.stringMap(m);
      this.bytes = Buffer.from(w.buf.subarray(start, w.pos));
      this.last = m;
      return;
    }
    w.bytes(this.bytes);
  }
}

/** Appends spans to an otel_traces RowBinary payload (columns: spanColumns). */
export function encodeSpans(rows: readonly SpanRow[], w: RowBinaryWriter): void {
  const resources = new SharedMapEncoder();
  for (const r of rows) {
    w.bigI64(r.startNs);
    w.fixedHex(r.traceId, 16);
    w.fixedHex(r.spanId, 8);
    w.fixedHex(r.parentSpanId, 8); // '' → all zero: a root span
    w.string(r.traceState);
    w.u32(r.flags);
    w.string(r.name);
    w.u8(r.kind); // Enum8, values checked by the decoder
    w.string(r.serviceName);
    resources.write(w, r.resourceAttributes);
    w.string(r.scopeName);
    w.string(r.scopeVersion);
    w.stringMap(r.attributes);
    w.bigU64(r.endNs > r.startNs ? r.endNs - r.startNs : 0n);
    w.u8(r.statusCode);
    w.string(r.statusMessage);
    const ev = r.events;
    w.varint(ev.length); for (const e of ev) w.bigI64(e.timeNs);
    w.varint(ev.length); for (const e of ev) w.string(e.name);
    w.varint(ev.length); for (const e of ev) w.stringMap(e.attributes);
    const ln = r.links;
    w.varint(ln.length); for (const l of ln) w.fixedHex(l.traceId, 16);
    w.varint(ln.length); for (const l of ln) w.fixedHex(l.spanId, 8);
    w.varint(ln.length); for (const l of ln) w.string(l.traceState);
    w.varint(ln.length); for (const l of ln) w.stringMap(l.attributes);
  }
}

/** Appends log records to an otel_logs RowBinary payload (columns: logColumns). */
export function encodeLogs(rows: readonly LogRow[], w: RowBinaryWriter): void {
  const resources = new SharedMapEncoder();
  for (const r of rows) {
    w.bigI64(r.timeNs);
    w.bigI64(r.observedNs);
    w.fixedHex(r.traceId, 16);
    w.fixedHex(r.spanId, 8);
    w.u32(r.flags);
    w.string(r.severityText);
    w.u8(r.severityNumber);
    w.string(r.serviceName);
    w.string(r.body);
    resources.write(w, r.resourceAttributes);
    w.string(r.scopeName);
    w.string(r.scopeVersion);
    w.stringMap(r.attributes);
    w.string(r.eventName);
  }
}

const zeroSpanId = '0000000000000000';

/** DateTime64(9) from JSON: "seconds.nanoseconds" is exact, a number would not be. */
export function nsToDateTime64(ns: bigint): string {
  const s = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  return `${s}.${frac.toString().padStart(9, '0')}`;
}

/** Parses ClickHouse's "YYYY-MM-DD hh:mm:ss.nnnnnnnnn" (UTC) back to nanoseconds. */
export function dateTime64ToNs(text: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`unexpected DateTime64 "${text}"`);
  const ms = Date.parse(`${m[1]}T${m[2]}Z`);
  return BigInt(ms) * 1_000_000n + BigInt((m[3] ?? '').padEnd(9, '0').slice(0, 9) || '0');
}

/**
 * Span and log inserts leave the tables' skip indexes (bloom filters on ids, attribute keys and
 * values, tokens of log bodies) to the first merge. Building them was about half of an insert's
 * engine time, and a merge rebuilds every index of the parts it joins from their data anyway, so
 * building them at insert only served the seconds before that merge; until then queries read
 * those young parts without skipping (same results). chDB only: the setting needs ClickHouse
 * 24.x+, and a server's version is the operator's.
 */
const deferredIndexes: InsertSettings = { materialize_skip_indexes_on_insert: 0 };

export class TelemetryStore {
  private readonly insertSettings: InsertSettings | undefined;

  constructor(private readonly db: ClickHouseDriver) {
    this.insertSettings = db.kind === 'chdb' ? deferredIndexes : undefined;
  }

  async insertSpans(rows: readonly SpanRow[]): Promise<void> {
    if (rows.length === 0) return;
    const w = new RowBinaryWriter(rows.length * 256);
    encodeSpans(rows, w);
    await this.insertEncodedSpans(w.view());
  }

  async insertLogs(rows: readonly LogRow[]): Promise<void> {
    if (rows.length === 0) return;
    const w = new RowBinaryWriter(rows.length * 256);
    encodeLogs(rows, w);
    await this.insertEncodedLogs(w.view());
  }

  /** A payload from encodeSpans (possibly several concatenated). */
  async insertEncodedSpans(payload: Uint8Array): Promise<void> {
    await this.db.insertRowBinary(tracesTable, spanColumns, payload, this.insertSettings);
  }

  /** A payload from encodeLogs (possibly several concatenated). */
  async insertEncodedLogs(payload: Uint8Array): Promise<void> {
    await this.db.insertRowBinary(logsTable, logColumns, payload, this.insertSettings);
  }

  async insertProfiles(samples: readonly ProfileSampleRow[], stacks: readonly ProfileStackRow[]): Promise<void> {
    // Stacks first: a sample must never be visible without its stack.
    await this.db.insertJsonRows(profileStacksTable, stacks.map((s) => ({
      ServiceName: s.serviceName, Hash: s.hash.toString(), LastSeen: nsToDateTime64(s.lastSeenNs), Stack: s.stack,
    })));
    await this.db.insertJsonRows(profileSamplesTable, samples.map((s) => ({
      ServiceName: s.serviceName, Type: s.type, Start: nsToDateTime64(s.startNs), End: nsToDateTime64(s.endNs),
      Labels: s.labels, StackHash: s.stackHash.toString(), Value: s.value.toString(),
    })));
  }

  /** Spans of one trace (or of all traces when traceId is omitted), oldest first. */
  async selectSpans(filter: { traceId?: string; serviceName?: string; limit?: number } = {}): Promise<SpanRow[]> {
    const where: string[] = [];
    const params: Record<string, string | number> = { limit: filter.limit ?? 100_000 };
    if (filter.traceId !== undefined) { where.push('TraceId = unhex({traceId:String})'); params['traceId'] = filter.traceId; }
    if (filter.serviceName !== undefined) { where.push('ServiceName = {service:String}'); params['service'] = filter.serviceName; }
    const rows = await this.db.rows(`SELECT lower(hex(TraceId)), lower(hex(SpanId)), lower(hex(ParentSpanId)), toString(Timestamp), toString(Duration),
        TraceState, TraceFlags, SpanName, toInt8(SpanKind), ServiceName, ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes,
        toInt8(StatusCode), StatusMessage, arrayMap(t -> toString(t), Events.Timestamp), Events.Name, Events.Attributes,
        arrayMap(x -> lower(hex(x)), Links.TraceId), arrayMap(x -> lower(hex(x)), Links.SpanId), Links.TraceState, Links.Attributes
      FROM ${tracesTable} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY Timestamp, SpanId LIMIT {limit:UInt32}`, params);
    return rows.map((c) => {
      const startNs = dateTime64ToNs(c[3] as string);
      const evTimes = c[16] as string[]; const evNames = c[17] as string[]; const evAttrs = c[18] as Attributes[];
      const lTrace = c[19] as string[]; const lSpan = c[20] as string[]; const lState = c[21] as string[]; const lAttrs = c[22] as Attributes[];
      return {
        traceId: c[0] as string, spanId: c[1] as string, parentSpanId: c[2] === zeroSpanId ? '' : c[2] as string,
        startNs, endNs: startNs + BigInt(c[4] as string), traceState: c[5] as string, flags: Number(c[6]), name: c[7] as string,
        kind: Number(c[8]), serviceName: c[9] as string, resourceAttributes: c[10] as Attributes, scopeName: c[11] as string,
        scopeVersion: c[12] as string, attributes: c[13] as Attributes, statusCode: Number(c[14]), statusMessage: c[15] as string,
        events: evTimes.map((t, i) => ({ timeNs: dateTime64ToNs(t), name: evNames[i]!, attributes: evAttrs[i]! })),
        links: lTrace.map((t, i) => ({ traceId: t, spanId: lSpan[i]!, traceState: lState[i]!, attributes: lAttrs[i]! })),
      };
    });
  }

  async selectLogs(filter: { serviceName?: string; limit?: number } = {}): Promise<LogRow[]> {
    const params: Record<string, string | number> = { limit: filter.limit ?? 100_000 };
    let where = '';
    if (filter.serviceName !== undefined) { where = 'WHERE ServiceName = {service:String}'; params['service'] = filter.serviceName; }
    const rows = await this.db.rows(`SELECT toString(Timestamp), toString(ObservedTimestamp), lower(hex(TraceId)), lower(hex(SpanId)), TraceFlags,
        SeverityText, SeverityNumber, ServiceName, Body, ResourceAttributes, ScopeName, ScopeVersion, LogAttributes, EventName
      FROM ${logsTable} ${where} ORDER BY Timestamp, Body LIMIT {limit:UInt32}`, params);
    const zeroTrace = '0'.repeat(32);
    return rows.map((c) => ({
      timeNs: dateTime64ToNs(c[0] as string), observedNs: dateTime64ToNs(c[1] as string),
      traceId: c[2] === zeroTrace ? '' : c[2] as string, spanId: c[3] === zeroSpanId ? '' : c[3] as string,
      flags: Number(c[4]), severityText: c[5] as string, severityNumber: Number(c[6]), serviceName: c[7] as string, body: c[8] as string,
      resourceAttributes: c[9] as Attributes, scopeName: c[10] as string, scopeVersion: c[11] as string, attributes: c[12] as Attributes,
      eventName: c[13] as string,
    }));
  }

  /** Summed values per stack for one service and profile type: [stack leaf-first, value]. */
  async selectProfile(serviceName: string, type: string): Promise<{ stack: string[]; value: bigint; labels: Attributes }[]> {
    const rows = await this.db.rows(`SELECT s.Stack, toString(sum(p.Value)), any(p.Labels)
      FROM ${profileSamplesTable} AS p
      INNER JOIN (SELECT Hash, any(Stack) AS Stack FROM ${profileStacksTable} WHERE ServiceName = {service:String} GROUP BY Hash) AS s ON s.Hash = p.StackHash
      WHERE p.ServiceName = {service:String} AND p.Type = {type:String}
      GROUP BY s.Stack ORDER BY s.Stack`, { service: serviceName, type });
    return rows.map((c) => ({ stack: c[0] as string[], value: BigInt(c[1] as string), labels: c[2] as Attributes }));
  }

  async count(table: 'traces' | 'logs' | 'profiles'): Promise<number> {
    const t = table === 'traces' ? tracesTable : table === 'logs' ? logsTable : profileSamplesTable;
    const rows = await this.db.rows(`SELECT count() FROM ${t}`);
    return Number(rows[0]?.[0] ?? 0);
  }
}
