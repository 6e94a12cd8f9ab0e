// Ingest throughput and storage footprint: OTLP spans/s and log lines/s into Rootsight, and
// Prometheus remote write samples/s into Rootsight vs a real Prometheus (same generated stream,
// same run; once from one sender, once split over 4 shards the way Prometheus' own remote-write
// queue splits series), plus bytes on disk per span / log line / sample. Prints figures and ratios.
// The machine is shared: repeat the run and compare ratios, not absolute rates across runs.
// Before each remote-write phase both servers are left to settle (no CPU used for a while): our
// journaled inserts and chDB merges from the previous phase must not run while Prometheus is timed,
// nor Prometheus' leftover work while we are. All bodies (OTLP spans and logs: 8 concurrent
// senders; remote write: to both servers) are sent by a child process: sent from this process, the
// sending would share the Rootsight server's event loop, and the figure would measure the sender
// too. CPU and page faults per million samples are reported for both servers (on this VM a page
// fault costs microseconds), and ours by thread.
//   node --import tsx bench/ingest-throughput.ts [--spans 400000] [--logs 400000] [--samples 1000000] [--rounds 1]
// With --rounds N the remote-write phases run N times (new metric names each round) and the ratios
// of every round are printed with their median.
// NO_HEAD=1 runs our server without the in-memory PromQL head, to see what keeping it costs.
// Our server runs in this process, so the bench starts itself again with glibc's malloc on huge
// pages, as bin/rootsight.js starts the server (bin/malloc-huge-pages.ts); MALLOC_HUGE_PAGES=0
// runs it without them.
// BENCH_PHASE_MARKS=1 prints each phase's start and end on the monotonic clock a --cpu-prof profile
// uses (µs), so a profile can be cut to one phase.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeWriteRequest, snappyCompress, type TimeSeries } from '@rootsight/common';
import { encodeLogsRequest, encodeTracesRequest, type LogInput, type SpanInput } from '../server/src/ingest/otlp-encode.ts';
import { startServer } from '../server/src/main.ts';
import { rerunWithMallocHugePages } from '../bin/malloc-huge-pages.ts';
import { positiveInt } from './bench-options.ts';
import { median } from './median.ts';
import { clockTicks, processPageFaults, processTicks, ticksByThread, type ThreadTicks } from './thread-cpu.ts';

const totalSpans = positiveInt('spans', 400_000);
const totalLogs = positiveInt('logs', 400_000);
const totalSamples = positiveInt('samples', 1_000_000);
/** Remote-write rounds (1 sender and 4 shards, each server in turn); ratios vary from run to run on a shared host. */
const rounds = positiveInt('rounds', 1);
const perBody = 5000;
const concurrency = 8;

let seed = 42;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
const services = ['checkout', 'cart', 'payments', 'catalog', 'auth', 'search'];
const routes = ['GET /api/cart', 'POST /api/checkout', 'GET /api/items/:id', 'GET /health', 'PUT /api/user'];
const now = BigInt(Date.now()) * 1_000_000n;

function spanBodies(): Uint8Array[] {
  const bodies: Uint8Array[] = [];
  let id = 1;
  for (let done = 0; done < totalSpans; done += perBody) {
    const items: SpanInput[] = [];
    for (let i = 0; i < perBody; i++, id++) {
      const start = now - BigInt(Math.floor(rnd() * 3600e9));
      items.push({
        traceId: (Math.floor(id / 4) + 1).toString(16).padStart(32, '0'), spanId: id.toString(16).padStart(16, '0'),
        parentSpanId: id % 4 ? (id - 1).toString(16).padStart(16, '0') : undefined, name: pick(routes), kind: 2 + (id % 2),
        startNs: start, endNs: start + BigInt(Math.floor(rnd() * 5e8)),
        attributes: { 'http.method': 'GET', 'http.status_code': pick([200, 200, 200, 404, 500]), 'net.peer.name': `10.0.${id % 200}.${id % 250}`, 'http.route': pick(routes), 'user.id': Math.floor(rnd() * 1e6) },
        status: { code: rnd() < 0.05 ? 2 : 0 },
      });
    }
    bodies.push(encodeTracesRequest([{ attributes: { 'service.name': pick(services), 'host.name': `node-${id % 7}`, 'container.id': `/k8s/default/${pick(services)}-abc/app` }, scopes: [{ name: 'bench', version: '1', items }] }]));
  }
  return bodies;
}

