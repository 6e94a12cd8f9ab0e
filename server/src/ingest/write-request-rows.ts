// A remote-write WriteRequest (protobuf bytes) straight to storable sample columns, rejecting what
// Prometheus would reject. Validation happens here, once, so storage can trust what it gets.
//
// Built for throughput: no object per sample, values copied as raw bytes (which also keeps the
// stale-marker NaN bit-exact; a JS number would not), and series identities validated, sorted and
// encoded once per distinct label set, then remembered by the label bytes as received: senders
// repeat the same series request after request.
import { ProtobufReader, RemoteWriteDecodeError, ProtobufDecodeError, type MetricMetadata, type MetricTypeName } from '@rootsight/common';
import { encodeSeriesIdentity, type SampleBatch, type SeriesIdentity } from '../storage/clickhouse/metrics-store.ts';
import { SampleColumns, type SampleColumnsPool } from './sample-columns.ts';

export class InvalidSamplesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidSamplesError';
  }
}

/** Oldest sample accepted (2000-01-01). Earlier values are almost surely seconds sent as ms, or garbage. */
export const minTimestampMs = Date.UTC(2000, 0, 1);
/** How far ahead of our clock a sample may be; more means a broken clock or unit. */
export const maxFutureMs = 60 * 60_000;

export interface WriteRequestLimits {
  maxSeries: number;
  maxLabelsPerSeries: number;
}

export const defaultWriteRequestLimits: WriteRequestLimits = { maxSeries: 1_000_000, maxLabelsPerSeries: 256 };

export interface DecodedWriteRequest {
  samples: SampleBatch;
  metadata: MetricMetadata[];
}

