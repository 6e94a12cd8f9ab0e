// Benchmark: the agent under fixed-rate HTTP load. nginx runs in one stand-in container, h2load
// (HTTP/1.1, keep-alive, a fixed request rate) in another. Each round runs the same load twice:
// with no agent (baseline) and with the agent as a separate process, so its CPU and RSS can be
// read from /proc/<pid>; odd rounds run the baseline first, even rounds the agent first. Prints
// h2load's own counts, the agent's request counters against them,
// lost kernel events and unanswered requests, agent CPU (% of one core) and RSS, and the app's
// p50/p99 latency from h2load's per-request log, with on/off ratios.
//
//   npm run bench:http -- [--rate 10000] [--clients 50] [--seconds 60] [--rounds 1]
//                         [--agent-cpu-prof <dir>] [--spans] [--bpf-stats] [--agent-args "<flags>"]
//                         [--stagger]
// Every flag can also be given as an environment variable (RATE, CLIENTS, SECONDS, ROUNDS,
// AGENT_CPU_PROF, SPANS=1, STAGGER=1). --stagger starts h2load's clients 1 ms apart instead of all
// at once, so requests arrive about 10 per millisecond rather than in bursts of --clients (give it
// an odd client count such as 51; see h2loadArgs in nginx-under-load.ts). --spans gives the agent a collector endpoint (a sink in this process
// that accepts and discards), so every request also becomes an OTLP span the agent encodes and sends.
// --bpf-stats (BPF_STATS=1) turns on the kernel's BPF run-time accounting during agent-on runs and
// prints the time our programs ran: it is charged to the traced processes (nginx, h2load), not to
// the agent's CPU above. The accounting itself adds a little to every program run. Needs root, eBPF, nginx and h2load (Debian nghttp2-client; npm run setup -- --test).
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer as createHttpServer, type Server } from 'node:http';
import { join } from 'node:path';
import { StandInNetwork } from '../test/e2e/stand-in-containers.ts';
import { percentile } from './h2load-output.ts';
import { nonZeroByLabel, sumMetric as sum } from './metrics-text.ts';
import { option, positiveInt } from './bench-options.ts';
import { median } from './median.ts';
import { startAgentProcess, stopAgentProcess } from './agent-process.ts';
import { clockTicks, processTicks, ticksByThread, type ThreadTicks } from './thread-cpu.ts';
import { referenceLoopCpuMs, runH2load, startNginxRig, type LoadRun, type NginxRig } from './nginx-under-load.ts';

const RATE = positiveInt('rate', 10_000);
const CLIENTS = positiveInt('clients', 50); // h2load --h1 keeps one request in flight per client: 10 clients cannot reach 10k/s
const SECONDS = positiveInt('seconds', 60);
const ROUNDS = positiveInt('rounds', 1);
const CPU_PROF_DIR = option('agent-cpu-prof', '');
const SPANS = process.argv.includes('--spans') || process.env.SPANS === '1';
const BPF_STATS = process.argv.includes('--bpf-stats') || process.env.BPF_STATS === '1';
/** Extra agent flags, space-separated (e.g. "--disable-l7-tracing" to see what the rest costs). */
const AGENT_ARGS = option('agent-args', '').split(' ').filter((a) => a !== '');
/** h2load's clients started 1 ms apart rather than all at once (see h2loadArgs). */
const STAGGER = process.argv.includes('--stagger') || process.env.STAGGER === '1';
for (const tool of ['/usr/bin/h2load', '/usr/sbin/nginx']) {
  if (!existsSync(tool)) {
    console.error(`bench: ${tool} is missing; run "npm run setup -- --test" (Debian packages nghttp2-client, nginx-light)`);
    process.exit(2);
  }
}

const AGENT_LISTEN = '127.0.0.1:10398';
const work = mkdtempSync(join(tmpdir(), 'rootsight-bench-http-'));

const runLoad = (rig: NginxRig, tag: string) => runH2load(rig, { clients: CLIENTS, rate: RATE, seconds: SECONDS, stagger: STAGGER, work, tag });

