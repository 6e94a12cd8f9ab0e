// ExportTraceServiceRequest protobuf → otel_traces RowBinary (columns: spanColumns) in one pass
// over the request: the ingest hot path. JSON requests, and anything that wants span objects, use
// the object decoder (otlp-decode.ts); both produce the same bytes for the same request.
import { RowBinaryWriter } from '../storage/clickhouse/row-binary.ts';
import type { ResourceInfo, ScopeInfo } from './otlp-decode.ts';
import { KeyValueRanges, OtlpRowCopier, type RequestShape } from './otlp-row-copier.ts';
import { OtlpInvalidError, spanKindNames, statusCodeNames, type OtlpLimits } from './otlp-values.ts';

const spanRequestShape: RequestShape = {
  message: 'ExportTraceServiceRequest', resources: 'resource_spans', scopes: 'scope_spans', items: 'spans',
  resourceFields: [undefined, 'ResourceSpans.resource', 'ResourceSpans.scope_spans'], scopeFields: [undefined, 'ScopeSpans.scope', 'ScopeSpans.spans'],
};
const spanFields = [
  undefined, 'Span.trace_id', 'Span.span_id', 'Span.trace_state', 'Span.parent_span_id', 'Span.name', 'Span.kind',
  'Span.start_time_unix_nano', 'Span.end_time_unix_nano', 'Span.attributes', undefined, 'Span.events', undefined, 'Span.links',
  undefined, 'Span.status', 'Span.flags',
];
const eventFields = [undefined, 'Event.time_unix_nano', 'Event.name', 'Event.attributes'];
const linkFields = [undefined, 'Link.trace_id', 'Link.span_id', 'Link.trace_state', 'Link.attributes'];

// Message nesting in the request, as the object decoder's reader counts it (see writeValue).
const spanAttributeValueDepth = 5; // request › ResourceSpans › ScopeSpans › Span › KeyValue › AnyValue
const nestedAttributeValueDepth = 6; // … › Span › Event|Link › KeyValue › AnyValue

/**
 * Appends the request's spans to `out` as otel_traces rows; returns how many. Throws
 * OtlpInvalidError (naming the item) for anything the object decoder would refuse; `out` then holds
 * a partial payload the caller must discard.
 */
export function encodeTracesProto(buf: Uint8Array, limits: OtlpLimits, out: RowBinaryWriter): number {
  return new SpanRowCopier(buf, out, limits).request();
}

class SpanRowCopier extends OtlpRowCopier {
  private readonly spanAttributes = new KeyValueRanges();
  private readonly itemAttributes = new KeyValueRanges();
  private eventStarts: number[] = [];
  private eventEnds: number[] = [];
  private linkStarts: number[] = [];
  private linkEnds: number[] = [];

  constructor(buf: Uint8Array, out: RowBinaryWriter, limits: OtlpLimits) {
    super(buf, out, limits, spanRequestShape);
  }

  /** ServiceName, ResourceAttributes, ScopeName, ScopeVersion: adjacent columns, the same for every span of a scope. */
  private shared: Uint8Array = new Uint8Array(0);

  protected beginScope(resource: ResourceInfo, scope: ScopeInfo): void {
    const w = new RowBinaryWriter(256);
    w.string(resource.serviceName);
    w.stringMap(resource.attributes);
    w.string(scope.name);
    w.string(scope.version);
    this.shared = w.view();
  }

  protected item(s: number, e: number): void {
    this.span(s, e, this.shared);
  }

