// OTLP ExportTraceServiceRequest / ExportLogsServiceRequest, protobuf and JSON, to storage rows.
// Validation happens here, once: ids of the right length, timestamps in range, attribute counts
// under the limits, value nesting bounded. Any violation rejects the whole request with a message
// naming the item, because a partial write would leave the sender unsure what to resend.
import { ProtobufDecodeError } from '@rootsight/common';
import type { LogRow, SpanEventRow, SpanLinkRow, SpanRow } from '../storage/clickhouse/telemetry-store.ts';
import {
  AttributeCollector, OtlpInvalidError, checkTimestamp, emptyValue, spanKindNames, statusCodeNames, valueToString,
  type AnyValue, type OtlpLimits,
} from './otlp-values.ts';
import { WireReader, toHex } from './wire-reader.ts';

export interface ResourceInfo { attributes: Record<string, string>; serviceName: string }
export interface ScopeInfo { name: string; version: string }

// ---------------------------------------------------------------- protobuf

export function readAnyValue(r: WireReader, limits: OtlpLimits, depth: number): AnyValue {
  if (depth > limits.maxValueDepth) throw new OtlpInvalidError(`attribute value nested more than ${limits.maxValueDepth} levels deep`);
  let v: AnyValue = emptyValue;
  while (!r.done()) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.expect(2, w, 'AnyValue.string_value'); v = { t: 'string', v: r.string() }; break;
      case 2: r.expect(0, w, 'AnyValue.bool_value'); v = { t: 'bool', v: r.varint() !== 0 }; break;
      case 3: r.expect(0, w, 'AnyValue.int_value'); v = { t: 'int', v: r.varintBig(true) }; break;
      case 4: r.expect(1, w, 'AnyValue.double_value'); v = { t: 'double', v: r.double() }; break;
      case 5: {
        r.expect(2, w, 'AnyValue.array_value');
        const a = r.sub();
        const items: AnyValue[] = [];
        while (!a.done()) {
          const [af, aw] = a.tag();
          if (af === 1) { a.expect(2, aw, 'ArrayValue.values'); items.push(readAnyValue(a.sub(), limits, depth + 1)); } else a.skip(aw);
        }
        v = { t: 'array', v: items };
        break;
      }
      case 6: {
        r.expect(2, w, 'AnyValue.kvlist_value');
        const m = r.sub();
        const items: [string, AnyValue][] = [];
        while (!m.done()) {
          const [mf, mw] = m.tag();
          if (mf === 1) { m.expect(2, mw, 'KeyValueList.values'); items.push(readKeyValue(m.sub(), limits, depth + 1)); } else m.skip(mw);
        }
        v = { t: 'kvlist', v: items };
        break;
      }
      case 7: r.expect(2, w, 'AnyValue.bytes_value'); v = { t: 'bytes', v: r.bytes() }; break;
      default: r.skip(w);
    }
  }
  return v;
}

function readKeyValue(r: WireReader, limits: OtlpLimits, depth: number): [string, AnyValue] {
  let key = '';
  let value: AnyValue = emptyValue;
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1) { r.expect(2, w, 'KeyValue.key'); key = r.string(); } else if (f === 2) { r.expect(2, w, 'KeyValue.value'); value = readAnyValue(r.sub(), limits, depth); } else r.skip(w);
  }
  return [key, value];
}

export function readResource(r: WireReader, limits: OtlpLimits, where: () => string): ResourceInfo {
  const attrs = new AttributeCollector(limits, where);
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1) { r.expect(2, w, 'Resource.attributes'); const [k, v] = readKeyValue(r.sub(), limits, 0); attrs.add(k, v); } else r.skip(w);
  }
  return { attributes: attrs.map, serviceName: attrs.map['service.name'] ?? '' };
}

export function readScope(r: WireReader): ScopeInfo {
  const s: ScopeInfo = { name: '', version: '' };
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1 && w === 2) s.name = r.string();
    else if (f === 2 && w === 2) s.version = r.string();
    else r.skip(w); // scope attributes are not stored
  }
  return s;
}

const noBytes: Uint8Array = new Uint8Array(0);