/** "name user+sys %" per thread name that used any CPU between the two readings, busiest first. */
function threadCpuSummary(before: Map<string, ThreadTicks>, after: Map<string, ThreadTicks>, seconds: number): string {
  const rows: [string, number, number][] = [];
  for (const [name, a] of after) {
    const b = before.get(name) ?? { user: 0, system: 0 };
    const user = a.user - b.user, system = a.system - b.system;
    if (user + system > 0) rows.push([name, user / seconds, system / seconds]); // ticks are 1/100 s: per second = %
  }
  rows.sort((x, y) => y[1] + y[2] - x[1] - x[2]);
  return rows.map(([n, u, s]) => `${n} ${u.toFixed(1)}+${s.toFixed(1)}`).join(', ') || 'none';
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

async function scrape(): Promise<string> {
  return (await fetch(`http://${AGENT_LISTEN}/metrics`)).text();
}

/** What the agent pushed to the collector sink, by path. */
const pushed = new Map<string, { posts: number; bytes: number }>();

/** An OTLP/remote-write endpoint that accepts everything and keeps only counts. */
async function startCollectorSink(): Promise<{ url: string; server: Server }> {
  const server = createHttpServer((req, res) => {
    const p = pushed.get(req.url ?? '') ?? { posts: 0, bytes: 0 };
    pushed.set(req.url ?? '', p);
    p.posts++;
    req.on('data', (d: Buffer) => { p.bytes += d.length; });
    req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end()); // an empty message is a valid OTLP response
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return { url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, server };
}

let collectorUrl = '';

async function startAgent(): Promise<ChildProcess> {
  const nodeFlags = CPU_PROF_DIR ? ['--import', join(import.meta.dirname, 'agent-cpu-profile.mjs')] : [];
  const agent = await startAgentProcess({ listen: AGENT_LISTEN, nodeFlags, args: [...(collectorUrl ? ['--collector-endpoint', collectorUrl] : []), ...AGENT_ARGS],
    env: { ...process.env, AGENT_CPU_PROF_DIR: CPU_PROF_DIR } });
  await new Promise((r) => setTimeout(r, 2000)); // start-up (/proc scan, attach) is not the steady state
  const caps = await (await fetch(`http://${AGENT_LISTEN}/capabilities`)).json() as { programs: Array<{ program: string; attachPoint: string; attached: boolean }> };
  const missing = caps.programs.filter((p) => /^(tracepoint|tp_btf)\//.test(p.attachPoint) && !p.attached).map((p) => p.program);
  if (missing.length) {
    await stopAgentProcess(agent);
    throw new Error(`the agent could not attach ${missing.join(', ')}; its figures would not mean anything`);
  }
  if (CPU_PROF_DIR) agent.kill('SIGUSR2'); // bench/agent-cpu-profile.mjs starts profiling now
  return agent;
}

interface Round {
  off: LoadRun; on: LoadRun; cpuPct: number; threadCpu: string; loadSeconds: number; catchUpSeconds: number; referenceLoopMs: number; rssMiB: number; peakRssMiB: number;
  countedOut: number; countedIn: number; lost: number; lostByKind: string; unanswered: string; skipped: string;
  /** --bpf-stats: our programs' run time and runs during the load (undefined without it). */
  bpf?: BpfRunTime;
}

interface BpfRunTime { ns: number; runs: number }

/** Summed run time and run count of the loaded BPF programs named rs_* (the agent's), from bpftool. */
async function bpfRunTime(): Promise<BpfRunTime> {
  const out = await new Promise<string>((resolve, reject) => execFile('bpftool', ['-j', 'prog', 'show'], { maxBuffer: 64 << 20 }, (err, stdout) => (err ? reject(err) : resolve(stdout))));
  let ns = 0, runs = 0;
  for (const p of JSON.parse(out) as { name?: string; run_time_ns?: number; run_cnt?: number }[]) {
    if (!p.name?.startsWith('rs_')) continue;
    ns += p.run_time_ns ?? 0;
    runs += p.run_cnt ?? 0;
  }
  return { ns, runs };
}

const bpfStatsSwitch = '/proc/sys/kernel/bpf_stats_enabled';

/** Even rounds run the agent-on load first, so a drift of the machine over a run (warming up,
 * another tenant) does not always favour the same side. */
async function round(n: number, rig: NginxRig): Promise<Round> {
  const { load, web } = rig;
  const onFirst = n % 2 === 0;
  const runOff = () => runLoad(rig, `off-${n}`);
  const off = onFirst ? undefined : await runOff();
  const agent = await startAgent();
  const pid = agent.pid!;
  try {
    const loadId = `container_id="/docker/${load.runtimeId.slice(0, 12)}"`;
    const webId = `container_id="/docker/${web.runtimeId.slice(0, 12)}"`;
    const before = await scrape();
    const ticks0 = processTicks(pid);
    const threads0 = ticksByThread(pid);
    let peakRss = 0;
    const rssTimer = setInterval(() => { peakRss = Math.max(peakRss, rssMiB(pid)); }, 500);
    const bpf0 = BPF_STATS ? await bpfRunTime() : undefined;
    const t0 = performance.now();
    const on = await runLoad(rig, `on-${n}`);
    const loadSeconds = (performance.now() - t0) / 1000;
    const bpf1 = BPF_STATS ? await bpfRunTime() : undefined;
    const counts = (t: string) => ({
      out: sum(t, 'container_http_requests_total', loadId) - sum(before, 'container_http_requests_total', loadId),
      in: sum(t, 'container_http_inbound_requests_total', webId) - sum(before, 'container_http_inbound_requests_total', webId),
    });
    // An agent that fell behind still has events in its ring buffer: its CPU counts until it has
    // caught up (the counts reach h2load's, or stop moving for 5 s), divided by the load's duration.
    let after = await scrape();
    let last = '', still = 0;
    const t1 = performance.now();
    while ((counts(after).out < on.summary.succeeded || counts(after).in < on.summary.succeeded) && still < 25 && performance.now() - t1 < 120_000) {
      await new Promise((r) => setTimeout(r, 200));
      after = await scrape();
      const now = JSON.stringify(counts(after));
      still = now === last ? still + 1 : 0;
      last = now;
    }
    const catchUpSeconds = (performance.now() - t1) / 1000;
    const cpuPct = ((processTicks(pid) - ticks0) / clockTicks) / loadSeconds * 100;
    const threadCpu = threadCpuSummary(threads0, ticksByThread(pid), loadSeconds);
    clearInterval(rssTimer);
    const rss = rssMiB(pid);
    await stopAgentProcess(agent);
    return {
      off: off ?? await runOff(), on, cpuPct, threadCpu, loadSeconds, catchUpSeconds, referenceLoopMs: referenceLoopCpuMs(), rssMiB: rss, peakRssMiB: Math.max(peakRss, rss),
      countedOut: counts(after).out, countedIn: counts(after).in,
      lost: sum(after, 'rootsight_agent_ringbuf_lost_events_total'),
      lostByKind: nonZeroByLabel(after, 'rootsight_agent_l7_ringbuf_lost_events_total', 'kind'),
      unanswered: nonZeroByLabel(after, 'rootsight_agent_l7_unanswered_requests_total', 'reason'),
      skipped: nonZeroByLabel(after, 'rootsight_agent_skipped_tcp_events_total', 'reason'),
      bpf: bpf0 && bpf1 ? { ns: bpf1.ns - bpf0.ns, runs: bpf1.runs - bpf0.runs } : undefined,
    };
  } finally {
    await stopAgentProcess(agent);
  }
}

const fmt = (x: number, d = 3) => x.toFixed(d);

const net = new StandInNetwork('192.168.231');
let failed = false;
let sink: Server | undefined;
const bpfStatsBefore = BPF_STATS ? readFileSync(bpfStatsSwitch, 'utf8').trim() : '';
if (BPF_STATS) writeFileSync(bpfStatsSwitch, '1');
try {
  if (SPANS) {
    const started = await startCollectorSink();
    sink = started.server;
    collectorUrl = started.url;
  }
  const rig = await startNginxRig(net, work);
  console.log(`bench: h2load --h1, ${CLIENTS} keep-alive clients${STAGGER ? ' started 1 ms apart' : ''} × ${(RATE / CLIENTS).toFixed(2)} req/s = ${RATE} req/s for ${SECONDS} s against nginx; agent off, then on${SPANS ? ', sending spans' : ''}; ${ROUNDS} round(s)`);
  const rounds: Round[] = [];
  for (let n = 1; n <= ROUNDS; n++) {
    const r = await round(n, rig);
    rounds.push(r);
    const s = (x: LoadRun) => `sent ${x.summary.started}, completed ${x.summary.done} (${x.summary.succeeded} 2xx, ${x.summary.failed} failed, ${x.summary.timeout} timeout), p50 ${fmt(x.p50Ms)} ms, p99 ${fmt(x.p99Ms)} ms`;
    console.log(`round ${n}`);
    console.log(`  agent off: ${s(r.off)}`);
    console.log(`  agent on:  ${s(r.on)}`);
    console.log(`  agent counted:  outbound ${r.countedOut}, inbound ${r.countedIn} of ${r.on.summary.succeeded} completed (${fmt((r.countedOut / Math.max(1, r.on.summary.succeeded)) * 100, 2)} % / ${fmt((r.countedIn / Math.max(1, r.on.summary.succeeded)) * 100, 2)} %)`);
    console.log(`  lost events:    ${r.lost} (l7 by kind: ${r.lostByKind}); unanswered: ${r.unanswered}; skipped: ${r.skipped}`);
    console.log(`  agent CPU:      ${fmt(r.cpuPct, 2)} % of one core (including ${fmt(r.catchUpSeconds, 1)} s to catch up after the load); RSS ${fmt(r.rssMiB, 1)} MiB (peak ${fmt(r.peakRssMiB, 1)} MiB)`);
    console.log(`  by thread:      ${r.threadCpu} (user+system % of one core)`);
    console.log(`  agent CPU cost: ${fmt((r.cpuPct / 100) * r.loadSeconds * 1e6 / Math.max(1, r.countedOut + r.countedIn), 1)} µs per request counted (each request is seen twice: client and server)`);
    if (r.bpf) console.log(`  kernel BPF:     ${fmt(r.bpf.ns / 1e9 / r.loadSeconds * 100, 2)} % of one core in our programs (${fmt(r.bpf.runs / r.loadSeconds / 1000, 1)}k runs/s, ${fmt(r.bpf.ns / Math.max(1, r.bpf.runs), 0)} ns each; charged to the traced processes)`);
    console.log(`  machine speed:  reference loop ${fmt(r.referenceLoopMs, 0)} ms CPU (a busy or throttled host inflates every CPU figure in proportion)`);
    console.log(`  p50 on/off:     ${fmt(r.on.p50Ms / r.off.p50Ms)}; p99 on/off: ${fmt(r.on.p99Ms / r.off.p99Ms)}`);
  }
  const cpu = rounds.map((r) => r.cpuPct), p50 = rounds.map((r) => r.on.p50Ms / r.off.p50Ms), p99 = rounds.map((r) => r.on.p99Ms / r.off.p99Ms);
  console.log('');
  console.log(`summary over ${ROUNDS} round(s) (best / median):`);
  console.log(`  agent CPU % of one core: ${fmt(Math.min(...cpu), 2)} / ${fmt(median(cpu), 2)}   (target <= 10)`);
  console.log(`  agent RSS MiB (peak):    ${fmt(Math.min(...rounds.map((r) => r.peakRssMiB)), 1)} / ${fmt(median(rounds.map((r) => r.peakRssMiB)), 1)}`);
  console.log(`  p50 on/off:              ${fmt(Math.min(...p50))} / ${fmt(median(p50))}`);
  console.log(`  p99 on/off:              ${fmt(Math.min(...p99))} / ${fmt(median(p99))}   (target <= 1.03)`);
  if (ROUNDS > 1) {
    // Every request of every round in one distribution per side: steadier than per-round ratios.
    const pooled = (side: 'on' | 'off') => {
      const all = new Float64Array(rounds.reduce((a, r) => a + r[side].latencies.length, 0));
      let at = 0;
      for (const r of rounds) { all.set(r[side].latencies, at); at += r[side].latencies.length; }
      return all.sort();
    };
    const on = pooled('on'), off = pooled('off');
    console.log(`  pooled over all rounds:  p50 on/off ${fmt(percentile(on, 0.5) / percentile(off, 0.5))}, p99 on/off ${fmt(percentile(on, 0.99) / percentile(off, 0.99))} (${on.length} / ${off.length} requests)`);
  }
  console.log(`  lost events (total):     ${rounds.reduce((a, r) => a + r.lost, 0)}   (target 0)`);
  console.log(`  counted/completed:       ${rounds.map((r) => `${r.countedOut}/${r.countedIn} of ${r.on.summary.succeeded}`).join(', ')}`);
  if (SPANS) {
    const traces = pushed.get('/v1/traces');
    console.log(`  spans pushed:            ${traces ? `${traces.posts} OTLP posts, ${fmt(traces.bytes / 1048576, 1)} MiB` : 'none'}`);
  }
  if (CPU_PROF_DIR) console.log(`  agent CPU profiles in ${CPU_PROF_DIR}`);
} catch (err) {
  failed = true;
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  if (BPF_STATS) writeFileSync(bpfStatsSwitch, bpfStatsBefore || '0');
  sink?.close();
  await net.destroy();
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
