// Tracepoint attachment needs tracefs: libbpf reads event ids from <tracefs>/events/<cat>/<name>/id.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const TRACEFS_DIR = '/sys/kernel/tracing';
export const DEBUGFS_DIR = '/sys/kernel/debug';
export const DEBUGFS_TRACING_DIR = '/sys/kernel/debug/tracing';

export interface TracefsStatus {
  ok: boolean;
  /** Where the tracing events are available, when ok. */
  path?: string;
  action: 'already-mounted' | 'mounted-tracefs' | 'mounted-debugfs' | 'failed';
  /** Why it failed (or what failed before a fallback worked). */
  error?: string;
}

function hasEvents(dir: string): boolean {
  try {
    return existsSync(`${dir}/events`);
  } catch {
    return false;
  }
}

function mount(type: string, target: string): string | undefined {
  try {
    execFileSync('mount', ['-t', type, type, target], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
    return undefined;
  } catch (err) {
    const e = err as { stderr?: Buffer; message?: string };
    const detail = e.stderr?.toString().trim() || e.message || String(err);
    return `mount -t ${type} ${type} ${target}: ${detail}`;
  }
}

/** Makes tracefs available, mounting it at /sys/kernel/tracing (or debugfs at /sys/kernel/debug,
 * whose tracing/ dir automounts tracefs) when missing. Never throws. Idempotent. */
export function ensureTracefs(): TracefsStatus {
  if (hasEvents(TRACEFS_DIR)) return { ok: true, path: TRACEFS_DIR, action: 'already-mounted' };
  if (hasEvents(DEBUGFS_TRACING_DIR)) return { ok: true, path: DEBUGFS_TRACING_DIR, action: 'already-mounted' };
  const errors: string[] = [];
  if (existsSync(TRACEFS_DIR)) {
    const err = mount('tracefs', TRACEFS_DIR);
    if (!err && hasEvents(TRACEFS_DIR)) return { ok: true, path: TRACEFS_DIR, action: 'mounted-tracefs' };
    errors.push(err ?? `${TRACEFS_DIR} mounted but has no events/ directory`);
  } else {
    errors.push(`${TRACEFS_DIR} does not exist`);
  }
  const err = mount('debugfs', DEBUGFS_DIR);
  if (!err && hasEvents(DEBUGFS_TRACING_DIR)) {
    return { ok: true, path: DEBUGFS_TRACING_DIR, action: 'mounted-debugfs', error: errors.join('; ') };
  }
  errors.push(err ?? `${DEBUGFS_TRACING_DIR} has no events/ directory after mounting debugfs`);
  return { ok: false, action: 'failed', error: `tracefs unavailable, tracepoints cannot attach: ${errors.join('; ')}` };
}