function idHex(b: Uint8Array, len: number, allowEmpty: boolean, what: () => string): string {
  if (b.length === 0 && allowEmpty) return '';
  if (b.length !== len) throw new OtlpInvalidError(`${what()} must be ${len} bytes, got ${b.length}`);
  // An all-zero id is the spec's "invalid id"; for optional ids it means absent.
  let zero = true;
  for (let i = 0; i < len; i++) if (b[i] !== 0) { zero = false; break; }
  if (zero) {
    if (allowEmpty) return '';
    throw new OtlpInvalidError(`${what()} is all zeros, which OTLP defines as invalid`);
  }
  return toHex(b);
}

/** Decodes an ExportTraceServiceRequest into span rows. */
export function decodeTracesProto(buf: Uint8Array, limits: OtlpLimits): SpanRow[] {
  const out: SpanRow[] = [];
  try {
    const top = new WireReader(buf);
    let rsIndex = 0;
    while (!top.done()) {
      const [f, w] = top.tag();
      if (f !== 1) { top.skip(w); continue; }
      top.expect(2, w, 'resource_spans');
      const rs = top.sub();
      const ri = rsIndex++;
      let resource: ResourceInfo = { attributes: {}, serviceName: '' };
      const scopeSpans: WireReader[] = [];
      while (!rs.done()) {
        const [rf, rw] = rs.tag();
        if (rf === 1) { rs.expect(2, rw, 'ResourceSpans.resource'); resource = readResource(rs.sub(), limits, () => `resource_spans[${ri}].resource`); } else if (rf === 2) { rs.expect(2, rw, 'ResourceSpans.scope_spans'); scopeSpans.push(rs.sub()); } else rs.skip(rw);
      }
      // The resource may come after its spans on the wire; spans are read once it is known.
      scopeSpans.forEach((ss, si) => {
        let scope: ScopeInfo = { name: '', version: '' };
        const spans: WireReader[] = [];
        while (!ss.done()) {
          const [sf, sw] = ss.tag();
          if (sf === 1) { ss.expect(2, sw, 'ScopeSpans.scope'); scope = readScope(ss.sub()); } else if (sf === 2) { ss.expect(2, sw, 'ScopeSpans.spans'); spans.push(ss.sub()); } else ss.skip(sw);
        }
        spans.forEach((sp, i) => out.push(readSpan(sp, resource, scope, limits, `resource_spans[${ri}].scope_spans[${si}].spans[${i}]`)));
      });
    }
  } catch (e) {
    if (e instanceof ProtobufDecodeError) throw new OtlpInvalidError(`malformed protobuf ExportTraceServiceRequest: ${e.message}`);
    throw e;
  }
  return out;
}

function readSpan(r: WireReader, res: ResourceInfo, scope: ScopeInfo, limits: OtlpLimits, where: string): SpanRow {
  const attrs = new AttributeCollector(limits, () => where);
  let traceId = noBytes;
  let spanId = noBytes;
  let parent = noBytes;
  const row: SpanRow = {
    startNs: 0n, endNs: 0n, traceId: '', spanId: '', parentSpanId: '', traceState: '', flags: 0, name: '', kind: 0,
    serviceName: res.serviceName, resourceAttributes: res.attributes, scopeName: scope.name, scopeVersion: scope.version,
    attributes: attrs.map, statusCode: 0, statusMessage: '', events: [], links: [],
  };
  while (!r.done()) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.expect(2, w, 'Span.trace_id'); traceId = r.bytes(); break;
      case 2: r.expect(2, w, 'Span.span_id'); spanId = r.bytes(); break;
      case 3: r.expect(2, w, 'Span.trace_state'); row.traceState = r.string(); break;
      case 4: r.expect(2, w, 'Span.parent_span_id'); parent = r.bytes(); break;
      case 5: r.expect(2, w, 'Span.name'); row.name = r.string(); break;
      case 6: r.expect(0, w, 'Span.kind'); row.kind = r.varint(); break;
      case 7: r.expect(1, w, 'Span.start_time_unix_nano'); row.startNs = r.fixed64(); break;
      case 8: r.expect(1, w, 'Span.end_time_unix_nano'); row.endNs = r.fixed64(); break;
      case 9: { r.expect(2, w, 'Span.attributes'); const [k, v] = readKeyValue(r.sub(), limits, 0); attrs.add(k, v); break; }
      case 11: r.expect(2, w, 'Span.events'); row.events.push(readEvent(r.sub(), limits, `${where}.events[${row.events.length}]`)); break;
      case 13: r.expect(2, w, 'Span.links'); row.links.push(readLink(r.sub(), limits, `${where}.links[${row.links.length}]`)); break;
      case 15: {
        r.expect(2, w, 'Span.status');
        const s = r.sub();
        while (!s.done()) {
          const [sf, sw] = s.tag();
          if (sf === 2 && sw === 2) row.statusMessage = s.string(); else if (sf === 3 && sw === 0) row.statusCode = s.varint(); else s.skip(sw);
        }
        break;
      }
      case 16: r.expect(5, w, 'Span.flags'); row.flags = r.fixed32(); break;
      default: r.skip(w);
    }
    if (row.events.length > limits.maxEventsPerSpan || row.links.length > limits.maxEventsPerSpan) {
      throw new OtlpInvalidError(`${where} has more than ${limits.maxEventsPerSpan} events or links`);
    }
  }
  return finishSpan(row, traceId, spanId, parent, where);
}