function logBodies(): Uint8Array[] {
  const bodies: Uint8Array[] = [];
  for (let done = 0; done < totalLogs; done += perBody) {
    const items: LogInput[] = [];
    for (let i = 0; i < perBody; i++) {
      items.push({
        timeNs: now - BigInt(Math.floor(rnd() * 3600e9)), severityNumber: pick([9, 9, 9, 13, 17]), severityText: pick(['INFO', 'INFO', 'WARN', 'ERROR']),
        body: `${pick(routes)} completed in ${Math.floor(rnd() * 900)}ms for user ${Math.floor(rnd() * 1e5)} request_id=${Math.floor(rnd() * 1e12).toString(16)}`,
        attributes: { 'log.file.path': '/var/log/app.log', 'thread': `worker-${Math.floor(rnd() * 16)}` },
      });
    }
    bodies.push(encodeLogsRequest([{ attributes: { 'service.name': pick(services), 'host.name': 'node-1' }, scopes: [{ name: 'bench', items }] }]));
  }
  return bodies;
}

/**
 * A time-ordered stream of 2000 series, split the way Prometheus' remote-write queue shards it:
 * each series always goes to the same shard, each shard sends its bodies one after another (so every
 * series arrives in time order), and the shards send concurrently. A body holds 10,000 samples.
 */
function remoteWriteShards(shards: number, namePrefix: string, sampleCount = totalSamples): { shards: Uint8Array[][]; samples: number } {
  const seriesCount = 2000;
  const steps = Math.ceil(sampleCount / seriesCount);
  const t0 = Date.now() - steps * 1000 - 60_000;
  const out: Uint8Array[][] = [];
  let samples = 0;
  for (let shard = 0; shard < shards; shard++) {
    const mine: number[] = [];
    for (let k = shard; k < seriesCount; k += shards) mine.push(k);
    const stepsPerBody = Math.max(1, Math.round(10_000 / mine.length));
    const bodies: Uint8Array[] = [];
    for (let s = 0; s < steps; s += stepsPerBody) {
      const ts: TimeSeries[] = [];
      for (const k of mine) {
        const labels = [{ name: '__name__', value: `${namePrefix}container_metric_${k % 20}` }, { name: 'container_id', value: `/k8s/ns/pod-${Math.floor(k / 20)}/app` }, { name: 'instance', value: `node-${k % 10}:9100` }, { name: 'job', value: 'node-agent' }];
        const points = [];
        for (let j = s; j < Math.min(s + stepsPerBody, steps); j++) points.push({ timestampMs: t0 + j * 1000, value: Math.round(1000 + k + j * (k % 7)) });
        samples += points.length;
        ts.push({ labels, samples: points });
      }
      bodies.push(snappyCompress(encodeWriteRequest({ timeseries: ts, metadata: [] })));
    }
    out.push(bodies);
  }
  return { shards: out, samples };
}

const rwHeaders = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };

/** Writes each shard's bodies to a file the sending process reads: [shard u32][length u32][body]…. */
function writeShardsFile(path: string, shards: Uint8Array[][]): void {
  const parts: Buffer[] = [];
  shards.forEach((bodies, shard) => {
    for (const b of bodies) {
      const head = Buffer.alloc(8);
      head.writeUInt32LE(shard, 0);
      head.writeUInt32LE(b.length, 4);
      parts.push(head, Buffer.from(b));
    }
  });
  writeFileSync(path, Buffer.concat(parts));
}

function readShardsFile(path: string): Uint8Array[][] {
  const buf = readFileSync(path);
  const shards: Uint8Array[][] = [];
  for (let p = 0; p < buf.length;) {
    const shard = buf.readUInt32LE(p), len = buf.readUInt32LE(p + 4);
    (shards[shard] ??= []).push(buf.subarray(p + 8, p + 8 + len));
    p += 8 + len;
  }
  return shards;
}

