// Benchmark: two builds of the L7 BPF object compared under one load, at the same time. Two agents
// run side by side, one loading object A, the other object B, so every traced syscall runs both
// builds' programs back to back on the same CPU, with the same data, under the same host
// conditions. (Run one after the other, the kernel's BPF time per request moved by 20% between
// identical runs on this VM; side by side the two see the same noise.) Programs attached to one
// tracepoint run in attach order, so the rounds alternate which agent starts first. Prints per
// round and over all rounds: each build's kernel BPF time per request (its L7 programs, both
// ends of each request) and per run of rs_sys_exit, the ratio B/A, and both agents' request
// counts against h2load's.
//
//   node --import tsx bench/agent-bpf-ab.ts --b <old l7.bpf.o> [--a <l7.bpf.o>] [--rounds 4]
//        [--seconds 20] [--rate 10000] [--clients 50]
// A defaults to the current build (agent/bpf/build/l7.bpf.o). To compare with a commit:
//   git show <rev>:agent/bpf/l7.bpf.c > /tmp/old/l7.bpf.c (and l7_events.h, counters.h), then
//   clang with the flags in agent/bpf/Makefile. Needs root, eBPF, nginx and h2load.
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_L7_OBJECT_PATH, L7_PROGRAMS } from '../agent/src/kernel/l7-tracer.ts';
import { StandInNetwork } from '../test/e2e/stand-in-containers.ts';
import { sumMetric } from './metrics-text.ts';
import { option, positiveInt } from './bench-options.ts';
import { median } from './median.ts';
import { startAgentProcess, stopAgentProcess } from './agent-process.ts';
import { referenceLoopCpuMs, runH2load, startNginxRig } from './nginx-under-load.ts';

const OBJECTS = { A: resolve(option('a', DEFAULT_L7_OBJECT_PATH)), B: option('b', '') };
const ROUNDS = positiveInt('rounds', 4);
const SECONDS = positiveInt('seconds', 20);
const RATE = positiveInt('rate', 10_000);
const CLIENTS = positiveInt('clients', 50);
if (!OBJECTS.B) {
  console.error('bench: --b <l7.bpf.o> is required: the build to compare with --a (default: the current build)');
  process.exit(2);
}
OBJECTS.B = resolve(OBJECTS.B);
for (const p of [OBJECTS.A, OBJECTS.B, '/usr/bin/h2load', '/usr/sbin/nginx']) {
  if (!existsSync(p)) {
    console.error(`bench: ${p} does not exist`);
    process.exit(2);
  }
}
if (RATE % CLIENTS !== 0) {
  console.error(`bench: --rate ${RATE} must be a multiple of --clients ${CLIENTS}`);
  process.exit(2);
}

type Side = 'A' | 'B';
const L7_NAMES = L7_PROGRAMS.map((p) => p.program);
/** The kernel keeps 15 characters of a program's name. */
const isL7Program = (name: string) => L7_NAMES.some((n) => n === name || (name.length === 15 && n.startsWith(name)));
const work = mkdtempSync(join(tmpdir(), 'rootsight-bench-bpf-ab-'));

interface ProgStat { name: string; ns: number; runs: number }

/** Every loaded L7 program of ours by id (bpftool does not say which process loaded it). */
async function l7Programs(): Promise<Map<number, ProgStat>> {
  const out = await new Promise<string>((res, rej) => execFile('bpftool', ['-j', 'prog', 'show'], { maxBuffer: 64 << 20 }, (err, stdout) => (err ? rej(err) : res(stdout))));
  const m = new Map<number, ProgStat>();
  for (const p of JSON.parse(out) as { id: number; name?: string; run_time_ns?: number; run_cnt?: number }[]) {
    if (p.name && isL7Program(p.name)) m.set(p.id, { name: p.name, ns: p.run_time_ns ?? 0, runs: p.run_cnt ?? 0 });
  }
  return m;
}

async function startAgent(object: string, listen: string): Promise<ChildProcess> {
  const agent = await startAgentProcess({ listen, args: ['--l7-object', object] });
  await new Promise((r) => setTimeout(r, 2000)); // start-up (/proc scan, attach) is not the steady state
  const caps = await (await fetch(`http://${listen}/capabilities`)).json() as { programs: Array<{ program: string; attached: boolean }> };
  if (!caps.programs.some((p) => p.program === 'rs_sys_exit' && p.attached)) {
    agent.kill('SIGKILL');
    throw new Error(`the agent could not attach rs_sys_exit from ${object}`);
  }
  return agent;
}

interface SideResult { nsPerRequest: number; nsPerSysExit: number; counted: number; first: boolean }
interface RoundResult { A: SideResult; B: SideResult; requests: number; referenceLoopMs: number }

const listenOf: Record<Side, string> = { A: '127.0.0.1:10398', B: '127.0.0.1:10399' };