function finishSpan(row: SpanRow, traceId: Uint8Array, spanId: Uint8Array, parent: Uint8Array, where: string): SpanRow {
  row.traceId = idHex(traceId, 16, false, () => `${where}.trace_id`);
  row.spanId = idHex(spanId, 8, false, () => `${where}.span_id`);
  row.parentSpanId = idHex(parent, 8, true, () => `${where}.parent_span_id`);
  checkTimestamp(row.startNs, () => `${where}.start_time_unix_nano`);
  checkTimestamp(row.endNs, () => `${where}.end_time_unix_nano`);
  if (row.kind < 0 || row.kind >= spanKindNames.length) throw new OtlpInvalidError(`${where}.kind: unknown span kind ${row.kind}`);
  if (row.statusCode < 0 || row.statusCode >= statusCodeNames.length) throw new OtlpInvalidError(`${where}.status.code: unknown status code ${row.statusCode}`);
  return row;
}

function readEvent(r: WireReader, limits: OtlpLimits, where: string): SpanEventRow {
  const attrs = new AttributeCollector(limits, () => where);
  const e: SpanEventRow = { timeNs: 0n, name: '', attributes: attrs.map };
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1) { r.expect(1, w, 'Event.time_unix_nano'); e.timeNs = r.fixed64(); } else if (f === 2) { r.expect(2, w, 'Event.name'); e.name = r.string(); } else if (f === 3) { r.expect(2, w, 'Event.attributes'); const [k, v] = readKeyValue(r.sub(), limits, 0); attrs.add(k, v); } else r.skip(w);
  }
  checkTimestamp(e.timeNs, () => `${where}.time_unix_nano`);
  return e;
}

function readLink(r: WireReader, limits: OtlpLimits, where: string): SpanLinkRow {
  const attrs = new AttributeCollector(limits, () => where);
  let traceId: Uint8Array = new Uint8Array(0);
  let spanId: Uint8Array = new Uint8Array(0);
  let traceState = '';
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1) { r.expect(2, w, 'Link.trace_id'); traceId = r.bytes(); } else if (f === 2) { r.expect(2, w, 'Link.span_id'); spanId = r.bytes(); } else if (f === 3) { r.expect(2, w, 'Link.trace_state'); traceState = r.string(); } else if (f === 4) { r.expect(2, w, 'Link.attributes'); const [k, v] = readKeyValue(r.sub(), limits, 0); attrs.add(k, v); } else r.skip(w);
  }
  return { traceId: idHex(traceId, 16, false, () => `${where}.trace_id`), spanId: idHex(spanId, 8, false, () => `${where}.span_id`), traceState, attributes: attrs.map };
}

