// Benchmark: the agent under a connection storm. A client opens RATE TCP
// connections per second for SECONDS against a local server, first with no
// agent (baseline), then with the agent running. Prints the agent's CPU (% of
// one core) and RSS, lost kernel events, the agent's count against the
// client's, and the client's connect latency on/off.
//
//   npm run bench -- [--rate 2000] [--seconds 60] [--port 18090]
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const RATE = arg('rate', 2000);
const SECONDS = arg('seconds', 60);
const AGENT_LISTEN = '127.0.0.1:10399';
const root = join(import.meta.dirname, '..');

interface LoadResult { opened: number; failed: number; p50Ms: number; p99Ms: number }

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** Runs the load generator without blocking this process's event loop, which serves the sink. */
function runLoad(port: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(import.meta.dirname, 'connection-load.mjs'), '127.0.0.1', String(port), String(RATE), String(SECONDS)], { maxBuffer: 1 << 20 },
      (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as LoadResult)));
  });
}

async function metric(name: string, match: (labels: string) => boolean): Promise<number> {
  const text = await (await fetch(`http://${AGENT_LISTEN}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\w+)(\{.*\})? (\S+)$/.exec(line);
    if (m && m[1] === name && match(m[2] ?? '')) sum += Number(m[3]);
  }
  return sum;
}

const sink = createServer((s) => { s.on('data', () => {}); s.on('error', () => {}); s.end(); });
// A fixed port below the ephemeral range: the agent ignores destinations inside it.
const port = arg('port', 18090);
await new Promise<void>((r, reject) => { sink.once('error', reject); sink.listen(port, '127.0.0.1', () => r()); });
const dest = `destination="127.0.0.1:${port}"`;
console.log(`bench: ${RATE} connections/s for ${SECONDS} s to 127.0.0.1:${port}, agent off then on`);

const off = await runLoad(port);
console.log(`  agent off: opened ${off.opened}, failed ${off.failed}, connect p50 ${off.p50Ms.toFixed(3)} ms, p99 ${off.p99Ms.toFixed(3)} ms`);

const agentProc = spawn(process.execPath, [join(root, 'bin/rootsight.js'), 'agent', '--listen', AGENT_LISTEN], { stdio: ['ignore', 'ignore', 'inherit'] });
const pid = agentProc.pid!;
for (let i = 0; ; i++) {
  try { await fetch(`http://${AGENT_LISTEN}/health`); break; } catch { if (i > 200) throw new Error('agent did not start'); await new Promise((r) => setTimeout(r, 100)); }
}
await new Promise((r) => setTimeout(r, 2000)); // let start-up work finish before measuring
const before = await metric('container_net_tcp_successful_connects_total', (l) => l.includes(dest));
const ticks0 = cpuTicks(pid);
let peakRss = 0;
const rssTimer = setInterval(() => { peakRss = Math.max(peakRss, rssMiB(pid)); }, 500);
const t0 = performance.now();
const on = await runLoad(port);
const elapsed = (performance.now() - t0) / 1000;
const cpuSeconds = (cpuTicks(pid) - ticks0) / 100;
clearInterval(rssTimer);
const deadline = Date.now() + 10_000;
let counted = 0;
while (Date.now() < deadline) {
  counted = (await metric('container_net_tcp_successful_connects_total', (l) => l.includes(dest))) - before;
  if (counted >= on.opened) break;
  await new Promise((r) => setTimeout(r, 200));
}
const lost = await metric('rootsight_agent_ringbuf_lost_events_total', () => true);
const rss = rssMiB(pid);
agentProc.kill('SIGTERM');
sink.close();

console.log(`  agent on:  opened ${on.opened}, failed ${on.failed}, connect p50 ${on.p50Ms.toFixed(3)} ms, p99 ${on.p99Ms.toFixed(3)} ms`);
console.log('');
console.log(`agent CPU:            ${((cpuSeconds / elapsed) * 100).toFixed(2)} % of one core`);
console.log(`agent RSS:            ${rss.toFixed(1)} MiB now, ${peakRss.toFixed(1)} MiB peak`);
console.log(`lost kernel events:   ${lost}`);
console.log(`agent counted:        ${counted} of ${on.opened} connections the client opened (${((counted / Math.max(1, on.opened)) * 100).toFixed(2)} %)`);
console.log(`connect p50 on/off:   ${(on.p50Ms / off.p50Ms).toFixed(3)}`);
console.log(`connect p99 on/off:   ${(on.p99Ms / off.p99Ms).toFixed(3)}`);
process.exit(0);
