// Stand-in containers for end-to-end tests on a host without Docker: each one
// is a cgroup (in every hierarchy, v1 and v2, as a runtime would create it)
// plus a network namespace on a private bridge. Addresses exist only inside
// namespaces this file creates, so tests never touch the host's network.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';

const CGROUP_ROOT = '/sys/fs/cgroup';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Hierarchies a container runtime would place a container in, on this host's cgroup layout. */
function hierarchies(): string[] {
  if (existsSync(`${CGROUP_ROOT}/cgroup.controllers`)) return ['']; // pure v2
  const v1 = ['memory', 'cpu', 'cpuacct', 'pids', 'systemd'].filter((h) => existsSync(`${CGROUP_ROOT}/${h}`));
  return existsSync(`${CGROUP_ROOT}/unified`) ? ['unified', ...v1] : v1;
}

export interface StandInContainer {
  name: string;
  /** Cgroup path as /proc/<pid>/cgroup shows it, e.g. /docker/<64 hex>. */
  cgroupPath: string;
  runtimeId: string;
  netns: string;
  ip: string;
  /** Starts a command inside the container's cgroups and network namespace. */
  spawn(cmd: string, args: string[], opts?: { stdio?: 'inherit' | 'pipe' }): ChildProcess;
  /** Runs a command inside the container and resolves with its stdout; rejects on a non-zero exit. Never blocks the event loop (the agent under test may share it). */
  run(cmd: string, args: string[]): Promise<string>;
}

export class StandInNetwork {
  readonly containers: StandInContainer[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly bridgeNs: string;
  private readonly cgroupDirs: string[] = [];
  private readonly tag = randomBytes(3).toString('hex');

  /** subnet is the first three octets, e.g. "192.168.213". */
  constructor(private readonly subnet: string) {
    this.bridgeNs = `rs-br-${this.tag}`;
    sh('ip', ['netns', 'add', this.bridgeNs]);
    sh('ip', ['-n', this.bridgeNs, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge']);
    sh('ip', ['-n', this.bridgeNs, 'link', 'set', 'br0', 'up']);
  }

  /** A Docker-style container (cgroupfs driver path /docker/<64 hex>). */
  addContainer(name: string): StandInContainer {
    const index = this.containers.length + 10;
    const runtimeId = randomBytes(32).toString('hex');
    const cgroupPath = `/docker/${runtimeId}`;
    for (const h of hierarchies()) {
      const dir = `${CGROUP_ROOT}/${h ? h : ''}${cgroupPath}`.replace('//', '/');
      mkdirSync(dir, { recursive: true });
      this.cgroupDirs.push(dir);
    }
    const netns = `rs-${name}-${this.tag}`;
    const ip = `${this.subnet}.${index}`;
    const veth = `v${this.tag}${index}`;
    sh('ip', ['netns', 'add', netns]);
    sh('ip', ['-n', this.bridgeNs, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    sh('ip', ['-n', this.bridgeNs, 'link', 'set', veth, 'master', 'br0', 'up']);
    sh('ip', ['-n', netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    sh('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    const procsFiles = hierarchies().map((h) => `${CGROUP_ROOT}/${h ? h : ''}${cgroupPath}/cgroup.procs`.replace('//', '/'));
    // Join the cgroups first: `ip netns exec` remounts /sys, hiding /sys/fs/cgroup.
    const wrapper = (cmd: string, args: string[]) => ['-c', `for f in ${procsFiles.join(' ')}; do echo $$ > $f; done; exec ip netns exec ${netns} "$@"`, 'sh', cmd, ...args];
    const c: StandInContainer = {
      name, cgroupPath, runtimeId, netns, ip,
      spawn: (cmd, args, opts) => {
        const child = spawn('sh', wrapper(cmd, args), { stdio: opts?.stdio ?? 'pipe' });
        this.children.push(child);
        return child;
      },
      run: (cmd, args) => new Promise((resolve, reject) => {
        execFile('sh', wrapper(cmd, args), { maxBuffer: 16 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} failed: ${err.message}\n${stderr}`)) : resolve(stdout)));
      }),
    };
    this.containers.push(c);
    return c;
  }

  async destroy(): Promise<void> {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await Promise.all(this.children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
    for (const c of this.containers) killCgroupMembers(c.cgroupPath);
    for (const c of this.containers) tryRun(() => sh('ip', ['netns', 'del', c.netns]));
    tryRun(() => sh('ip', ['netns', 'del', this.bridgeNs]));
    for (const dir of this.cgroupDirs.reverse()) {
      for (let i = 0; i < 50 && existsSync(dir); i++) {
        try { rmdirSync(dir); } catch { await new Promise((r) => setTimeout(r, 20)); }
      }
    }
  }
}

function tryRun(f: () => unknown): void {
  try { f(); } catch { /* already gone */ }
}

/** Kills whatever is left in the container's cgroups (daemons that forked away from their parent). */
function killCgroupMembers(cgroupPath: string): void {
  for (const h of hierarchies()) {
    const file = `${CGROUP_ROOT}/${h ? h : ''}${cgroupPath}/cgroup.procs`.replace('//', '/');
    if (!existsSync(file)) continue;
    try {
      for (const pid of execFileSync('cat', [file]).toString().split('\n').filter(Boolean)) tryRun(() => process.kill(Number(pid), 'SIGKILL'));
    } catch { /* gone */ }
  }
}

/** Polls fn until it returns a value that is not undefined, or throws with the last observation. */
export async function eventually<T>(what: string | (() => string), fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