/** Decodes an ExportLogsServiceRequest into log rows; `nowNs` fills records with no time at all. */
export function decodeLogsProto(buf: Uint8Array, limits: OtlpLimits, nowNs: bigint): LogRow[] {
  const out: LogRow[] = [];
  try {
    const top = new WireReader(buf);
    let rlIndex = 0;
    while (!top.done()) {
      const [f, w] = top.tag();
      if (f !== 1) { top.skip(w); continue; }
      top.expect(2, w, 'resource_logs');
      const rl = top.sub();
      const ri = rlIndex++;
      let resource: ResourceInfo = { attributes: {}, serviceName: '' };
      const scopeLogs: WireReader[] = [];
      while (!rl.done()) {
        const [rf, rw] = rl.tag();
        if (rf === 1) { rl.expect(2, rw, 'ResourceLogs.resource'); resource = readResource(rl.sub(), limits, () => `resource_logs[${ri}].resource`); } else if (rf === 2) { rl.expect(2, rw, 'ResourceLogs.scope_logs'); scopeLogs.push(rl.sub()); } else rl.skip(rw);
      }
      scopeLogs.forEach((sl, si) => {
        let scope: ScopeInfo = { name: '', version: '' };
        const records: WireReader[] = [];
        while (!sl.done()) {
          const [sf, sw] = sl.tag();
          if (sf === 1) { sl.expect(2, sw, 'ScopeLogs.scope'); scope = readScope(sl.sub()); } else if (sf === 2) { sl.expect(2, sw, 'ScopeLogs.log_records'); records.push(sl.sub()); } else sl.skip(sw);
        }
        records.forEach((lr, i) => out.push(readLogRecord(lr, resource, scope, limits, nowNs, `resource_logs[${ri}].scope_logs[${si}].log_records[${i}]`)));
      });
    }
  } catch (e) {
    if (e instanceof ProtobufDecodeError) throw new OtlpInvalidError(`malformed protobuf ExportLogsServiceRequest: ${e.message}`);
    throw e;
  }
  return out;
}

function readLogRecord(r: WireReader, res: ResourceInfo, scope: ScopeInfo, limits: OtlpLimits, nowNs: bigint, where: string): LogRow {
  const attrs = new AttributeCollector(limits, () => where);
  let traceId = noBytes;
  let spanId = noBytes;
  let body: AnyValue = emptyValue;
  const row: LogRow = {
    timeNs: 0n, observedNs: 0n, traceId: '', spanId: '', flags: 0, severityText: '', severityNumber: 0, serviceName: res.serviceName,
    body: '', resourceAttributes: res.attributes, scopeName: scope.name, scopeVersion: scope.version, attributes: attrs.map, eventName: '',
  };
  while (!r.done()) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.expect(1, w, 'LogRecord.time_unix_nano'); row.timeNs = r.fixed64(); break;
      case 2: r.expect(0, w, 'LogRecord.severity_number'); row.severityNumber = r.varint(); break;
      case 3: r.expect(2, w, 'LogRecord.severity_text'); row.severityText = r.string(); break;
      case 5: r.expect(2, w, 'LogRecord.body'); body = readAnyValue(r.sub(), limits, 0); break;
      case 6: { r.expect(2, w, 'LogRecord.attributes'); const [k, v] = readKeyValue(r.sub(), limits, 0); attrs.add(k, v); break; }
      case 8: r.expect(5, w, 'LogRecord.flags'); row.flags = r.fixed32(); break;
      case 9: r.expect(2, w, 'LogRecord.trace_id'); traceId = r.bytes(); break;
      case 10: r.expect(2, w, 'LogRecord.span_id'); spanId = r.bytes(); break;
      case 11: r.expect(1, w, 'LogRecord.observed_time_unix_nano'); row.observedNs = r.fixed64(); break;
      case 12: r.expect(2, w, 'LogRecord.event_name'); row.eventName = r.string(); break;
      default: r.skip(w);
    }
  }
  return finishLog(row, body, traceId, spanId, nowNs, where);
}

function finishLog(row: LogRow, body: AnyValue, traceId: Uint8Array, spanId: Uint8Array, nowNs: bigint, where: string): LogRow {
  checkTimestamp(row.timeNs, () => `${where}.time_unix_nano`);
  checkTimestamp(row.observedNs, () => `${where}.observed_time_unix_nano`);
  // OTLP: use the observed time when the event time is unknown.
  if (row.observedNs === 0n) row.observedNs = row.timeNs === 0n ? nowNs : row.timeNs;
  if (row.timeNs === 0n) row.timeNs = row.observedNs;
  if (row.severityNumber < 0 || row.severityNumber > 24) throw new OtlpInvalidError(`${where}.severity_number: ${row.severityNumber} is outside 0..24`);
  row.body = valueString(body);
  row.traceId = idHex(traceId, 16, true, () => `${where}.trace_id`);
  row.spanId = idHex(spanId, 8, true, () => `${where}.span_id`);
  return row;
}

