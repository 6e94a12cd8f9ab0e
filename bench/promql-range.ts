// Range-query latency: Rootsight's PromQL engine vs Prometheus 2.42 on identical data, both on
// this machine (Prometheus as a child process, Rootsight in this process). Each run asks both,
// alternating, so load from other processes hits both alike. Prints per query shape the best and
// the median time of each and the ratios Rootsight / Prometheus of both (best is the steadier
// figure on a shared machine). Run: node --import tsx bench/promql-range.ts
// The data is pushed by this run, so the server's in-memory head answers; NO_HEAD=1 sends every read
// to chDB instead (as after a restart, for data written before it). Storage reads go through the
// decoded-sample cache (warm after the first run of a shape: 'ours 1st' is that first, cold run);
// NO_CACHE=1 sends each one to chDB; COLD=1 empties the cache before each of our queries. RESTART=1
// writes data of the last hour instead and restarts the server on it before the queries, whose
// head then holds what it replayed from storage at start (metrics/head-replay.ts; NO_REPLAY=1:
// without). LIVE=1 (implied by RESTART) writes data of the last hour too and, while the queries
// run, a sample per series a second, as scrapes do, into the window the queries end in. Like the
// server, it runs with malloc on huge pages (bin/malloc-huge-pages.ts; MALLOC_HUGE_PAGES=0: without).
import { rerunWithMallocHugePages } from '../bin/malloc-huge-pages.ts';
import { push, removeDir, series, startTestServer } from '../server/test/helpers.ts';
import { generate, spanMs, toOpenMetrics, type GenSeries } from '../test/differential/dataset.ts';
import { prometheusAvailable, startPrometheus } from '../test/differential/prometheus-process.ts';

const replicas = Number(process.env.REPLICAS ?? 6);
const runs = Number(process.env.RUNS ?? 15);
const restart = Boolean(process.env.RESTART);
const live = restart || Boolean(process.env.LIVE);
// Five hours back (older than any head) unless reads of recent data are measured.
const base = live ? Math.floor((Date.now() - spanMs - 60_000) / 15_000) * 15_000 : Math.floor((Date.now() - 5 * 3600_000) / 3600_000) * 3600_000;

const shapes: [string, string][] = [
  ['selector', 'container_net_tcp_active_connections'],
  ['rate', 'rate(container_net_tcp_successful_connects_total[5m])'],
  ['sum by rate', 'sum by (container_id, destination) (rate(container_net_tcp_successful_connects_total[5m]))'],
  ['ratio of sums', 'sum by (container_id) (rate(container_http_requests_total{status=~"5.."}[5m])) / sum by (container_id) (rate(container_http_requests_total[5m]))'],
  ['histogram_quantile', 'histogram_quantile(0.95, sum by (le, container_id) (rate(container_http_requests_duration_seconds_total_bucket[5m])))'],
  ['group_left join', 'sum by (machine_id, replica) (rate(container_resources_cpu_usage_seconds_total[5m])) / on(machine_id, replica) group_left node_resources_cpu_logical_cores'],
  ['topk', 'topk(3, sum by (container_id, destination) (rate(container_net_tcp_bytes_sent_total[5m])))'],
  ['avg_over_time', 'avg_over_time(container_net_tcp_active_connections[10m])'],
  ['subquery', 'max_over_time(sum(rate(container_net_tcp_bytes_sent_total[1m]))[10m:1m])'],
];

function withReplicas(data: GenSeries[]): GenSeries[] {
  const out: GenSeries[] = [];
  for (let r = 0; r < replicas; r++) for (const s of data) out.push({ ...s, labels: { ...s.labels, replica: String(r) } });
  return out;
}

/** COLD=1: the sample cache is emptied before each of our queries, so every read is a first (cold) one. */
let beforeOurs: () => void = () => undefined;

