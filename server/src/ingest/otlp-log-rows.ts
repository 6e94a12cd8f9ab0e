// ExportLogsServiceRequest protobuf → otel_logs RowBinary (columns: logColumns) in one pass over
// the request, like otlp-span-rows.ts for spans. JSON requests use the object decoder
// (otlp-decode.ts); both produce the same bytes for the same request.
import { RowBinaryWriter } from '../storage/clickhouse/row-binary.ts';
import type { ResourceInfo, ScopeInfo } from './otlp-decode.ts';
import { KeyValueRanges, OtlpRowCopier, type RequestShape } from './otlp-row-copier.ts';
import { OtlpInvalidError, type OtlpLimits } from './otlp-values.ts';

const logRequestShape: RequestShape = {
  message: 'ExportLogsServiceRequest', resources: 'resource_logs', scopes: 'scope_logs', items: 'log_records',
  resourceFields: [undefined, 'ResourceLogs.resource', 'ResourceLogs.scope_logs'], scopeFields: [undefined, 'ScopeLogs.scope', 'ScopeLogs.log_records'],
};
const logRecordFields = [
  undefined, 'LogRecord.time_unix_nano', 'LogRecord.severity_number', 'LogRecord.severity_text', undefined, 'LogRecord.body',
  'LogRecord.attributes', undefined, 'LogRecord.flags', 'LogRecord.trace_id', 'LogRecord.span_id', 'LogRecord.observed_time_unix_nano',
  'LogRecord.event_name',
];

// Message nesting in the request, as the object decoder's reader counts it (see writeValue).
const bodyDepth = 4; // request › ResourceLogs › ScopeLogs › LogRecord › AnyValue
const attributeValueDepth = 5; // … › LogRecord › KeyValue › AnyValue

/**
 * Appends the request's log records to `out` as otel_logs rows; returns how many. `nowNs` stands
 * in for records with neither time nor observed time. Throws OtlpInvalidError (naming the record)
 * for anything the object decoder would refuse; `out` then holds a partial payload to discard.
 */
export function encodeLogsProto(buf: Uint8Array, limits: OtlpLimits, nowNs: bigint, out: RowBinaryWriter): number {
  return new LogRowCopier(buf, out, limits, nowNs).request();
}

class LogRowCopier extends OtlpRowCopier {
  private readonly attributes = new KeyValueRanges();
  private serviceName: Uint8Array = new Uint8Array(0);
  /** ResourceAttributes, ScopeName, ScopeVersion: adjacent columns, the same for every record of a scope. */
  private resourceAndScope: Uint8Array = new Uint8Array(0);

  constructor(buf: Uint8Array, out: RowBinaryWriter, limits: OtlpLimits, private readonly nowNs: bigint) {
    super(buf, out, limits, logRequestShape);
  }

  protected beginScope(resource: ResourceInfo, scope: ScopeInfo): void {
    const name = new RowBinaryWriter(64);
    name.string(resource.serviceName);
    this.serviceName = name.view();
    const w = new RowBinaryWriter(256);
    w.stringMap(resource.attributes);
    w.string(scope.name);
    w.string(scope.version);
    this.resourceAndScope = w.view();
  }

  protected item(s: number, e: number): void {
    const where = this.itemWhere;
    const attrs = this.attributes;
    attrs.n = 0;
    let time = -1, observed = -1, severityNumber = 0, flags = 0;
    let severityText = -1, severityTextEnd = -1, body = -1, bodyEnd = -1, traceId = -1, traceIdEnd = -1, spanId = -1, spanIdEnd = -1;
    let eventName = -1, eventNameEnd = -1;
    this.p = s;
    while (this.p < e) {
      const key = this.tag(e);
      switch (key) {
        case 0x09: time = this.fixed(8, e); break;
        case 0x10: severityNumber = this.varint(e); break;
        case 0x1a: severityTextEnd = this.len(e); severityText = this.p; this.checkUtf8(severityText, severityTextEnd); this.p = severityTextEnd; break;
        case 0x2a: {
          const end = this.len(e);
          // A replaced body is not written, but the object decoder still validated it.
          if (body >= 0) this.valueOf(body, bodyEnd, bodyDepth);
          body = this.p; bodyEnd = end; this.p = end;
          break;
        }
        case 0x32: { const end = this.len(e); attrs.add(this.p, end); this.p = end; break; }
        case 0x45: flags = this.u32At(this.fixed(4, e)); break;
        case 0x4a: traceIdEnd = this.len(e); traceId = this.p; this.p = traceIdEnd; break;
        case 0x52: spanIdEnd = this.len(e); spanId = this.p; this.p = spanIdEnd; break;
        case 0x59: observed = this.fixed(8, e); break;
        case 0x62: eventNameEnd = this.len(e); eventName = this.p; this.checkUtf8(eventName, eventNameEnd); this.p = eventNameEnd; break;
        default: this.skipUnknown(key, e, logRecordFields);
      }
    }
    this.checkTimestampAt(time, 'time_unix_nano');
    this.checkTimestampAt(observed, 'observed_time_unix_nano');
    if (severityNumber > 24) throw new OtlpInvalidError(`${where()}.severity_number: ${severityNumber} is outside 0..24`);

    // OTLP: the observed time stands in for an unknown event time, and the other way round; the
    // receive time when neither is known.
    if (time >= 0 && this.isZero64(time)) time = -1;
    if (observed >= 0 && this.isZero64(observed)) observed = -1;
    this.writeTime(time >= 0 ? time : observed);
    this.writeTime(observed >= 0 ? observed : time);
    this.copyId(traceId, traceIdEnd, 16, true, 'trace_id');
    this.copyId(spanId, spanIdEnd, 8, true, 'span_id');
    const out = this.out;
    out.u32(flags);
    this.copyString(severityText, severityTextEnd);
    out.u8(severityNumber);
    this.copyShared(this.serviceName);
    this.writeValue(body, bodyEnd, bodyDepth);
    this.copyShared(this.resourceAndScope);
    this.writeAttributeMap(attrs, attributeValueDepth, where);
    this.copyString(eventName, eventNameEnd);
  }

  private isZero64(at: number): boolean {
    return this.lo32(at) === 0 && this.hi32(at) === 0;
  }

  private writeTime(at: number): void {
    if (at >= 0) this.copyTimestamp(at); else this.out.bigI64(this.nowNs);
  }
}
