// Writes and reads spans, log records and profile samples. Rows arrive validated by ingest/;
// ids travel as lower-case hex and are stored as bytes (see schema.ts). Timestamps are
// nanoseconds since the epoch as bigint: they do not fit a double.
import type { ClickHouseDriver } from './driver.ts';
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

const spanColumns = [
  'TraceIdHex', 'SpanIdHex', 'ParentSpanIdHex', 'LinksTraceIdHex', 'LinksSpanIdHex', 'Timestamp', 'TraceState', 'TraceFlags',
  'SpanName', 'SpanKind', 'ServiceName', 'ResourceAttributes', 'ScopeName', 'ScopeVersion', 'SpanAttributes', 'Duration',
  'StatusCode', 'StatusMessage', 'Events.Timestamp', 'Events.Name', 'Events.Attributes', 'Links.TraceState', 'Links.Attributes',
];
const logColumns = [
  'TraceIdHex', 'SpanIdHex', 'Timestamp', 'ObservedTimestamp', 'TraceFlags', 'SeverityText', 'SeverityNumber', 'ServiceName',
  'Body', 'ResourceAttributes', 'ScopeName', 'ScopeVersion', 'LogAttributes', 'EventName',
];

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

export class TelemetryStore {
  constructor(private readonly db: ClickHouseDriver) {}

  async insertSpans(rows: readonly SpanRow[]): Promise<void> {
    await this.db.insertJsonRows(tracesTable, rows.map((r) => ({
      TraceIdHex: r.traceId,
      SpanIdHex: r.spanId,
      ParentSpanIdHex: r.parentSpanId === '' ? zeroSpanId : r.parentSpanId,
      LinksTraceIdHex: r.links.map((l) => l.traceId),
      LinksSpanIdHex: r.links.map((l) => l.spanId),
      Timestamp: nsToDateTime64(r.startNs),
      TraceState: r.traceState,
      TraceFlags: r.flags,
      SpanName: r.name,
      SpanKind: r.kind,
      ServiceName: r.serviceName,
      ResourceAttributes: r.resourceAttributes,
      ScopeName: r.scopeName,
      ScopeVersion: r.scopeVersion,
      SpanAttributes: r.attributes,
      Duration: (r.endNs > r.startNs ? r.endNs - r.startNs : 0n).toString(),
      StatusCode: r.statusCode,
      StatusMessage: r.statusMessage,
      'Events.Timestamp': r.events.map((e) => nsToDateTime64(e.timeNs)),
      'Events.Name': r.events.map((e) => e.name),
      'Events.Attributes': r.events.map((e) => e.attributes),
      'Links.TraceState': r.links.map((l) => l.traceState),
      'Links.Attributes': r.links.map((l) => l.attributes),
    })), spanColumns);
  }

  async insertLogs(rows: readonly LogRow[]): Promise<void> {
    await this.db.insertJsonRows(logsTable, rows.map((r) => ({
      TraceIdHex: r.traceId,
      SpanIdHex: r.spanId,
      Timestamp: nsToDateTime64(r.timeNs),
      ObservedTimestamp: nsToDateTime64(r.observedNs),
      TraceFlags: r.flags,
      SeverityText: r.severityText,
      SeverityNumber: r.severityNumber,
      ServiceName: r.serviceName,
      Body: r.body,
      ResourceAttributes: r.resourceAttributes,
      ScopeName: r.scopeName,
      ScopeVersion: r.scopeVersion,
      LogAttributes: r.attributes,
      EventName: r.eventName,
    })), logColumns);
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