async function time(url: string, q: string, step: number): Promise<number> {
  if (url.endsWith('/prometheus')) beforeOurs();
  const params = new URLSearchParams({ query: q, start: String(base / 1000), end: String((base + spanMs) / 1000), step: String(step) });
  const t0 = performance.now();
  const r = await fetch(`${url}/api/v1/query_range`, { method: 'POST', body: params, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  const body = (await r.json()) as { status: string; error?: string };
  if (body.status !== 'success') throw new Error(`${q}: ${body.error}`);
  return performance.now() - t0;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

async function main(): Promise<void> {
  if (!prometheusAvailable()) { console.log('needs /usr/bin/prometheus and /usr/bin/promtool'); return; }
  const data = withReplicas(generate(base));
  const samples = data.reduce((a, s) => a + s.samples.length, 0);
  const serverOpts = { metricsHeadSamples: process.env.NO_HEAD ? 0 : undefined, metricsCacheSamples: process.env.NO_CACHE ? 0 : undefined, metricsHeadReplay: !process.env.NO_REPLAY };
  const [prom, first] = await Promise.all([startPrometheus(toOpenMetrics(data)), startTestServer(serverOpts)]);
  let srv = first;
  let scraping: NodeJS.Timeout | undefined;
  try {
    for (let i = 0; i < data.length; i += 50) {
      const res = await push(srv.url, data.slice(i, i + 50).map((s) => series(s.name, s.labels, s.samples)));
      if (res.status !== 204) throw new Error(`push: ${res.status} ${await res.text()}`);
    }
    if (restart) {
      await srv.close();
      const t0 = performance.now();
      srv = await startTestServer({ ...serverOpts, dataDir: srv.dataDir });
      console.log(`restarted in ${(performance.now() - t0).toFixed(0)} ms; ${srv.logs.find((l) => l.startsWith('metrics head:')) ?? 'no head replay'}`);
    }
    if (live) {
      const target = srv;
      scraping = setInterval(() => {
        const t = Date.now();
        void push(target.url, data.map((s) => series(s.name, s.labels, [[t, 1]]))).catch(() => undefined);
      }, 1000);
    }
    if (process.env.COLD) beforeOurs = () => srv.metricsCache?.clear();
    console.log(`${data.length} series, ${samples} samples; range 1h; ${runs} runs per query (after 2 warm-ups); times in ms; reads from ${process.env.NO_HEAD ? 'chDB only (NO_HEAD)' : `the in-memory head where it covers them${!restart ? '' : process.env.NO_REPLAY ? ' (restarted without a replay: RESTART, NO_REPLAY)' : ' (replayed at a restart: RESTART)'}`}${process.env.NO_CACHE ? ', no sample cache (NO_CACHE)' : process.env.COLD ? ', else the sample cache, emptied before each query (COLD)' : ', else the sample cache'}${live ? '; a sample per series a second written meanwhile (LIVE)' : ''}`);
    const ratios: { best: number; median: number }[] = [];
    for (const step of [15, 60]) {
      console.log(`\nstep ${step}s (${spanMs / 1000 / step + 1} points)`);
      console.log(`${'shape'.padEnd(20)} ${'prom best'.padStart(9)} ${'prom p50'.padStart(9)} ${'ours best'.padStart(9)} ${'ours p50'.padStart(9)} ${'ours 1st'.padStart(9)} ${'best ×'.padStart(7)} ${'p50 ×'.padStart(7)}`);
      for (const [name, q] of shapes) {
        const p: number[] = [], o: number[] = [];
        let first = 0;
        for (let i = 0; i < runs + 2; i++) {
          // Alternate who goes first, so neither always runs right after the other's burst.
          let a: number, b: number;
          if (i % 2 === 0) { a = await time(prom.url, q, step); b = await time(`${srv.url}/prometheus`, q, step); }
          else { b = await time(`${srv.url}/prometheus`, q, step); a = await time(prom.url, q, step); }
          if (i === 0) first = b;
          if (i >= 2) { p.push(a); o.push(b); }
        }
        const r = { best: pct(o, 0) / pct(p, 0), median: pct(o, 0.5) / pct(p, 0.5) };
        ratios.push(r);
        console.log(`${name.padEnd(20)} ${pct(p, 0).toFixed(1).padStart(9)} ${pct(p, 0.5).toFixed(1).padStart(9)} ${pct(o, 0).toFixed(1).padStart(9)} ${pct(o, 0.5).toFixed(1).padStart(9)} ${first.toFixed(1).padStart(9)} ${r.best.toFixed(2).padStart(6)}x ${r.median.toFixed(2).padStart(6)}x`);
      }
    }
    const geo = (xs: number[]): number => Math.exp(xs.reduce((a, r) => a + Math.log(r), 0) / xs.length);
    console.log(`\ngeometric mean ratio Rootsight/Prometheus: best ${geo(ratios.map((r) => r.best)).toFixed(2)}x, median ${geo(ratios.map((r) => r.median)).toFixed(2)}x`);
  } finally {
    clearInterval(scraping);
    await prom.stop();
    await srv.close();
    removeDir(srv.dataDir);
  }
}

const status = rerunWithMallocHugePages();
if (status !== undefined) process.exitCode = status;
else await main();