function valueString(v: AnyValue): string {
  return v.t === 'empty' ? '' : valueToString(v);
}

// ---------------------------------------------------------------- JSON (OTLP/JSON: lowerCamelCase, hex ids, int64 as strings)

type J = Record<string, unknown>;

function field(o: J, camel: string, snake?: string): unknown {
  return o[camel] ?? (snake ? o[snake] : undefined);
}

function obj(v: unknown, what: string): J {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new OtlpInvalidError(`${what} must be a JSON object`);
  return v as J;
}

function arr(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpInvalidError(`${what} must be a JSON array`);
  return v;
}

function str(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new OtlpInvalidError(`${what} must be a string`);
  return v;
}

function int64(v: unknown, what: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  throw new OtlpInvalidError(`${what} must be an integer (a decimal string for 64-bit values), got ${JSON.stringify(v)}`);
}

function timestamp(v: unknown, what: string): bigint {
  return checkTimestamp(int64(v, what), () => what);
}

function smallInt(v: unknown, what: string, names?: readonly string[]): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && names) {
    const i = names.indexOf(v);
    if (i >= 0) return i;
  }
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  throw new OtlpInvalidError(`${what} must be an integer${names ? ` or one of ${names.join(', ')}` : ''}, got ${JSON.stringify(v)}`);
}

function jsonId(v: unknown, len: number, allowEmpty: boolean, what: string): string {
  const s = str(v, what);
  if (s === '' && allowEmpty) return '';
  let bytes: Uint8Array;
  if (new RegExp(`^[0-9a-fA-F]{${len * 2}}$`).test(s)) bytes = Buffer.from(s, 'hex');
  else {
    // protojson proper encodes bytes as base64; OTLP/JSON says hex. Accept both.
    const b = /^[A-Za-z0-9+/]+=*$/.test(s) ? Buffer.from(s, 'base64') : Buffer.alloc(0);
    if (b.length !== len) throw new OtlpInvalidError(`${what} must be ${len * 2} hex digits, got ${JSON.stringify(s.slice(0, 80))}`);
    bytes = b;
  }
  return idHex(bytes, len, allowEmpty, () => what);
}

function jsonAnyValue(v: unknown, limits: OtlpLimits, depth: number, what: string): AnyValue {
  if (depth > limits.maxValueDepth) throw new OtlpInvalidError(`${what}: value nested more than ${limits.maxValueDepth} levels deep`);
  const o = obj(v, what);
  if ('stringValue' in o || 'string_value' in o) return { t: 'string', v: str(field(o, 'stringValue', 'string_value'), `${what}.stringValue`) };
  if ('boolValue' in o || 'bool_value' in o) {
    const b = field(o, 'boolValue', 'bool_value');
    if (typeof b !== 'boolean') throw new OtlpInvalidError(`${what}.boolValue must be true or false`);
    return { t: 'bool', v: b };
  }
  if ('intValue' in o || 'int_value' in o) return { t: 'int', v: BigInt.asIntN(64, int64(field(o, 'intValue', 'int_value'), `${what}.intValue`)) };
  if ('doubleValue' in o || 'double_value' in o) {
    const d = field(o, 'doubleValue', 'double_value');
    if (typeof d === 'number') return { t: 'double', v: d };
    if (d === 'NaN' || d === 'Infinity' || d === '-Infinity') return { t: 'double', v: Number(d) };
    if (typeof d === 'string' && d.trim() !== '' && Number.isFinite(Number(d))) return { t: 'double', v: Number(d) };
    throw new OtlpInvalidError(`${what}.doubleValue must be a number`);
  }
  if ('bytesValue' in o || 'bytes_value' in o) return { t: 'bytes', v: Buffer.from(str(field(o, 'bytesValue', 'bytes_value'), `${what}.bytesValue`), 'base64') };
  if ('arrayValue' in o || 'array_value' in o) {
    const a = obj(field(o, 'arrayValue', 'array_value'), `${what}.arrayValue`);
    return { t: 'array', v: arr(a['values'], `${what}.arrayValue.values`).map((x, i) => jsonAnyValue(x, limits, depth + 1, `${what}.arrayValue.values[${i}]`)) };
  }
  if ('kvlistValue' in o || 'kvlist_value' in o) {
    const m = obj(field(o, 'kvlistValue', 'kvlist_value'), `${what}.kvlistValue`);
    return { t: 'kvlist', v: arr(m['values'], `${what}.kvlistValue.values`).map((x, i) => jsonKeyValue(x, limits, depth + 1, `${what}.kvlistValue.values[${i}]`)) };
  }
  return emptyValue;
}