/**
 * Sends a shards file from a child process, the same way to both servers; seconds taken (the
 * child's start is not counted). Sent from this process, the sending would run on the event loop
 * of the Rootsight server it times, and not on Prometheus'.
 */
async function sendShardsFromChild(url: string, file: string): Promise<number> {
  return runSenderChild(url, ['--send-shards', file, url]);
}

/**
 * Sends OTLP bodies from a child process, `parallel` requests at a time; seconds taken (the child's
 * start and its reading of the file are not counted).
 */
async function sendBodiesFromChild(url: string, file: string, parallel: number): Promise<number> {
  return runSenderChild(url, ['--send-bodies', file, url, String(parallel)]);
}

/** Runs this script as a sender child with `args`; the seconds its last output line reports. */
async function runSenderChild(url: string, args: string[]): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`sender for ${url} exited with ${code}`);
  return (JSON.parse(out.trim().split('\n').at(-1)!) as { seconds: number }).seconds;
}

/** The child's side of sendBodiesFromChild (the bodies are shard 0 of a shards file). */
async function bodiesSenderMain(file: string, url: string, parallel: number): Promise<void> {
  const bodies = readShardsFile(file)[0] ?? [];
  const seconds = await send(url, bodies, { 'content-type': 'application/x-protobuf' }, parallel);
  console.log(JSON.stringify({ seconds }));
}

/** The child's side of sendShardsFromChild. */
async function senderMain(file: string, url: string): Promise<void> {
  const shards = readShardsFile(file);
  const seconds = await sendShards(url, shards, rwHeaders);
  console.log(JSON.stringify({ seconds }));
}

/** Sends each shard's bodies in order, all shards at once; seconds taken. */
async function sendShards(url: string, shards: Uint8Array[][], headers: Record<string, string>): Promise<number> {
  const started = performance.now();
  await Promise.all(shards.map((bodies) => send(url, bodies, headers, 1)));
  return (performance.now() - started) / 1000;
}

