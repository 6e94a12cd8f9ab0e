// Prometheus remote write v1: a snappy block of a protobuf WriteRequest.
// Field numbers follow prometheus/prompb types.proto and remote.proto.
import snappy from 'snappyjs';
import { ProtobufDecodeError, ProtobufReader, ProtobufWriter, WireType } from './protobuf.ts';
import { snappyDecompress, type SnappyOutput } from './snappy.ts';

export interface Label { name: string; value: string }
export interface Sample { value: number; timestampMs: number }
export interface TimeSeries { labels: Label[]; samples: Sample[] }

export const MetricType = {
  unknown: 0, counter: 1, gauge: 2, histogram: 3, gaugehistogram: 4, summary: 5, info: 6, stateset: 7,
} as const;
export type MetricTypeName = keyof typeof MetricType;

export interface MetricMetadata { type: MetricTypeName; family: string; help: string; unit: string }
export interface WriteRequest { timeseries: TimeSeries[]; metadata: MetricMetadata[] }

export class RemoteWriteDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemoteWriteDecodeError';
  }
}

const typeNames = Object.keys(MetricType) as MetricTypeName[];

export function encodeWriteRequest(req: WriteRequest): Uint8Array {
  const w = new ProtobufWriter();
  for (const ts of req.timeseries) {
    const tsw = new ProtobufWriter();
    for (const l of ts.labels) tsw.message(1, new ProtobufWriter().string(1, l.name).string(2, l.value));
    for (const s of ts.samples) tsw.message(2, new ProtobufWriter().double(1, s.value).int64(2, s.timestampMs));
    w.message(1, tsw);
  }
  for (const m of req.metadata) {
    const mw = new ProtobufWriter().uint(1, MetricType[m.type]).string(2, m.family);
    if (m.help) mw.string(4, m.help);
    if (m.unit) mw.string(5, m.unit);
    w.message(3, mw);
  }
  return w.finish();
}

export interface DecodeLimits {
  /** Most series one request may carry. */
  maxSeries: number;
  /** Most labels one series may carry. */
  maxLabelsPerSeries: number;
}

const defaultLimits: DecodeLimits = { maxSeries: 1_000_000, maxLabelsPerSeries: 256 };

export function decodeWriteRequest(buf: Uint8Array, limits: DecodeLimits = defaultLimits): WriteRequest {
  try {
    return decodeWriteRequestUnchecked(buf, limits);
  } catch (e) {
    if (e instanceof ProtobufDecodeError || e instanceof RemoteWriteDecodeError) throw new RemoteWriteDecodeError(`invalid WriteRequest protobuf: ${e.message}`);
    throw e;
  }
}

function decodeWriteRequestUnchecked(buf: Uint8Array, limits: DecodeLimits): WriteRequest {
  const r = new ProtobufReader(buf);
  const req: WriteRequest = { timeseries: [], metadata: [] };
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (field === 1) {
      r.expect(WireType.LengthDelimited, wt, 'timeseries');
      if (req.timeseries.length >= limits.maxSeries) throw new RemoteWriteDecodeError(`more than ${limits.maxSeries} series in one request`);
      req.timeseries.push(decodeTimeSeries(r.sub(), limits));
    } else if (field === 3) {
      r.expect(WireType.LengthDelimited, wt, 'metadata');
      req.metadata.push(decodeMetadata(r.sub()));
    } else {
      r.skip(wt);
    }
  }
  return req;
}

function decodeTimeSeries(r: ProtobufReader, limits: DecodeLimits): TimeSeries {
  const ts: TimeSeries = { labels: [], samples: [] };
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (field === 1) {
      r.expect(WireType.LengthDelimited, wt, 'label');
      if (ts.labels.length >= limits.maxLabelsPerSeries) throw new RemoteWriteDecodeError(`series has more than ${limits.maxLabelsPerSeries} labels`);
      ts.labels.push(decodeLabel(r.sub()));
    } else if (field === 2) {
      r.expect(WireType.LengthDelimited, wt, 'sample');
      ts.samples.push(decodeSample(r.sub()));
    } else {
      r.skip(wt);
    }
  }
  return ts;
}

function decodeLabel(r: ProtobufReader): Label {
  const l: Label = { name: '', value: '' };
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (field === 1) { r.expect(WireType.LengthDelimited, wt, 'label.name'); l.name = r.string(); }
    else if (field === 2) { r.expect(WireType.LengthDelimited, wt, 'label.value'); l.value = r.string(); }
    else r.skip(wt);
  }
  return l;
}

function decodeSample(r: ProtobufReader): Sample {
  const s: Sample = { value: 0, timestampMs: 0 };
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (field === 1) { r.expect(WireType.Fixed64, wt, 'sample.value'); s.value = r.double(); }
    else if (field === 2) { r.expect(WireType.Varint, wt, 'sample.timestamp'); s.timestampMs = r.int64(); }
    else r.skip(wt);
  }
  return s;
}

function decodeMetadata(r: ProtobufReader): MetricMetadata {
  const m: MetricMetadata = { type: 'unknown', family: '', help: '', unit: '' };
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (field === 1) { r.expect(WireType.Varint, wt, 'metadata.type'); m.type = typeNames[r.varint()] ?? 'unknown'; }
    else if (field === 2) { r.expect(WireType.LengthDelimited, wt, 'metadata.metric_family_name'); m.family = r.string(); }
    else if (field === 4) { r.expect(WireType.LengthDelimited, wt, 'metadata.help'); m.help = r.string(); }
    else if (field === 5) { r.expect(WireType.LengthDelimited, wt, 'metadata.unit'); m.unit = r.string(); }
    else r.skip(wt);
  }
  return m;
}

export function snappyCompress(data: Uint8Array): Uint8Array {
  return snappy.compress(data);
}

/**
 * Decompresses a snappy block, refusing outputs larger than maxBytes before allocating them. With
 * `output` the result is a view of its reused buffer, valid until the next call with it.
 */
export function snappyUncompress(data: Uint8Array, maxBytes: number, output?: SnappyOutput): Uint8Array {
  try {
    return snappyDecompress(data, maxBytes, output);
  } catch (e) {
    throw new RemoteWriteDecodeError(`invalid snappy block: ${(e as Error).message}`);
  }
}

/** Header set sent with every push, as Prometheus and Coroot's agent send it. */
export const remoteWriteHeaders = {
  'Content-Type': 'application/x-protobuf',
  'Content-Encoding': 'snappy',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
} as const;
