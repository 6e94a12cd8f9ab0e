// The rig the agent benches share: nginx in one stand-in container, h2load (HTTP/1.1 keep-alive
// clients at a fixed request rate) in another, and what one h2load run measured.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startNginx } from '../test/e2e/nginx.ts';
import type { StandInContainer, StandInNetwork } from '../test/e2e/stand-in-containers.ts';
import { parseH2loadSummary, percentile, readH2loadLatencies, type H2loadSummary } from './h2load-output.ts';

export interface LoadRun { summary: H2loadSummary; p50Ms: number; p99Ms: number; latencies: Float64Array }

export interface NginxRig { web: StandInContainer; load: StandInContainer; url: string }

/** Starts nginx answering "ok" at / in a "web" container of `net`, and a "load" container to drive it. */
export async function startNginxRig(net: StandInNetwork, work: string): Promise<NginxRig> {
  const web = net.addContainer('web');
  const load = net.addContainer('load');
  // nginx closes a keep-alive connection after 1000 requests by default, and h2load -D does not
  // reconnect: each client would stop at 1000 requests, far below the rate.
  startNginx(web, work, 'keepalive_requests 100000000; location = / { return 200 "ok\\n"; }');
  const url = `http://${web.ip}/`;
  for (let i = 0; ; i++) {
    try { await load.run('curl', ['-sf', '-o', '/dev/null', url]); break; } catch {
      if (i > 100) throw new Error('nginx did not answer');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { web, load, url };
}

/** How h2load's clients send: `rate` requests/s in all for `seconds`, one request in flight per client. */
export interface H2loadLoad { clients: number; rate: number; seconds: number; stagger?: boolean }

/**
 * h2load's arguments for a load (--rps is per client, so it may be fractional). Plain h2load
 * starts every client at once, and their timers stay in lockstep: with 50 clients at 10k req/s
 * nginx gets 50 requests within ~250 µs every 5 ms, and each request waits for the ones ahead of
 * it in its burst. `stagger` starts one client per millisecond (h2load's -r, whose period cannot
 * go below 1 ms; it needs -n instead of -D): with 51 clients, each 5.1 ms apart, the clients'
 * phases fall 0.1 ms apart, and h2load's event loop (1 ms timer resolution) sends about 10
 * requests each millisecond.
 */
export function h2loadArgs(o: H2loadLoad, logFile: string, url: string): string[] {
  const timing = o.stagger ? ['-r', '1', '--rate-period', '1ms', '-n', String(o.rate * o.seconds)] : ['-D', String(o.seconds)];
  return ['--h1', '-c', String(o.clients), '-t', '1', '--rps', String(o.rate / o.clients), ...timing, '--log-file', logFile, url];
}

/** One h2load run from the load container; never blocks this event loop. */
export async function runH2load(rig: NginxRig, o: H2loadLoad & { work: string; tag: string }): Promise<LoadRun> {
  const logFile = join(o.work, `h2load-${o.tag}.log`);
  const out = await rig.load.run('h2load', h2loadArgs(o, logFile, rig.url));
  const summary = parseH2loadSummary(out);
  const lat = readH2loadLatencies(readFileSync(logFile, 'utf8'));
  rmSync(logFile);
  return { summary, p50Ms: percentile(lat, 0.5) / 1000, p99Ms: percentile(lat, 0.99) / 1000, latencies: lat };
}

/** CPU time of a fixed loop: compares how fast this machine runs now with other runs and hosts. */
export function referenceLoopCpuMs(): number {
  const t = process.cpuUsage();
  let x = 0;
  for (let i = 0; i < 1e8; i++) x += i;
  if (x < 0) console.log(x); // keep the loop from being optimised away
  const u = process.cpuUsage(t);
  return (u.user + u.system) / 1000;
}