async function send(url: string, bodies: Uint8Array[], headers: Record<string, string>, parallel: number): Promise<number> {
  let next = 0;
  let retries = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < bodies.length) {
      const b = bodies[next++]!;
      for (;;) {
        const r = await fetch(url, { method: 'POST', body: Buffer.from(b), headers });
        await r.arrayBuffer();
        if (r.ok) break;
        if (r.status === 429 || r.status === 503) { retries++; await new Promise((x) => setTimeout(x, 50)); continue; }
        throw new Error(`${url}: ${r.status}`);
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  if (retries) console.log(`  (${retries} retries after 429/503)`);
  return (performance.now() - started) / 1000;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    total += st.isDirectory() ? dirBytes(p) : st.size;
  }
  return total;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** CPU seconds (all threads) used so far by this process. */
function ourCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * The top thread names of this process by `value` between two ticksByThread() readings, as
 * "name <shown value>" items (those under `min` left out).
 */
function threadSplit(before: Map<string, ThreadTicks>, after: Map<string, ThreadTicks>, value: (t: ThreadTicks) => number, min: number, show: (v: number) => string): string {
  return [...after].map(([name, t]) => [name, value(t) - (before.has(name) ? value(before.get(name)!) : 0)] as const)
    .filter(([, v]) => v >= min).sort((a, b) => b[1] - a[1]).slice(0, 6)
    .map(([name, v]) => `${name} ${show(v)}`).join(', ');
}

/** CPU seconds (all threads) used so far by another process, from /proc. */
function processCpuSeconds(pid: number): number {
  return processTicks(pid) / clockTicks;
}

/**
 * Waits until neither server uses CPU (under 5% of a core each over half a second): what one phase
 * left behind (inserts behind the acknowledgement, merges, Prometheus' WAL and GC work) must not
 * run while the other server is timed.
 */
async function settle(promPid: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  // A --cpu-prof run costs this process about a tenth of a core while idle.
  const quiet = process.execArgv.some((a) => a.startsWith('--cpu-prof')) ? 0.25 : 0.05;
  // Two quiet half-seconds in a row: chDB schedules merges in rounds, with pauses between them.
  for (let quietWindows = 0; ;) {
    const a = ourCpuSeconds(), b = processCpuSeconds(promPid);
    await new Promise((r) => setTimeout(r, 500));
    const ours = (ourCpuSeconds() - a) / 0.5, prom = (processCpuSeconds(promPid) - b) / 0.5;
    quietWindows = ours < quiet && prom < quiet ? quietWindows + 1 : 0;
    if (quietWindows >= 2) return;
    if (Date.now() > deadline) { console.log(`  (not settled after 60 s: Rootsight ${ours.toFixed(2)}, Prometheus ${prom.toFixed(2)} cores)`); return; }
  }
}

interface Phase { seconds: number; cpuSeconds: number; pageFaults: number; storedSeconds: number; loopBusy: number; threads: string; threadFaults: string }

/**
 * Times one remote-write phase after both servers settled; CPU is the server's (and for us this
 * process'). `stored` resolves once what was acknowledged is also in storage (for us: the journal's
 * backlog inserted into chDB; it is awaited before the next phase's settling, so that work never
 * runs while the other server is timed).
 */
async function phase(label: string, promPid: number, serverPid: number, cpu: () => number, run: () => Promise<number>, stored: () => Promise<unknown>): Promise<Phase> {
  await settle(promPid);
  const c0 = cpu();
  const f0 = processPageFaults(serverPid);
  const threads0 = ticksByThread(process.pid);
  const elu0 = performance.eventLoopUtilization();
  if (process.env.BENCH_PHASE_MARKS) console.log(`[mark] ${label} start ${process.hrtime.bigint() / 1000n}`);
  const seconds = await run();
  if (process.env.BENCH_PHASE_MARKS) console.log(`[mark] ${label} end ${process.hrtime.bigint() / 1000n}`);
  const cpuSeconds = cpu() - c0;
  const pageFaults = processPageFaults(serverPid) - f0;
  // Our server's event loop (this process): near 1 means the one JS thread is what limits us.
  const loopBusy = performance.eventLoopUtilization(elu0).utilization;
  const threads1 = ticksByThread(process.pid);
  const threads = threadSplit(threads0, threads1, (t) => (t.user + t.system) / clockTicks, 0.01, (v) => `${v.toFixed(2)} s`);
  const threadFaults = threadSplit(threads0, threads1, (t) => t.pageFaults, 100, fmt);
  const ended = performance.now();
  await stored();
  return { seconds, cpuSeconds, pageFaults, storedSeconds: seconds + (performance.now() - ended) / 1000, loopBusy, threads, threadFaults };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'rootsight-bench-ingest-'));
  const server = await startServer({ listen: '127.0.0.1:0', dataDir: join(work, 'rootsight'), uiDir: join(work, 'no-ui'), log: () => undefined, ...(process.env.NO_HEAD ? { metricsHeadSamples: 0 } : {}) });
  const promPort = await freePort();
  writeFileSync(join(work, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
  const prom = spawn('/usr/bin/prometheus', [`--config.file=${join(work, 'prometheus.yml')}`, `--storage.tsdb.path=${join(work, 'prom')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--web.enable-remote-write-receiver'], { stdio: 'ignore' });
  try {
    console.log(`generating ${fmt(totalSpans)} spans, ${fmt(totalLogs)} log lines, ${fmt(totalSamples)} samples …`);
    const spans = spanBodies();
    const logs = logBodies();
    const rw = remoteWriteShards(1, '');
    const rw4 = remoteWriteShards(4, 'sharded_');

    const spanFile = join(work, 'spans.bin'), logFile = join(work, 'logs.bin');
    writeShardsFile(spanFile, [spans]);
    writeShardsFile(logFile, [logs]);
    if (process.env.BENCH_PHASE_MARKS) console.log(`[mark] spans start ${process.hrtime.bigint() / 1000n}`);
    const spanSec = await sendBodiesFromChild(`${server.url}/v1/traces`, spanFile, concurrency);
    if (process.env.BENCH_PHASE_MARKS) console.log(`[mark] spans end ${process.hrtime.bigint() / 1000n}`);
    const logSec = await sendBodiesFromChild(`${server.url}/v1/logs`, logFile, concurrency);

    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const ok = await fetch(`http://127.0.0.1:${promPort}/-/ready`).then((r) => r.ok, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const promPid = prom.pid!;
    const promCpu = () => processCpuSeconds(promPid);
    const oursUrl = `${server.url}/v1/metrics`, promUrl = `http://127.0.0.1:${promPort}/api/v1/write`;
    // usage() waits for the metrics journal's backlog to be inserted first.
    const oursStored = () => server.storage!.usage();
    const promStored = async () => undefined; // acknowledged = in its WAL and head
    const rwFile = join(work, 'rw-1.bin'), rw4File = join(work, 'rw-4.bin'), warmFile = join(work, 'rw-warm.bin');
    writeShardsFile(rwFile, rw.shards);
    writeShardsFile(rw4File, rw4.shards);
    // Both servers first take a short stream of their own (other metric names, not timed): our
    // decode path is JIT-compiled on its first requests, which Prometheus' Go code never needs.
    const warm = remoteWriteShards(1, 'warmup_', 200_000);
    writeShardsFile(warmFile, warm.shards);
    await sendShardsFromChild(oursUrl, warmFile);
    await sendShardsFromChild(promUrl, warmFile);
    /**
     * One round: the 1-sender stream (rwFile), then the 4-shard one (rw4File, its own metric
     * names: the same series and times again would be duplicates, or out of order, for
     * Prometheus), each to our server and then to Prometheus, one phase after another (an object
     * literal's values are evaluated in order).
     */
    const round = async (label: string) => ({
      ours1: await phase(`rootsight-1${label}`, promPid, process.pid, ourCpuSeconds, () => sendShardsFromChild(oursUrl, rwFile), oursStored),
      prom1: await phase(`prometheus-1${label}`, promPid, promPid, promCpu, () => sendShardsFromChild(promUrl, rwFile), promStored),
      ours4: await phase(`rootsight-4${label}`, promPid, process.pid, ourCpuSeconds, () => sendShardsFromChild(oursUrl, rw4File), oursStored),
      prom4: await phase(`prometheus-4${label}`, promPid, promPid, promCpu, () => sendShardsFromChild(promUrl, rw4File), promStored),
    });
    const ratios = (x: Awaited<ReturnType<typeof round>>) => ({ r1: x.prom1.seconds / x.ours1.seconds, r4: x.prom4.seconds / x.ours4.seconds, cpu4: x.ours4.cpuSeconds / x.prom4.cpuSeconds });
    const first = await round('');
    const { ours1, prom1, ours4, prom4 } = first;
    const oursSec = ours1.seconds, promSec = prom1.seconds, ours4Sec = ours4.seconds, prom4Sec = prom4.seconds;
    const cpuPerM = (p: Phase, samples: number) => (p.cpuSeconds / (samples / 1e6)).toFixed(2);
    // Further rounds: the same shapes under new metric names, each server in turn again.
    const perRound = [ratios(first)];
    let roundSamples = 0;
    for (let r = 2; r <= rounds; r++) {
      const one = remoteWriteShards(1, `round${r}_`), four = remoteWriteShards(4, `round${r}_sharded_`);
      writeShardsFile(rwFile, one.shards);
      writeShardsFile(rw4File, four.shards);
      perRound.push(ratios(await round(` round ${r}`)));
      roundSamples += one.samples + four.samples;
    }

    // Let ClickHouse merge what it got, so bytes reflect the steady state rather than many small parts.
    const usage = await server.storage!.usage();
    const by = (s: string) => usage.find((u) => u.signal === s)!;
    const promBytes = dirBytes(join(work, 'prom'));

    console.log('\n== ingest throughput (HTTP; OTLP: 8 concurrent senders in a child process; remote write: the same bodies to both servers from a child process, 1 sender, then 4 shards)');
    console.log(`spans      ${fmt(totalSpans / spanSec)} spans/s   (target ≥ 100,000: ${(totalSpans / spanSec / 100_000).toFixed(2)}×)`);
    console.log(`log lines  ${fmt(totalLogs / logSec)} lines/s`);
    console.log(`remote write, 1 sender:  Rootsight ${fmt(rw.samples / oursSec)} samples/s, Prometheus 2.42 ${fmt(rw.samples / promSec)} samples/s, ratio ${(promSec / oursSec).toFixed(2)}× (Rootsight / Prometheus)`);
    console.log(`remote write, 4 shards:  Rootsight ${fmt(rw4.samples / ours4Sec)} samples/s, Prometheus 2.42 ${fmt(rw4.samples / prom4Sec)} samples/s, ratio ${(prom4Sec / ours4Sec).toFixed(2)}× (Rootsight / Prometheus)`);
    if (rounds > 1) {
      const list = (k: 'r1' | 'r4' | 'cpu4') => `${perRound.map((x) => x[k].toFixed(2)).join(', ')} (median ${median(perRound.map((x) => x[k])).toFixed(2)})`;
      console.log(`remote write over ${rounds} rounds, Rootsight / Prometheus: 1 sender ${list('r1')}; 4 shards ${list('r4')}; CPU per sample with 4 shards ${list('cpu4')}`);
    }
    console.log(`  until also inserted into chDB (the journal's backlog, plus one usage query): 1 sender ${fmt(rw.samples / ours1.storedSeconds)} samples/s, 4 shards ${fmt(rw4.samples / ours4.storedSeconds)} samples/s`);
    console.log(`CPU seconds per million samples while timed (1 sender / 4 shards): Rootsight ${cpuPerM(ours1, rw.samples)} / ${cpuPerM(ours4, rw4.samples)}, Prometheus ${cpuPerM(prom1, rw.samples)} / ${cpuPerM(prom4, rw4.samples)}`);
    const faultsPerM = (p: Phase, samples: number) => fmt(p.pageFaults / (samples / 1e6));
    console.log(`page faults per million samples while timed (1 sender / 4 shards): Rootsight ${faultsPerM(ours1, rw.samples)} / ${faultsPerM(ours4, rw4.samples)}, Prometheus ${faultsPerM(prom1, rw.samples)} / ${faultsPerM(prom4, rw4.samples)}`);
    console.log(`Rootsight's event loop busy while timed (1 sender / 4 shards): ${(ours1.loopBusy * 100).toFixed(0)}% / ${(ours4.loopBusy * 100).toFixed(0)}%`);
    console.log(`  our CPU by thread while timed, 1 sender: ${ours1.threads}`);
    console.log(`  our CPU by thread while timed, 4 shards: ${ours4.threads}`);
    console.log(`  our page faults by thread while timed (1 sender / 4 shards): ${ours1.threadFaults} / ${ours4.threadFaults}`);
    console.log('\n== bytes on disk');
    console.log(`per span        ${(by('traces').bytesOnDisk / by('traces').rows).toFixed(1)} B (${fmt(by('traces').bytesOnDisk)} B for ${fmt(by('traces').rows)} spans)`);
    console.log(`per log line    ${(by('logs').bytesOnDisk / by('logs').rows).toFixed(1)} B (${fmt(by('logs').bytesOnDisk)} B for ${fmt(by('logs').rows)} lines)`);
    const allSamples = warm.samples + rw.samples + rw4.samples + roundSamples;
    console.log(`per sample      Rootsight ${(by('metrics').bytesOnDisk / allSamples).toFixed(2)} B, Prometheus ${(promBytes / allSamples).toFixed(2)} B (WAL + head; before its 2h block compaction), ratio ${(by('metrics').bytesOnDisk / promBytes).toFixed(2)}×`);
  } finally {
    prom.kill('SIGTERM');
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

const senderArg = process.argv.indexOf('--send-shards');
const bodiesArg = process.argv.indexOf('--send-bodies');
if (senderArg > 0) await senderMain(process.argv[senderArg + 1]!, process.argv[senderArg + 2]!);
else if (bodiesArg > 0) await bodiesSenderMain(process.argv[bodiesArg + 1]!, process.argv[bodiesArg + 2]!, Number(process.argv[bodiesArg + 3]));
else {
  const status = rerunWithMallocHugePages();
  if (status !== undefined) process.exitCode = status;
  else await main();
}
