// CPU time and page faults of a process, also by thread name, from /proc: where a process' CPU
// goes beyond what a JS profile shows (kernel time, GC and libuv helper threads, a native addon,
// chDB's threads).
import { readdirSync, readFileSync } from 'node:fs';

export interface ThreadTicks { user: number; system: number; pageFaults: number }

/** Clock ticks per second of /proc's utime and stime (USER_HZ on Linux). */
export const clockTicks = 100;

/**
 * User and system ticks and page faults per thread name of process `pid`, threads of one name summed (V8's
 * workers, libuv's pool and chDB's pools each share a name once trailing digits are dropped). The
 * process' first thread is "main thread": the others of a Node process are also called "node".
 */
export function ticksByThread(pid: number): Map<string, ThreadTicks> {
  const out = new Map<string, ThreadTicks>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try { stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'); } catch { continue; } // the thread ended
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[0-9]+$/, '') || '?';
    const name = Number(tid) === pid ? 'main thread' : comm;
    const f = fieldsAfterComm(stat);
    const t = out.get(name) ?? { user: 0, system: 0, pageFaults: 0 };
    t.user += Number(f[11]);
    t.system += Number(f[12]);
    t.pageFaults += faults(f);
    out.set(name, t);
  }
  return out;
}

/** The fields after the command name of a /proc stat line (field 3 of proc(5) is [0]). */
function fieldsAfterComm(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
}

function statFields(pid: number): string[] {
  return fieldsAfterComm(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** Minor plus major page faults from fieldsAfterComm(). */
function faults(f: readonly string[]): number {
  return Number(f[7]) + Number(f[9]); // minflt, majflt
}

/** User plus system ticks of all of process `pid`'s threads so far. */
export function processTicks(pid: number): number {
  const f = statFields(pid);
  return Number(f[11]) + Number(f[12]); // utime, stime
}

/**
 * Page faults of process `pid` so far (minor + major): on a VM each costs microseconds, so
 * touching fresh memory can cost more than the work done in it.
 */
export function processPageFaults(pid: number): number {
  return faults(statFields(pid));
}