function jsonKeyValue(v: unknown, limits: OtlpLimits, depth: number, what: string): [string, AnyValue] {
  const o = obj(v, what);
  return [str(o['key'], `${what}.key`), jsonAnyValue(o['value'], limits, depth, `${what}.value`)];
}

function jsonAttributes(v: unknown, limits: OtlpLimits, what: string): Record<string, string> {
  const list = arr(v, `${what}.attributes`);
  const c = new AttributeCollector(limits, () => what);
  list.forEach((kv, i) => { const [k, x] = jsonKeyValue(kv, limits, 0, `${what}.attributes[${i}]`); c.add(k, x); });
  return c.map;
}

function jsonResource(v: unknown, limits: OtlpLimits, what: string): ResourceInfo {
  const attributes = jsonAttributes(obj(v, what)['attributes'], limits, what);
  return { attributes, serviceName: attributes['service.name'] ?? '' };
}

function jsonScope(v: unknown, what: string): ScopeInfo {
  const o = obj(v, what);
  return { name: str(o['name'], `${what}.name`), version: str(o['version'], `${what}.version`) };
}

function parseJson(buf: Uint8Array, what: string): J {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8'));
  } catch (e) {
    throw new OtlpInvalidError(`malformed JSON ${what}: ${(e as Error).message}`);
  }
  return obj(v, what);
}

export function decodeTracesJson(buf: Uint8Array, limits: OtlpLimits): SpanRow[] {
  const top = parseJson(buf, 'ExportTraceServiceRequest');
  const out: SpanRow[] = [];
  arr(field(top, 'resourceSpans', 'resource_spans'), 'resourceSpans').forEach((rsv, ri) => {
    const rs = obj(rsv, `resourceSpans[${ri}]`);
    const resource = jsonResource(rs['resource'], limits, `resourceSpans[${ri}].resource`);
    arr(field(rs, 'scopeSpans', 'scope_spans'), `resourceSpans[${ri}].scopeSpans`).forEach((ssv, si) => {
      const ss = obj(ssv, `resourceSpans[${ri}].scopeSpans[${si}]`);
      const scope = jsonScope(ss['scope'], `resourceSpans[${ri}].scopeSpans[${si}].scope`);
      arr(ss['spans'], 'spans').forEach((spv, i) => {
        const where = `resourceSpans[${ri}].scopeSpans[${si}].spans[${i}]`;
        const sp = obj(spv, where);
        const status = obj(sp['status'], `${where}.status`);
        const events = arr(sp['events'], `${where}.events`);
        const links = arr(sp['links'], `${where}.links`);
        if (events.length > limits.maxEventsPerSpan || links.length > limits.maxEventsPerSpan) throw new OtlpInvalidError(`${where} has more than ${limits.maxEventsPerSpan} events or links`);
        const row: SpanRow = {
          startNs: timestamp(field(sp, 'startTimeUnixNano', 'start_time_unix_nano'), `${where}.startTimeUnixNano`),
          endNs: timestamp(field(sp, 'endTimeUnixNano', 'end_time_unix_nano'), `${where}.endTimeUnixNano`),
          traceId: jsonId(field(sp, 'traceId', 'trace_id'), 16, false, `${where}.traceId`),
          spanId: jsonId(field(sp, 'spanId', 'span_id'), 8, false, `${where}.spanId`),
          parentSpanId: jsonId(field(sp, 'parentSpanId', 'parent_span_id'), 8, true, `${where}.parentSpanId`),
          traceState: str(field(sp, 'traceState', 'trace_state'), `${where}.traceState`),
          flags: smallInt(sp['flags'], `${where}.flags`),
          name: str(sp['name'], `${where}.name`),
          kind: smallInt(sp['kind'], `${where}.kind`, spanKindNames),
          serviceName: resource.serviceName, resourceAttributes: resource.attributes, scopeName: scope.name, scopeVersion: scope.version,
          attributes: jsonAttributes(sp['attributes'], limits, where),
          statusCode: smallInt(status['code'], `${where}.status.code`, statusCodeNames),
          statusMessage: str(status['message'], `${where}.status.message`),
          events: events.map((ev, ei) => {
            const e = obj(ev, `${where}.events[${ei}]`);
            return { timeNs: timestamp(field(e, 'timeUnixNano', 'time_unix_nano'), `${where}.events[${ei}].timeUnixNano`), name: str(e['name'], 'name'), attributes: jsonAttributes(e['attributes'], limits, `${where}.events[${ei}]`) };
          }),
          links: links.map((lv, li) => {
            const l = obj(lv, `${where}.links[${li}]`);
            return {
              traceId: jsonId(field(l, 'traceId', 'trace_id'), 16, false, `${where}.links[${li}].traceId`),
              spanId: jsonId(field(l, 'spanId', 'span_id'), 8, false, `${where}.links[${li}].spanId`),
              traceState: str(field(l, 'traceState', 'trace_state'), 'traceState'),
              attributes: jsonAttributes(l['attributes'], limits, `${where}.links[${li}]`),
            };
          }),
        };
        if (row.kind >= spanKindNames.length) throw new OtlpInvalidError(`${where}.kind: unknown span kind ${row.kind}`);
        if (row.statusCode >= statusCodeNames.length) throw new OtlpInvalidError(`${where}.status.code: unknown status code ${row.statusCode}`);
        out.push(row);
      });
    });
  });
  return out;
}