  private span(s: number, e: number, shared: Uint8Array): void {
    const where = this.itemWhere;
    const attrs = this.spanAttributes;
    attrs.n = 0;
    let events = 0, links = 0;
    let traceId = -1, traceIdEnd = -1, spanId = -1, spanIdEnd = -1, parent = -1, parentEnd = -1;
    let traceState = -1, traceStateEnd = -1, name = -1, nameEnd = -1, statusMessage = -1, statusMessageEnd = -1;
    let kind = 0, start = -1, endTime = -1, statusCode = 0, flags = 0;
    this.p = s;
    while (this.p < e) {
      const key = this.tag(e);
      switch (key) {
        case 0x0a: traceIdEnd = this.len(e); traceId = this.p; this.p = traceIdEnd; break;
        case 0x12: spanIdEnd = this.len(e); spanId = this.p; this.p = spanIdEnd; break;
        case 0x1a: traceStateEnd = this.len(e); traceState = this.p; this.checkUtf8(traceState, traceStateEnd); this.p = traceStateEnd; break;
        case 0x22: parentEnd = this.len(e); parent = this.p; this.p = parentEnd; break;
        case 0x2a: nameEnd = this.len(e); name = this.p; this.checkUtf8(name, nameEnd); this.p = nameEnd; break;
        case 0x30: kind = this.varint(e); break;
        case 0x39: start = this.fixed(8, e); break;
        case 0x41: endTime = this.fixed(8, e); break;
        case 0x4a: { const end = this.len(e); attrs.add(this.p, end); this.p = end; break; }
        case 0x5a: { const end = this.len(e); this.eventStarts[events] = this.p; this.eventEnds[events++] = end; this.p = end; break; }
        case 0x6a: { const end = this.len(e); this.linkStarts[links] = this.p; this.linkEnds[links++] = end; this.p = end; break; }
        case 0x7a: {
          const end = this.len(e);
          while (this.p < end) {
            const k = this.tag(end);
            if (k === 0x12) { statusMessageEnd = this.len(end); statusMessage = this.p; this.checkUtf8(statusMessage, statusMessageEnd); this.p = statusMessageEnd; }
            else if (k === 0x18) statusCode = this.varint(end);
            else this.skip(k, end);
          }
          break;
        }
        case 0x85: flags = this.u32At(this.fixed(4, e)); break;
        default: this.skipUnknown(key, e, spanFields);
      }
      if (events > this.limits.maxEventsPerSpan || links > this.limits.maxEventsPerSpan) {
        throw new OtlpInvalidError(`${where()} has more than ${this.limits.maxEventsPerSpan} events or links`);
      }
    }
    this.checkTimestampAt(start, 'start_time_unix_nano');
    this.checkTimestampAt(endTime, 'end_time_unix_nano');
    if (kind >= spanKindNames.length) throw new OtlpInvalidError(`${where()}.kind: unknown span kind ${kind}`);
    if (statusCode >= statusCodeNames.length) throw new OtlpInvalidError(`${where()}.status.code: unknown status code ${statusCode}`);

    const out = this.out;
    this.copyTimestamp(start);
    this.copyId(traceId, traceIdEnd, 16, false, 'trace_id');
    this.copyId(spanId, spanIdEnd, 8, false, 'span_id');
    this.copyId(parent, parentEnd, 8, true, 'parent_span_id');
    this.copyString(traceState, traceStateEnd);
    out.u32(flags);
    this.copyString(name, nameEnd);
    out.u8(kind);
    this.copyShared(shared);
    this.writeAttributeMap(attrs, spanAttributeValueDepth, where);
    this.writeDuration(start, endTime);
    out.u8(statusCode);
    this.copyString(statusMessage, statusMessageEnd);
    this.writeEvents(events);
    this.writeLinks(links);
  }

  /** UInt64 end − start when end is later, else 0: exact 64-bit arithmetic on the uint32 halves. */
  private writeDuration(start: number, end: number): void {
    const sLo = this.lo32(start), sHi = this.hi32(start), eLo = this.lo32(end), eHi = this.hi32(end);
    const out = this.out;
    if (eHi > sHi || (eHi === sHi && eLo > sLo)) {
      let lo = eLo - sLo;
      let hi = eHi - sHi;
      if (lo < 0) { lo += 2 ** 32; hi -= 1; }
      out.u32(lo);
      out.u32(hi);
    } else {
      out.u32(0);
      out.u32(0);
    }
  }

  // Events and links are stored column by column (Array per field): one pass over them per column.

