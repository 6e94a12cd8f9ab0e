// Benchmark: the traced application's latency with the agent on vs off, measured in alternating
// windows of one long h2load run against nginx (both in stand-in containers). The agent (a separate
// process) is started at the beginning of each "on" window and stopped at its end, so on and off
// alternate every --window seconds under the same load, and a host that drifts (this VM slows
// about fourfold after minutes of load) shifts both sides alike; separate runs, as in
// bench/agent-http-load.ts, spread by ±30% between rounds. Each request is put in the window it
// started in, from h2load's per-request log; the agent's start-up (its /proc scan and attach) and
// shutdown are left out of both sides by a settle margin. Prints p50 and p99 per window, the
// pooled on/off ratios, and each on window against the mean of the off windows on either side.
//
//   node --import tsx bench/agent-latency-windows.ts [--windows 8] [--window 20] [--settle 4]
//        [--rate 10000] [--clients 50] [--stagger] [--agent-args "<flags>"]
// --stagger starts h2load's clients 1 ms apart instead of all at once (see h2loadArgs); use an
// odd client count such as 51 so that their phases spread evenly.
// Needs root, eBPF, nginx and h2load (npm run setup -- --test).
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StandInNetwork } from '../test/e2e/stand-in-containers.ts';
import { parseH2loadSummary, percentile } from './h2load-output.ts';
import { option, positiveInt } from './bench-options.ts';
import { median } from './median.ts';
import { startAgentProcess, stopAgentProcess } from './agent-process.ts';
import { h2loadArgs, startNginxRig } from './nginx-under-load.ts';

const WINDOWS = positiveInt('windows', 8); // half off, half on, alternating, off first
const WINDOW_S = positiveInt('window', 20);
const SETTLE_S = positiveInt('settle', 4);
const RATE = positiveInt('rate', 10_000);
const CLIENTS = positiveInt('clients', 50);
const AGENT_ARGS = option('agent-args', '').split(' ').filter((a) => a !== '');
const STAGGER = process.argv.includes('--stagger');
if (WINDOWS % 2 !== 0 || WINDOWS < 2) {
  console.error('bench: --windows must be even (off and on alternate)');
  process.exit(2);
}
if (SETTLE_S * 2 >= WINDOW_S) {
  console.error('bench: --settle must be less than half of --window');
  process.exit(2);
}
for (const tool of ['/usr/bin/h2load', '/usr/sbin/nginx']) {
  if (!existsSync(tool)) {
    console.error(`bench: ${tool} is missing; run "npm run setup -- --test"`);
    process.exit(2);
  }
}

const AGENT_LISTEN = '127.0.0.1:10398';
const work = mkdtempSync(join(tmpdir(), 'rootsight-bench-windows-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A window's measured part, in microseconds since the epoch (h2load's clock). */
interface Window { on: boolean; fromUs: number; toUs: number; latencies: number[] }

/** Alternates off and on windows while h2load runs; returns each window's measured interval. */
async function driveWindows(): Promise<Window[]> {
  const windows: Window[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    const on = w % 2 === 1;
    const start = Date.now();
    let agent: ChildProcess | undefined;
    if (on) agent = await startAgentProcess({ listen: AGENT_LISTEN, args: AGENT_ARGS, stdio: 'ignore' });
    // Measured from SETTLE_S after the agent answered (or after the window began) to SETTLE_S
    // before the window ends: start-up and shutdown stay out of both sides.
    const from = Date.now() + SETTLE_S * 1000;
    const end = start + WINDOW_S * 1000;
    windows.push({ on, fromUs: from * 1000, toUs: (end - SETTLE_S * 1000) * 1000, latencies: [] });
    await sleep(Math.max(0, end - Date.now()));
    if (agent) await stopAgentProcess(agent);
  }
  return windows;
}

const net = new StandInNetwork('192.168.233');
let failed = false;
try {
  const rig = await startNginxRig(net, work);
  const seconds = WINDOWS * WINDOW_S + 5;
  console.log(`bench: h2load --h1, ${CLIENTS} clients${STAGGER ? ' started 1 ms apart' : ' in lockstep'}, ${RATE} req/s for ${seconds} s against nginx; agent off and on in alternating ${WINDOW_S} s windows (${WINDOWS} in all), ${SETTLE_S} s settle margins${AGENT_ARGS.length ? `; agent flags ${AGENT_ARGS.join(' ')}` : ''}`);
  const logFile = join(work, 'h2load.log');
  const load = rig.load.run('h2load', h2loadArgs({ clients: CLIENTS, rate: RATE, seconds, stagger: STAGGER }, logFile, rig.url));
  await sleep(2000); // h2load connected and at its rate before the first window
  const windows = await driveWindows();
  const summary = parseH2loadSummary(await load);
  // h2load's log: start time (µs since the epoch), status, µs until the end of the response
  for (const row of readFileSync(logFile, 'utf8').split('\n')) {
    const [start, , took] = row.split('\t').map(Number);
    if (!Number.isFinite(start) || !Number.isFinite(took)) continue;
    const w = windows.find((x) => start! >= x.fromUs && start! < x.toUs);
    w?.latencies.push(took!);
  }
  const sorted = (xs: number[]) => Float64Array.from(xs).sort();
  const p = (xs: Float64Array, q: number) => percentile(xs, q) / 1000;
  const fmt = (x: number, d = 3) => x.toFixed(d);
  console.log(`h2load: ${summary.succeeded} of ${summary.started} requests succeeded, ${summary.failed} failed`);
  const stats = windows.map((w) => { const s = sorted(w.latencies); return { ...w, n: s.length, p50: p(s, 0.5), p99: p(s, 0.99) }; });
  for (const [i, w] of stats.entries()) console.log(`  window ${i + 1} ${w.on ? 'on ' : 'off'}: ${w.n} requests, p50 ${fmt(w.p50)} ms, p99 ${fmt(w.p99)} ms`);
  const pooled = (on: boolean) => sorted(stats.filter((w) => w.on === on).flatMap((w) => w.latencies));
  const on = pooled(true), off = pooled(false);
  // each on window against the off windows next to it (the one after, if any, and the one before)
  const paired = stats.flatMap((w, i) => {
    if (!w.on) return [];
    const nb = [stats[i - 1], stats[i + 1]].filter((x): x is typeof w => x !== undefined && !x.on);
    const mean = (k: 'p50' | 'p99') => nb.reduce((a, x) => a + x[k], 0) / nb.length;
    return [{ p50: w.p50 / mean('p50'), p99: w.p99 / mean('p99') }];
  });
  console.log('');
  console.log(`pooled (${on.length} on / ${off.length} off requests): p50 on/off ${fmt(p(on, 0.5) / p(off, 0.5))}, p99 on/off ${fmt(p(on, 0.99) / p(off, 0.99))}   (target p99 <= 1.03)`);
  console.log(`each on window vs the off windows beside it: p50 ${paired.map((x) => fmt(x.p50)).join(', ')} (median ${fmt(median(paired.map((x) => x.p50)))}); p99 ${paired.map((x) => fmt(x.p99)).join(', ')} (median ${fmt(median(paired.map((x) => x.p99)))})`);
} catch (err) {
  failed = true;
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await net.destroy();
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