async function round(n: number, rig: Awaited<ReturnType<typeof startNginxRig>>): Promise<RoundResult> {
  const order: Side[] = n % 2 === 1 ? ['A', 'B'] : ['B', 'A'];
  const agents = new Map<Side, ChildProcess>();
  const ids = new Map<Side, Set<number>>();
  try {
    let seen = new Set((await l7Programs()).keys());
    for (const side of order) {
      agents.set(side, await startAgent(OBJECTS[side], listenOf[side]));
      const now = new Set((await l7Programs()).keys());
      ids.set(side, new Set([...now].filter((id) => !seen.has(id))));
      seen = now;
    }
    // h2load's requests only (the benches' own scrapes of the agents are HTTP requests too)
    const loadId = `container_id="/docker/${rig.load.runtimeId.slice(0, 12)}"`;
    const webId = `container_id="/docker/${rig.web.runtimeId.slice(0, 12)}"`;
    const counted = async (side: Side) => {
      const text = await (await fetch(`http://${listenOf[side]}/metrics`)).text();
      return sumMetric(text, 'container_http_requests_total', loadId) + sumMetric(text, 'container_http_inbound_requests_total', webId);
    };
    const before = { A: await counted('A'), B: await counted('B') };
    const s0 = await l7Programs();
    const run = await runH2load(rig, { clients: CLIENTS, rate: RATE, seconds: SECONDS, work, tag: `ab-${n}` });
    const s1 = await l7Programs();
    await new Promise((r) => setTimeout(r, 1000)); // both agents drain their rings
    const requests = run.summary.succeeded;
    const side = async (s: Side): Promise<SideResult> => {
      let ns = 0, sysExitNs = 0, sysExitRuns = 0;
      for (const id of ids.get(s)!) {
        const a = s0.get(id), b = s1.get(id);
        if (!a || !b) continue;
        ns += b.ns - a.ns;
        if (b.name === 'rs_sys_exit') { sysExitNs += b.ns - a.ns; sysExitRuns += b.runs - a.runs; }
      }
      return { nsPerRequest: ns / Math.max(1, requests), nsPerSysExit: sysExitNs / Math.max(1, sysExitRuns), counted: await counted(s) - before[s], first: order[0] === s };
    };
    return { A: await side('A'), B: await side('B'), requests, referenceLoopMs: referenceLoopCpuMs() };
  } finally {
    for (const a of agents.values()) await stopAgentProcess(a);
  }
}

const fmt = (x: number, d = 0) => x.toFixed(d);

const statsSwitch = '/proc/sys/kernel/bpf_stats_enabled';
const statsBefore = readFileSync(statsSwitch, 'utf8').trim();
writeFileSync(statsSwitch, '1');
const net = new StandInNetwork('192.168.232');
let failed = false;
try {
  const rig = await startNginxRig(net, work);
  console.log(`bench: L7 BPF object A ${OBJECTS.A}`);
  console.log(`       against        B ${OBJECTS.B}`);
  console.log(`       both loaded at once (two agents) under h2load --h1, ${CLIENTS} clients, ${RATE} req/s, ${SECONDS} s; ${ROUNDS} round(s)`);
  const rounds: RoundResult[] = [];
  for (let n = 1; n <= ROUNDS; n++) {
    const r = await round(n, rig);
    rounds.push(r);
    const line = (s: Side) => `${s}${r[s].first ? ' (attached first)' : '                 '}: ${fmt(r[s].nsPerRequest)} ns per request, ${fmt(r[s].nsPerSysExit)} ns per rs_sys_exit run, counted ${r[s].counted} of ${2 * r.requests}`;
    console.log(`round ${n}: ${r.requests} requests; reference loop ${fmt(r.referenceLoopMs)} ms`);
    console.log(`  ${line('A')}`);
    console.log(`  ${line('B')}`);
    console.log(`  B/A per request: ${fmt(r.B.nsPerRequest / r.A.nsPerRequest, 3)}`);
  }
  const ratios = rounds.map((r) => r.B.nsPerRequest / r.A.nsPerRequest);
  // The build attached first runs on colder caches and pays for it (20-30% here): the geometric
  // mean over rounds that alternate the order cancels that out.
  const geomean = Math.exp(ratios.reduce((a, x) => a + Math.log(x), 0) / ratios.length);
  console.log('');
  console.log(`summary over ${ROUNDS} round(s):`);
  console.log(`  BPF ns per request, median: A ${fmt(median(rounds.map((r) => r.A.nsPerRequest)))}, B ${fmt(median(rounds.map((r) => r.B.nsPerRequest)))}`);
  console.log(`  B/A per request: ${fmt(geomean, 3)} (geometric mean${ROUNDS % 2 ? '; an odd number of rounds favours one attach order' : ', attach orders balanced'}); per round ${ratios.map((x) => fmt(x, 3)).join(', ')}`);
  const counts = rounds.every((r) => r.A.counted === 2 * r.requests && r.B.counted === 2 * r.requests);
  console.log(`  counts: ${counts ? 'both builds counted every request at both ends in every round' : 'MISMATCH (see rounds)'}`);
  if (!counts) failed = true;
} catch (err) {
  failed = true;
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  writeFileSync(statsSwitch, statsBefore || '0');
  await net.destroy();
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
