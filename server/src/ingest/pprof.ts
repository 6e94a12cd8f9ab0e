// pprof Profile (profile.proto) to profile sample and stack rows. One row per sample × sample
// type; the stack (leaf first, "function file:line" frames) is stored once per upload, keyed by a
// 64-bit FNV-1a hash of its frames.
import { ProtobufDecodeError, ProtobufWriter } from '@rootsight/common';
import type { ProfileSampleRow, ProfileStackRow } from '../storage/clickhouse/telemetry-store.ts';
import { IngestRequestError } from './body-encoding.ts';
import { WireReader } from './wire-reader.ts';

interface Line { functionId: number; line: bigint }
interface Location { address: bigint; lines: Line[] }
interface Func { name: number; filename: number }
interface Sample { locations: number[]; values: bigint[]; labels: [number, number][] }

export interface ParsedProfile {
  sampleTypes: { type: string; unit: string }[];
  timeNs: bigint;
  durationNs: bigint;
  /** Each sample: leaf-first frames, one value per sample type, string labels. */
  samples: { frames: string[]; values: bigint[]; labels: Record<string, string> }[];
}

export const maxProfileSamples = 1_000_000;

export function decodePprof(buf: Uint8Array): ParsedProfile {
  const strings: string[] = [];
  const sampleTypes: [number, number][] = [];
  const samples: Sample[] = [];
  const locations = new Map<number, Location>();
  const functions = new Map<number, Func>();
  let timeNs = 0n;
  let durationNs = 0n;
  try {
    const r = new WireReader(buf);
    while (!r.done()) {
      const [f, w] = r.tag();
      switch (f) {
        case 1: { r.expect(2, w, 'Profile.sample_type'); sampleTypes.push(readValueType(r.sub())); break; }
        case 2: {
          r.expect(2, w, 'Profile.sample');
          if (samples.length >= maxProfileSamples) throw new IngestRequestError(413, `profile has more than ${maxProfileSamples} samples`);
          samples.push(readSample(r.sub()));
          break;
        }
        case 4: { r.expect(2, w, 'Profile.location'); const [id, loc] = readLocation(r.sub()); locations.set(id, loc); break; }
        case 5: { r.expect(2, w, 'Profile.function'); const [id, fn] = readFunction(r.sub()); functions.set(id, fn); break; }
        case 6: r.expect(2, w, 'Profile.string_table'); strings.push(r.string()); break;
        case 9: r.expect(0, w, 'Profile.time_nanos'); timeNs = r.varintBig(true); break;
        case 10: r.expect(0, w, 'Profile.duration_nanos'); durationNs = r.varintBig(true); break;
        default: r.skip(w);
      }
    }
  } catch (e) {
    if (e instanceof ProtobufDecodeError) throw new IngestRequestError(400, `malformed pprof profile: ${e.message}`);
    throw e;
  }
  const str = (i: number, what: string): string => {
    const s = strings[i];
    if (s === undefined) throw new IngestRequestError(400, `malformed pprof profile: ${what} refers to string ${i}, but the string table has ${strings.length} entries`);
    return s;
  };
  if (strings.length > 0 && strings[0] !== '') throw new IngestRequestError(400, 'malformed pprof profile: string_table[0] must be ""');
  if (sampleTypes.length === 0) throw new IngestRequestError(400, 'pprof profile has no sample_type');
  if (timeNs < 0n || durationNs < 0n) throw new IngestRequestError(400, `pprof profile has a negative time_nanos or duration_nanos (${timeNs}, ${durationNs})`);
  const types = sampleTypes.map(([t, u], i) => ({ type: str(t, `sample_type[${i}].type`), unit: str(u, `sample_type[${i}].unit`) }));
  const frameCache = new Map<number, string[]>();
  const framesOf = (locId: number): string[] => {
    let fr = frameCache.get(locId);
    if (fr) return fr;
    const loc = locations.get(locId);
    if (!loc) throw new IngestRequestError(400, `malformed pprof profile: a sample refers to location ${locId}, which is not defined`);
    fr = loc.lines.length === 0
      ? [`0x${loc.address.toString(16)}`]
      : loc.lines.map((l) => {
        const fn = functions.get(l.functionId);
        if (!fn) throw new IngestRequestError(400, `malformed pprof profile: location ${locId} refers to function ${l.functionId}, which is not defined`);
        const file = str(fn.filename, `function ${l.functionId}.filename`);
        return `${str(fn.name, `function ${l.functionId}.name`)} ${file}:${l.line}`;
      });
    frameCache.set(locId, fr);
    return fr;
  };
  return {
    sampleTypes: types,
    timeNs,
    durationNs,
    samples: samples.map((s, i) => {
      if (s.values.length !== types.length) throw new IngestRequestError(400, `malformed pprof profile: sample ${i} has ${s.values.length} values for ${types.length} sample types`);
      const labels: Record<string, string> = {};
      for (const [k, v] of s.labels) if (v !== 0) labels[str(k, `sample ${i} label key`)] = str(v, `sample ${i} label value`);
      return { frames: s.locations.flatMap(framesOf), values: s.values, labels };
    }),
  };
}

function readValueType(r: WireReader): [number, number] {
  let type = 0;
  let unit = 0;
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1 && w === 0) type = r.varint(); else if (f === 2 && w === 0) unit = r.varint(); else r.skip(w);
  }
  return [type, unit];
}

