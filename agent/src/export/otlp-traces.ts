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

function keyValue(key: string, value: AttributeValue): ProtobufWriter {
  const any = new ProtobufWriter();
  if (typeof value === 'string') any.string(1, value);
  else if (typeof value === 'boolean') any.bool(2, value);
  else if (Number.isInteger(value)) any.int64(3, value);
  else any.double(4, value);
  return new ProtobufWriter().string(1, key).message(2, any);
}

function encodeSpan(s: AgentSpan): ProtobufWriter {
  const w = new ProtobufWriter().bytes(1, s.traceId).bytes(2, s.spanId);
  if (s.parentSpanId) w.bytes(4, s.parentSpanId);
  w.string(5, s.name).uint(6, SPAN_KIND[s.kind]).fixed64(7, s.startTimeUnixNano).fixed64(8, s.endTimeUnixNano);
  for (const [k, v] of Object.entries(s.attributes)) w.message(9, keyValue(k, v));
  w.message(15, new ProtobufWriter().uint(3, s.error ? STATUS_ERROR : STATUS_UNSET));
  return w;
}

/** One ResourceSpans per resource; spans keep their order. */
export function encodeExportTraceRequest(groups: ReadonlyArray<{ resource: SpanResource; spans: readonly AgentSpan[] }>, scopeVersion: string): Uint8Array {
  const req = new ProtobufWriter();
  for (const g of groups) {
    const resource = new ProtobufWriter()
      .message(1, keyValue('service.name', g.resource.serviceName))
      .message(1, keyValue('container.id', g.resource.containerId))
      .message(1, keyValue('host.name', g.resource.hostName))
      .message(1, keyValue('host.id', g.resource.hostId));
    const scope = new ProtobufWriter().message(1, new ProtobufWriter().string(1, INSTRUMENTATION_SCOPE).string(2, scopeVersion));
    for (const s of g.spans) scope.message(2, encodeSpan(s));
    req.message(1, new ProtobufWriter().message(1, resource).message(2, scope));
  }
  return req.finish();
}