const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const metricTypes: readonly MetricTypeName[] = ['unknown', 'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset'];
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Encoded series identities by the label bytes they were received as, found through a hash of
 * those bytes (hashing a request's bytes is cheaper than building a string key for each series).
 * Bounded: when full it starts over, which costs one re-validation per series, never correctness.
 */
export class SeriesIdentityCache {
  private readonly map = new Map<number, { labelBytes: Uint8Array; id: SeriesIdentity }[]>();
  private entries = 0;
  constructor(readonly maxEntries = 100_000) {}

  /** The identity cached for the concatenated byte ranges [start, end) of `buf`, if any. */
  get(buf: Uint8Array, ranges: readonly number[]): SeriesIdentity | undefined {
    const bucket = this.map.get(hashRanges(buf, ranges));
    if (bucket === undefined) return undefined;
    for (const e of bucket) if (sameBytes(e.labelBytes, buf, ranges)) return e.id;
    return undefined;
  }

  set(buf: Uint8Array, ranges: readonly number[], id: SeriesIdentity): void {
    if (this.entries >= this.maxEntries) { this.map.clear(); this.entries = 0; }
    let n = 0;
    for (let i = 0; i < ranges.length; i += 2) n += ranges[i + 1]! - ranges[i]!;
    const labelBytes = new Uint8Array(n);
    for (let i = 0, p = 0; i < ranges.length; i += 2) { labelBytes.set(buf.subarray(ranges[i]!, ranges[i + 1]!), p); p += ranges[i + 1]! - ranges[i]!; }
    const h = hashRanges(buf, ranges);
    const bucket = this.map.get(h);
    if (bucket) bucket.push({ labelBytes, id }); else this.map.set(h, [{ labelBytes, id }]);
    this.entries++;
  }

  get size(): number {
    return this.entries;
  }
}

/** FNV-1a over the concatenated ranges. */
function hashRanges(buf: Uint8Array, ranges: readonly number[]): number {
  let h = 0x811c9dc5;
  for (let r = 0; r < ranges.length; r += 2) {
    for (let i = ranges[r]!, e = ranges[r + 1]!; i < e; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  }
  return h >>> 0;
}

function sameBytes(a: Uint8Array, buf: Uint8Array, ranges: readonly number[]): boolean {
  let p = 0;
  for (let r = 0; r < ranges.length; r += 2) {
    const s = ranges[r]!, e = ranges[r + 1]!;
    if (p + e - s > a.length) return false;
    for (let i = s; i < e; i++) if (a[p++] !== buf[i]) return false;
  }
  return p === a.length;
}

/**
 * Decodes and validates a decompressed WriteRequest. Throws RemoteWriteDecodeError or
 * InvalidSamplesError (both: 400). With `columns`, the samples' columns come from that pool and the
 * batch's release() hands them back.
 */
export function decodeWriteRequestSamples(bytes: Uint8Array, nowMs: number, cache = new SeriesIdentityCache(), limits = defaultWriteRequestLimits, columns?: SampleColumnsPool): DecodedWriteRequest {
  return decodeChecked(bytes, nowMs, cache, limits, columns);
}

function decodeChecked(bytes: Uint8Array, nowMs: number, cache: SeriesIdentityCache, limits: WriteRequestLimits, columns: SampleColumnsPool | undefined): DecodedWriteRequest {
  // Smallest sample on the wire is ~13 bytes; start at a size that rarely needs to grow.
  const capacity = Math.max(16, Math.ceil(bytes.length / 16));
  const cols = columns ? columns.take(capacity) : new SampleColumns(capacity);
  try {
    const decoded = decodeUnchecked(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), nowMs, cache, limits, cols);
    if (columns) {
      let released = false;
      decoded.samples.release = () => { if (!released) { released = true; columns.give(cols); } };
    }
    return decoded;
  } catch (e) {
    columns?.give(cols);
    if (e instanceof ProtobufDecodeError || e instanceof RemoteWriteDecodeError) throw new RemoteWriteDecodeError(`invalid WriteRequest protobuf: ${e.message}`);
    throw e;
  }
}

function decodeUnchecked(buf: Buffer, nowMs: number, cache: SeriesIdentityCache, limits: WriteRequestLimits, cols: SampleColumns): DecodedWriteRequest {
  const r = new ProtobufReader(buf);
  const series: SeriesIdentity[] = [];
  const metadata: MetricMetadata[] = [];
  const maxTs = nowMs + maxFutureMs;
  const labelRanges: number[] = [];
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (field === 1) {
      r.expect(2, wt, 'timeseries');
      if (series.length >= limits.maxSeries) throw new RemoteWriteDecodeError(`more than ${limits.maxSeries} series in one request`);
      const [start, end] = r.range();
      decodeTimeSeries(buf, start, end, series, cols, cache, limits, labelRanges, maxTs);
    } else if (field === 3) {
      r.expect(2, wt, 'metadata');
      metadata.push(decodeMetadata(r.sub()));
    } else {
      r.skip(wt);
    }
  }
  return {
    samples: { series, length: cols.length, seriesIndex: cols.seriesIndex, timestampsMs: cols.timestampsMs, valueBytes: cols.valueBytes },
    metadata,
  };
}

