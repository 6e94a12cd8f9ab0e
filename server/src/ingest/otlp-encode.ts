// Builds OTLP ExportTraceServiceRequest / ExportLogsServiceRequest protobufs from plain objects:
// for tests that hand-make bodies, for benches, and for anything in Rootsight that exports OTLP.
import { ProtobufWriter } from '@rootsight/common';

export type AttrValue = string | number | boolean | bigint;

export interface SpanInput {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startNs: bigint;
  endNs: bigint;
  attributes?: Record<string, AttrValue>;
  status?: { code: number; message?: string };
  events?: { timeNs: bigint; name: string; attributes?: Record<string, AttrValue> }[];
  links?: { traceId: string; spanId: string; attributes?: Record<string, AttrValue> }[];
}

export interface LogInput {
  timeNs: bigint;
  observedNs?: bigint;
  severityNumber?: number;
  severityText?: string;
  body: string;
  attributes?: Record<string, AttrValue>;
  traceId?: string;
  spanId?: string;
}

export interface ResourceInput<T> { attributes: Record<string, AttrValue>; scopes: { name: string; version?: string; items: T[] }[] }

const f64 = new DataView(new ArrayBuffer(8));

/** fixed64 through the writer's double: the same 8 little-endian bytes on the wire. */
function fixed64(w: ProtobufWriter, field: number, v: bigint): void {
  f64.setBigUint64(0, BigInt.asUintN(64, v), true);
  w.double(field, f64.getFloat64(0, true));
}

function anyValue(v: AttrValue): ProtobufWriter {
  const w = new ProtobufWriter();
  if (typeof v === 'string') w.string(1, v);
  else if (typeof v === 'boolean') w.uint(2, v ? 1 : 0);
  else if (typeof v === 'bigint') w.int64(3, Number(v));
  else if (Number.isInteger(v)) w.int64(3, v);
  else w.double(4, v);
  return w;
}

function keyValues(w: ProtobufWriter, field: number, attrs: Record<string, AttrValue> | undefined): void {
  for (const [k, v] of Object.entries(attrs ?? {})) w.message(field, new ProtobufWriter().string(1, k).message(2, anyValue(v)));
}

function resource(attrs: Record<string, AttrValue>): ProtobufWriter {
  const r = new ProtobufWriter();
  keyValues(r, 1, attrs);
  return r;
}

function scope(name: string, version?: string): ProtobufWriter {
  const s = new ProtobufWriter().string(1, name);
  if (version) s.string(2, version);
  return s;
}

const hex = (h: string) => Buffer.from(h, 'hex');

export function encodeSpan(s: SpanInput): ProtobufWriter {
  const w = new ProtobufWriter().bytes(1, hex(s.traceId)).bytes(2, hex(s.spanId));
  if (s.parentSpanId) w.bytes(4, hex(s.parentSpanId));
  w.string(5, s.name);
  if (s.kind) w.uint(6, s.kind);
  fixed64(w, 7, s.startNs);
  fixed64(w, 8, s.endNs);
  keyValues(w, 9, s.attributes);
  for (const e of s.events ?? []) {
    const ew = new ProtobufWriter();
    fixed64(ew, 1, e.timeNs);
    ew.string(2, e.name);
    keyValues(ew, 3, e.attributes);
    w.message(11, ew);
  }
  for (const l of s.links ?? []) {
    const lw = new ProtobufWriter().bytes(1, hex(l.traceId)).bytes(2, hex(l.spanId));
    keyValues(lw, 4, l.attributes);
    w.message(13, lw);
  }
  if (s.status) {
    const st = new ProtobufWriter();
    if (s.status.message) st.string(2, s.status.message);
    if (s.status.code) st.uint(3, s.status.code);
    w.message(15, st);
  }
  return w;
}

export function encodeTracesRequest(resources: ResourceInput<SpanInput>[]): Uint8Array {
  const top = new ProtobufWriter();
  for (const r of resources) {
    const rs = new ProtobufWriter().message(1, resource(r.attributes));
    for (const sc of r.scopes) {
      const ss = new ProtobufWriter().message(1, scope(sc.name, sc.version));
      for (const s of sc.items) ss.message(2, encodeSpan(s));
      rs.message(2, ss);
    }
    top.message(1, rs);
  }
  return top.finish();
}

export function encodeLogsRequest(resources: ResourceInput<LogInput>[]): Uint8Array {
  const top = new ProtobufWriter();
  for (const r of resources) {
    const rl = new ProtobufWriter().message(1, resource(r.attributes));
    for (const sc of r.scopes) {
      const sl = new ProtobufWriter().message(1, scope(sc.name, sc.version));
      for (const l of sc.items) {
        const w = new ProtobufWriter();
        fixed64(w, 1, l.timeNs);
        if (l.severityNumber) w.uint(2, l.severityNumber);
        if (l.severityText) w.string(3, l.severityText);
        w.message(5, new ProtobufWriter().string(1, l.body));
        keyValues(w, 6, l.attributes);
        if (l.traceId) w.bytes(9, hex(l.traceId));
        if (l.spanId) w.bytes(10, hex(l.spanId));
        if (l.observedNs !== undefined) fixed64(w, 11, l.observedNs);
        sl.message(2, w);
      }
      rl.message(2, sl);
    }
    top.message(1, rl);
  }
  return top.finish();
}
