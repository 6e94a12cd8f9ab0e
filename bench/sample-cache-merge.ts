// What write-through costs ingest: a stored batch merged into the cache (metrics/sample-cache.ts)
// while a dashboard keeps every series' newest window cached, against the same batches with
// nothing cached (the cost before any read). Batches are scrapes: one sample per series, 15 s apart.
// Prints ns per stored sample of storedBatch() alone, in CPU time of this process.
// Run: node --import tsx bench/sample-cache-merge.ts [--series 10000] [--scrapes 480]
import { parseArgs } from 'node:util';
import { StoredSampleCache } from '../server/src/metrics/sample-cache.ts';
import { encodeSeriesIdentity, type SampleBatch } from '../server/src/storage/clickhouse/metrics-store.ts';

const { values: args } = parseArgs({ options: { series: { type: 'string', default: '10000' }, scrapes: { type: 'string', default: '480' } } });
const seriesCount = Number(args.series), scrapes = Number(args.scrapes);
const W = 2 * 3600_000;
const start = Math.floor(Date.now() / W) * W; // a window's start: 480 scrapes 15 s apart fill it
const identities = Array.from({ length: seriesCount }, (_, i) => encodeSeriesIdentity('bench_metric', [['i', String(i)]]));

function scrape(k: number): SampleBatch {
  const valueBytes = new Uint8Array(seriesCount * 8);
  const view = new DataView(valueBytes.buffer);
  for (let i = 0; i < seriesCount; i++) view.setFloat64(i * 8, k + i, true);
  return {
    series: identities, length: seriesCount, seriesIndex: Uint32Array.from({ length: seriesCount }, (_, i) => i),
    timestampsMs: new Float64Array(seriesCount).fill(start + 1 + k * 15_000), valueBytes,
  };
}

function run(cached: boolean): number {
  const cache = new StoredSampleCache({ maxSamples: 20_000_000 });
  if (cached) {
    const w = cache.windowOf(start + 1);
    const t = cache.beginRead(w, w);
    for (const id of identities) cache.put(t, String(id.fingerprint), w, { timestamps: new Float64Array(0), values: new Float64Array(0), staleAt: [] });
    cache.endRead(t);
  }
  const batches = Array.from({ length: scrapes }, (_, k) => scrape(k));
  const t0 = process.cpuUsage();
  for (const b of batches) cache.storedBatch(b);
  const used = process.cpuUsage(t0);
  if (cached && cache.get(String(identities[0]!.fingerprint), cache.windowOf(start + 1))!.timestamps.length !== scrapes) throw new Error('not merged');
  return ((used.user + used.system) * 1000) / (seriesCount * scrapes);
}

console.log(`${seriesCount} series × ${scrapes} scrapes into one 2 h window; ns of CPU per stored sample`);
for (let round = 1; round <= 3; round++) {
  const off = run(false), on = run(true);
  console.log(`round ${round}: nothing cached ${off.toFixed(0)} ns, every series cached ${on.toFixed(0)} ns (+${(on - off).toFixed(0)} ns)`);
}