export function decodeLogsJson(buf: Uint8Array, limits: OtlpLimits, nowNs: bigint): LogRow[] {
  const top = parseJson(buf, 'ExportLogsServiceRequest');
  const out: LogRow[] = [];
  arr(field(top, 'resourceLogs', 'resource_logs'), 'resourceLogs').forEach((rlv, ri) => {
    const rl = obj(rlv, `resourceLogs[${ri}]`);
    const resource = jsonResource(rl['resource'], limits, `resourceLogs[${ri}].resource`);
    arr(field(rl, 'scopeLogs', 'scope_logs'), `resourceLogs[${ri}].scopeLogs`).forEach((slv, si) => {
      const sl = obj(slv, `resourceLogs[${ri}].scopeLogs[${si}]`);
      const scope = jsonScope(sl['scope'], `resourceLogs[${ri}].scopeLogs[${si}].scope`);
      arr(field(sl, 'logRecords', 'log_records'), 'logRecords').forEach((lrv, i) => {
        const where = `resourceLogs[${ri}].scopeLogs[${si}].logRecords[${i}]`;
        const lr = obj(lrv, where);
        const row: LogRow = {
          timeNs: timestamp(field(lr, 'timeUnixNano', 'time_unix_nano'), `${where}.timeUnixNano`),
          observedNs: timestamp(field(lr, 'observedTimeUnixNano', 'observed_time_unix_nano'), `${where}.observedTimeUnixNano`),
          traceId: '', spanId: '',
          flags: smallInt(lr['flags'], `${where}.flags`),
          severityText: str(field(lr, 'severityText', 'severity_text'), `${where}.severityText`),
          severityNumber: smallInt(field(lr, 'severityNumber', 'severity_number'), `${where}.severityNumber`),
          serviceName: resource.serviceName, body: '', resourceAttributes: resource.attributes, scopeName: scope.name, scopeVersion: scope.version,
          attributes: jsonAttributes(lr['attributes'], limits, where),
          eventName: str(field(lr, 'eventName', 'event_name'), `${where}.eventName`),
        };
        const body = lr['body'] === undefined ? emptyValue : jsonAnyValue(lr['body'], limits, 0, `${where}.body`);
        const traceId = jsonId(field(lr, 'traceId', 'trace_id'), 16, true, `${where}.traceId`);
        const spanId = jsonId(field(lr, 'spanId', 'span_id'), 8, true, `${where}.spanId`);
        finishLog(row, body, new Uint8Array(0), new Uint8Array(0), nowNs, where);
        row.traceId = traceId;
        row.spanId = spanId;
        out.push(row);
      });
    });
  });
  return out;
}