function readSample(r: WireReader): Sample {
  const s: Sample = { locations: [], values: [], labels: [] };
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1) r.repeatedVarint(w, s.locations);
    else if (f === 2) r.repeatedVarintBig(w, true, s.values);
    else if (f === 3) {
      r.expect(2, w, 'Sample.label');
      const l = r.sub();
      let key = 0;
      let str = 0;
      while (!l.done()) {
        const [lf, lw] = l.tag();
        if (lf === 1 && lw === 0) key = l.varint(); else if (lf === 2 && lw === 0) str = l.varint(); else l.skip(lw);
      }
      s.labels.push([key, str]);
    } else r.skip(w);
  }
  return s;
}

function readLocation(r: WireReader): [number, Location] {
  let id = 0;
  const loc: Location = { address: 0n, lines: [] };
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1 && w === 0) id = r.varint();
    else if (f === 3 && w === 0) loc.address = r.varintBig(false);
    else if (f === 4 && w === 2) {
      const l = r.sub();
      const line: Line = { functionId: 0, line: 0n };
      while (!l.done()) {
        const [lf, lw] = l.tag();
        if (lf === 1 && lw === 0) line.functionId = l.varint(); else if (lf === 2 && lw === 0) line.line = l.varintBig(true); else l.skip(lw);
      }
      loc.lines.push(line);
    } else r.skip(w);
  }
  return [id, loc];
}

function readFunction(r: WireReader): [number, Func] {
  let id = 0;
  const fn: Func = { name: 0, filename: 0 };
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1 && w === 0) id = r.varint(); else if (f === 2 && w === 0) fn.name = r.varint(); else if (f === 4 && w === 0) fn.filename = r.varint(); else r.skip(w);
  }
  return [id, fn];
}

const fnvOffset = 0xcbf29ce484222325n;
const fnvPrime = 0x100000001b3n;
const encoder = new TextEncoder();

/** FNV-1a 64 over the frames, each followed by a newline. */
export function stackHash(frames: readonly string[]): bigint {
  let h = fnvOffset;
  for (const f of frames) {
    for (const b of encoder.encode(`${f}\n`)) h = BigInt.asUintN(64, (h ^ BigInt(b)) * fnvPrime);
  }
  return h;
}

export function profileRows(p: ParsedProfile, serviceName: string, labels: Record<string, string>, nowNs: bigint): { samples: ProfileSampleRow[]; stacks: ProfileStackRow[] } {
  const start = p.timeNs > 0n ? p.timeNs : nowNs;
  const end = start + p.durationNs;
  const stacks = new Map<string, ProfileStackRow>();
  const samples: ProfileSampleRow[] = [];
  for (const s of p.samples) {
    const key = s.frames.join('\n');
    let st = stacks.get(key);
    if (!st) {
      st = { serviceName, hash: stackHash(s.frames), lastSeenNs: start, stack: s.frames };
      stacks.set(key, st);
    }
    const rowLabels = { ...labels, ...s.labels };
    p.sampleTypes.forEach((t, i) => {
      const value = s.values[i]!;
      if (value === 0n) return;
      samples.push({ serviceName, type: `${t.type}:${t.unit}`, startNs: start, endNs: end, labels: rowLabels, stackHash: st.hash, value });
    });
  }
  return { samples, stacks: [...stacks.values()] };
}

/** Builds a pprof Profile; for tests, benches and agents that produce profiles. */
export function encodePprof(p: {
  sampleTypes: { type: string; unit: string }[];
  samples: { stack: { fn: string; file: string; line: number }[]; values: number[]; labels?: Record<string, string> }[];
  timeNs: number;
  durationNs: number;
}): Uint8Array {
  const strings = [''];
  const index = new Map<string, number>([['', 0]]);
  const s = (x: string) => {
    let i = index.get(x);
    if (i === undefined) { i = strings.length; strings.push(x); index.set(x, i); }
    return i;
  };
  const w = new ProtobufWriter();
  for (const t of p.sampleTypes) w.message(1, new ProtobufWriter().uint(1, s(t.type)).uint(2, s(t.unit)));
  const fnIds = new Map<string, number>();
  const locIds = new Map<string, number>();
  const functions: ProtobufWriter[] = [];
  const locs: ProtobufWriter[] = [];
  for (const sample of p.samples) {
    const ids = sample.stack.map((fr) => {
      const lk = `${fr.fn}\0${fr.file}\0${fr.line}`;
      let lid = locIds.get(lk);
      if (lid === undefined) {
        const fk = `${fr.fn}\0${fr.file}`;
        let fid = fnIds.get(fk);
        if (fid === undefined) {
          fid = fnIds.size + 1;
          fnIds.set(fk, fid);
          functions.push(new ProtobufWriter().uint(1, fid).uint(2, s(fr.fn)).uint(4, s(fr.file)));
        }
        lid = locIds.size + 1;
        locIds.set(lk, lid);
        locs.push(new ProtobufWriter().uint(1, lid).message(4, new ProtobufWriter().uint(1, fid).int64(2, fr.line)));
      }
      return lid;
    });
    const sw = new ProtobufWriter();
    const packedLocs = new ProtobufWriter();
    for (const id of ids) packedLocs.varint(id);
    sw.bytes(1, packedLocs.finish());
    const packedValues = new ProtobufWriter();
    for (const v of sample.values) packedValues.varint(v);
    sw.bytes(2, packedValues.finish());
    for (const [k, v] of Object.entries(sample.labels ?? {})) sw.message(3, new ProtobufWriter().uint(1, s(k)).uint(2, s(v)));
    w.message(2, sw);
  }
  for (const l of locs) w.message(4, l);
  for (const f of functions) w.message(5, f);
  w.int64(9, p.timeNs).int64(10, p.durationNs);
  // The string table goes last: every index above is known by now.
  for (const x of strings) w.string(6, x);
  return w.finish();
}