function decodeTimeSeries(
  buf: Buffer, start: number, end: number, series: SeriesIdentity[], cols: SampleColumns, cache: SeriesIdentityCache,
  limits: WriteRequestLimits, labelRanges: number[], maxTs: number,
): void {
  const index = series.length;
  const firstSample = cols.length;
  labelRanges.length = 0;
  let p = start;
  while (p < end) {
    const tagStart = p;
    // One-byte varints (every tag and most lengths here) read inline: a call per field was most
    // of the cost of a series with few samples.
    let key = buf[p]!;
    if (key < 0x80) p++; else { key = varint(buf, p, end); p = at; }
    const field = Math.floor(key / 8);
    const wt = key & 7;
    if (field === 0) throw new ProtobufDecodeError(`field number 0 at byte ${tagStart}`);
    if (field === 1 || field === 2) {
      if (wt !== 2) throw new ProtobufDecodeError(`field ${field === 1 ? 'label' : 'sample'}: wire type ${wt}, expected 2 at byte ${p}`);
      let len = p < end ? buf[p]! : 0x80;
      if (len < 0x80) p++; else { len = varint(buf, p, end); p = at; }
      const s = p;
      const e = p + len;
      if (e > end) throw new ProtobufDecodeError(`truncated message: need ${len} bytes at ${p}, have ${end - p}`);
      p = e;
      if (field === 1) {
        if (labelRanges.length / 2 >= limits.maxLabelsPerSeries) throw new RemoteWriteDecodeError(`series has more than ${limits.maxLabelsPerSeries} labels`);
        labelRanges.push(tagStart, e);
      } else {
        decodeSample(buf, s, e, cols, index);
      }
    } else {
      p = skip(buf, p, end, wt);
    }
  }

  // The label bytes as received are the cache key.
  let id = cache.get(buf, labelRanges);
  if (id === undefined) {
    const { metricName, labels } = seriesLabels(buf, labelRanges, index);
    id = encodeSeriesIdentity(metricName, labels);
    cache.set(buf, labelRanges, id);
  }
  series.push(id);

  for (let i = firstSample; i < cols.length; i++) {
    const t = cols.timestampsMs[i]!;
    if (!(t >= minTimestampMs && t <= maxTs) || !Number.isSafeInteger(t)) {
      const { metricName, labels } = seriesLabels(buf, labelRanges, index);
      throw new InvalidSamplesError(`series ${describe(metricName, labels)}: sample timestamp ${t} ms is out of range; expected milliseconds since the epoch between ${new Date(minTimestampMs).toISOString()} and one hour from now`);
    }
  }
}

function decodeSample(buf: Buffer, p: number, end: number, cols: SampleColumns, seriesIndex: number): void {
  if (cols.length === cols.seriesIndex.length) cols.grow();
  const i = cols.length++;
  const vb = cols.valueBytes;
  const v = i * 8;
  cols.seriesIndex[i] = seriesIndex;
  // The layout every sender uses: the value (0x09 + 8 bytes), then the timestamp (0x10 + varint
  // of at most 7 bytes, below 2^49 ms) ending the message. Anything else takes the general loop.
  if (end - p >= 11 && buf[p] === 0x09 && buf[p + 9] === 0x10) {
    let q = p + 10, t = 0, scale = 1;
    for (let k = 0; k < 7 && q < end; k++, scale *= 128) {
      const b = buf[q++]!;
      t += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (q !== end) break;
        for (let j = 0; j < 8; j++) vb[v + j] = buf[p + 1 + j]!;
        cols.timestampsMs[i] = t;
        return;
      }
    }
  }
  // Protobuf defaults: absent value 0.0, absent timestamp 0 (rejected later as out of range).
  for (let j = 0; j < 8; j++) vb[v + j] = 0;
  let ts = 0;
  while (p < end) {
    const key = varint(buf, p, end);
    p = at;
    if (key === 0x09) { // value: field 1, fixed64
      if (p + 8 > end) throw new ProtobufDecodeError(`truncated message: need 8 bytes at ${p}, have ${end - p}`);
      for (let j = 0; j < 8; j++) vb[v + j] = buf[p + j]!;
      p += 8;
    } else if (key === 0x10) { // timestamp: field 2, int64 varint
      ts = int64(buf, p, end);
      p = at;
    } else {
      const field = Math.floor(key / 8);
      if (field === 0) throw new ProtobufDecodeError(`field number 0 at byte ${p}`);
      if (field === 1 || field === 2) throw new ProtobufDecodeError(`field sample.${field === 1 ? 'value' : 'timestamp'}: wire type ${key & 7}, expected ${field === 1 ? 1 : 0} at byte ${p}`);
      p = skip(buf, p, end, key & 7);
    }
  }
  cols.timestampsMs[i] = ts;
}

/** Where the last varint()/int64() call stopped (saves allocating a [value, position] pair per call). */
let at = 0;

/** Unsigned varint below 2^53 starting at p; the next position is left in `at`. */
function varint(buf: Buffer, p: number, end: number): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (p >= end) throw new ProtobufDecodeError('truncated varint');
    const b = buf[p++]!;
    result += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) { at = p; return result; }
    scale *= 128;
  }
  throw new ProtobufDecodeError('varint longer than 10 bytes');
}