  private writeEvents(n: number): void {
    const out = this.out;
    // Most spans have none: three empty arrays, without the per-column lists below.
    if (n === 0) { out.u8(0); out.u8(0); out.u8(0); return; }
    const times: number[] = [];
    const names: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = this.eventStarts[i]!, e = this.eventEnds[i]!;
      const where = () => `${this.itemWhere()}.events[${i}]`;
      let time = -1, name = -1, nameEnd = -1;
      const attrs = this.itemAttributes;
      attrs.n = 0;
      this.p = s;
      while (this.p < e) {
        const key = this.tag(e);
        if (key === 0x09) time = this.fixed(8, e);
        else if (key === 0x12) { nameEnd = this.len(e); name = this.p; this.checkUtf8(name, nameEnd); this.p = nameEnd; }
        else if (key === 0x1a) { const end = this.len(e); attrs.add(this.p, end); this.p = end; }
        else this.skipUnknown(key, e, eventFields);
      }
      if (attrs.n > this.limits.maxAttributes) this.writeAttributeMap(attrs, nestedAttributeValueDepth, where); // throws
      this.checkTimestampAt(time, () => `${where()}.time_unix_nano`);
      times.push(time);
      names.push(name, nameEnd);
    }
    out.varint(n);
    for (const t of times) this.copyTimestamp(t);
    out.varint(n);
    for (let i = 0; i < names.length; i += 2) this.copyString(names[i]!, names[i + 1]!);
    out.varint(n);
    for (let i = 0; i < n; i++) {
      const s = this.eventStarts[i]!, e = this.eventEnds[i]!;
      this.writeAttributeMap(this.attributesOf(s, e, 0x1a), nestedAttributeValueDepth, () => `${this.itemWhere()}.events[${i}]`);
    }
  }

  private writeLinks(n: number): void {
    const out = this.out;
    if (n === 0) { out.u8(0); out.u8(0); out.u8(0); out.u8(0); return; }
    const fields: number[] = []; // per link: traceId s/e, spanId s/e, traceState s/e
    for (let i = 0; i < n; i++) {
      const s = this.linkStarts[i]!, e = this.linkEnds[i]!;
      let t = -1, te = -1, sp = -1, spe = -1, ts = -1, tse = -1;
      this.p = s;
      while (this.p < e) {
        const key = this.tag(e);
        if (key === 0x0a) { te = this.len(e); t = this.p; this.p = te; }
        else if (key === 0x12) { spe = this.len(e); sp = this.p; this.p = spe; }
        else if (key === 0x1a) { tse = this.len(e); ts = this.p; this.checkUtf8(ts, tse); this.p = tse; }
        else if (key === 0x22) this.p = this.len(e);
        else this.skipUnknown(key, e, linkFields);
      }
      fields.push(t, te, sp, spe, ts, tse);
    }
    out.varint(n);
    for (let i = 0; i < n; i++) this.copyId(fields[6 * i]!, fields[6 * i + 1]!, 16, false, () => `${this.itemWhere()}.links[${i}].trace_id`);
    out.varint(n);
    for (let i = 0; i < n; i++) this.copyId(fields[6 * i + 2]!, fields[6 * i + 3]!, 8, false, () => `${this.itemWhere()}.links[${i}].span_id`);
    out.varint(n);
    for (let i = 0; i < n; i++) this.copyString(fields[6 * i + 4]!, fields[6 * i + 5]!);
    out.varint(n);
    for (let i = 0; i < n; i++) {
      this.writeAttributeMap(this.attributesOf(this.linkStarts[i]!, this.linkEnds[i]!, 0x22), nestedAttributeValueDepth, () => `${this.itemWhere()}.links[${i}]`);
    }
  }

  /** The KeyValue ranges of field `attributeKey` in a message already validated by a scan. */
  private attributesOf(s: number, e: number, attributeKey: number): KeyValueRanges {
    const attrs = this.itemAttributes;
    attrs.n = 0;
    this.p = s;
    while (this.p < e) {
      const key = this.tag(e);
      if (key === attributeKey) { const end = this.len(e); attrs.add(this.p, end); this.p = end; } else this.skip(key, e);
    }
    return attrs;
  }
}
