// OTLP/protobuf encoding of the spans the agent makes from captured requests, field numbers as
// in opentelemetry/proto trace/v1 and collector/trace/v1 (ExportTraceServiceRequest).
import { ProtobufWriter } from '@rootsight/common';

export type AttributeValue = string | number | boolean;

export interface SpanResource {
  serviceName: string;
  containerId: string;
  hostName: string;
  hostId: string;
}

export interface AgentSpan {
  traceId: Uint8Array; // 16 bytes
  spanId: Uint8Array; // 8 bytes
  parentSpanId?: Uint8Array;
  name: string;
  kind: 'server' | 'client';
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, AttributeValue>;
  error: boolean;
}

const SPAN_KIND = { server: 2, client: 3 } as const;
const STATUS_UNSET = 0;
const STATUS_ERROR = 2;
export const INSTRUMENTATION_SCOPE = 'rootsight-agent';

/** A KeyValue (field `field` of w) with its AnyValue, written in place. */
function keyValue(w: ProtobufWriter, field: number, key: string, value: AttributeValue): void {
  const kv = w.beginMessage(field);
  w.string(1, key);
  const any = w.beginMessage(2);
  if (typeof value === 'string') w.string(1, value);
  else if (typeof value === 'boolean') w.bool(2, value);
  else if (Number.isInteger(value)) w.int64(3, value);
  else w.double(4, value);
  w.endMessage(any).endMessage(kv);
}

/** A Span as field `field` of w (ScopeSpans.spans is field 2). */
export function encodeSpan(w: ProtobufWriter, field: number, s: AgentSpan): void {
  const span = w.beginMessage(field);
  w.bytes(1, s.traceId).bytes(2, s.spanId);
  if (s.parentSpanId) w.bytes(4, s.parentSpanId);
  w.string(5, s.name).uint(6, SPAN_KIND[s.kind]).fixed64(7, s.startTimeUnixNano).fixed64(8, s.endTimeUnixNano);
  for (const k in s.attributes) keyValue(w, 9, k, s.attributes[k]!);
  const status = w.beginMessage(15);
  w.uint(3, s.error ? STATUS_ERROR : STATUS_UNSET).endMessage(status);
  w.endMessage(span);
}

/**
 * An ExportTraceServiceRequest: one ResourceSpans per resource, with spans already encoded
 * (encodeSpan, field 2) so that a batch waiting to be sent holds bytes, not span objects that
 * would live long enough to burden the garbage collector. Written in one buffer: a writer per
 * nested message cost more than the spans' capture at 10k requests/s.
 */
export function encodeExportTraceRequest(groups: ReadonlyArray<{ resource: SpanResource; encodedSpans: Uint8Array }>, scopeVersion: string): Uint8Array {
  const w = new ProtobufWriter();
  for (const g of groups) {
    const resourceSpans = w.beginMessage(1);
    const resource = w.beginMessage(1);
    keyValue(w, 1, 'service.name', g.resource.serviceName);
    keyValue(w, 1, 'container.id', g.resource.containerId);
    keyValue(w, 1, 'host.name', g.resource.hostName);
    keyValue(w, 1, 'host.id', g.resource.hostId);
    w.endMessage(resource);
    const scopeSpans = w.beginMessage(2);
    const scope = w.beginMessage(1);
    w.string(1, INSTRUMENTATION_SCOPE).string(2, scopeVersion).endMessage(scope);
    w.raw(g.encodedSpans);
    w.endMessage(scopeSpans).endMessage(resourceSpans);
  }
  return w.finish();
}