/** int64 varint (two's complement), exact within ±2^53, which covers every valid timestamp. */
function int64(buf: Buffer, p: number, end: number): number {
  const start = p;
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (p >= end) throw new ProtobufDecodeError('truncated varint');
    const b = buf[p++]!;
    result += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) { at = p; return result; }
    scale *= 128;
  }
  // 9–10 bytes: negative or huge. Rare and invalid as a timestamp; exact arithmetic for the message.
  let big = 0n;
  let shift = 0n;
  for (p = start; ; shift += 7n) {
    if (p >= end) throw new ProtobufDecodeError('truncated varint');
    if (p - start >= 10) throw new ProtobufDecodeError('varint longer than 10 bytes');
    const b = buf[p++]!;
    big |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
  }
  at = p;
  return Number(BigInt.asIntN(64, big));
}

function skip(buf: Buffer, p: number, end: number, wt: number): number {
  switch (wt) {
    case 0: varint(buf, p, end); return at;
    case 1: if (p + 8 > end) throw new ProtobufDecodeError(`truncated message: need 8 bytes at ${p}, have ${end - p}`); return p + 8;
    case 2: {
      const len = varint(buf, p, end);
      const q = at;
      if (q + len > end) throw new ProtobufDecodeError(`truncated message: need ${len} bytes at ${q}, have ${end - q}`);
      return q + len;
    }
    case 5: if (p + 4 > end) throw new ProtobufDecodeError(`truncated message: need 4 bytes at ${p}, have ${end - p}`); return p + 4;
    default: throw new ProtobufDecodeError(`unsupported wire type ${wt} at byte ${p}`);
  }
}

/** Decodes and validates one series' labels: sorted, without __name__ and empty values. */
function seriesLabels(buf: Buffer, labelRanges: readonly number[], index: number): { metricName: string; labels: [string, string][] } {
  let metricName = '';
  const pairs: [string, string][] = [];
  const seen = new Set<string>();
  for (let i = 0; i < labelRanges.length; i += 2) {
    const outer = new ProtobufReader(buf, labelRanges[i]!, labelRanges[i + 1]!);
    outer.tag();
    const r = outer.sub();
    let name = '';
    let value = '';
    while (!r.done()) {
      const [f, w] = r.tag();
      if (f === 1) { r.expect(2, w, 'label.name'); name = str(buf, r.range()); }
      else if (f === 2) { r.expect(2, w, 'label.value'); value = str(buf, r.range()); }
      else r.skip(w);
    }
    if (seen.has(name)) throw new InvalidSamplesError(`series #${index}: label "${name}" appears twice`);
    seen.add(name);
    if (name === '__name__') { metricName = value; continue; }
    if (!labelNamePattern.test(name)) throw new InvalidSamplesError(`series #${index}: invalid label name "${name}"; label names must match [a-zA-Z_][a-zA-Z0-9_]*`);
    // An empty value means "no such label" in Prometheus' data model.
    if (value !== '') pairs.push([name, value]);
  }
  if (metricName === '') throw new InvalidSamplesError(`series #${index}: missing metric name (label __name__)`);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { metricName, labels: pairs };
}

function str(buf: Buffer, [s, e]: [number, number]): string {
  try {
    return utf8.decode(buf.subarray(s, e));
  } catch {
    throw new ProtobufDecodeError(`invalid UTF-8 in string field at byte ${s}`);
  }
}

function decodeMetadata(r: ProtobufReader): MetricMetadata {
  const m: MetricMetadata = { type: 'unknown', family: '', help: '', unit: '' };
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (field === 1) { r.expect(0, wt, 'metadata.type'); m.type = metricTypes[r.varint()] ?? 'unknown'; }
    else if (field === 2) { r.expect(2, wt, 'metadata.metric_family_name'); m.family = r.string(); }
    else if (field === 4) { r.expect(2, wt, 'metadata.help'); m.help = r.string(); }
    else if (field === 5) { r.expect(2, wt, 'metadata.unit'); m.unit = r.string(); }
    else r.skip(wt);
  }
  return m;
}

function describe(name: string, labels: readonly [string, string][]): string {
  return `${name}{${labels.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
}
