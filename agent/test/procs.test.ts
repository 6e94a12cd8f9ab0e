// ProcessTable against the real kernel: stand-in containers made of cgroups (v2 + v1 memory/cpu)
// and a network namespace, as in the lab guide §6. Needs root; skipped otherwise.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { ProcessTable } from '../src/procs/process-table.ts';

const CGROUPFS = '/sys/fs/cgroup';
const isRoot = process.getuid?.() === 0;
const hybrid = existsSync(`${CGROUPFS}/unified/cgroup.controllers`);
const pureV2 = !hybrid && existsSync(`${CGROUPFS}/cgroup.controllers`);
const v2Root = hybrid ? `${CGROUPFS}/unified` : CGROUPFS;
// Hierarchies to join: v2 always; on hybrid hosts the v1 ones the reference reads.
const hierarchies = [v2Root, ...(hybrid ? ['memory', 'cpu', 'systemd'].map((h) => `${CGROUPFS}/${h}`).filter((d) => existsSync(`${d}/cgroup.procs`)) : [])];
const hasIp = spawnSync('ip', ['-V']).status === 0;
const skip = !isRoot ? 'needs root' : !(hybrid || pureV2) ? 'no cgroup v2 mounted' : !hasIp ? 'needs iproute2' : false;

const RUN = randomBytes(4).toString('hex');
const DOCKER_ID = randomBytes(32).toString('hex');
const CRI_ID = randomBytes(32).toString('hex');
const POD_UID = randomUUID();
const DOCKER_CG = `/docker/${DOCKER_ID}`;
const KUBE_CG = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID.replace(/-/g, '_')}.slice/cri-containerd-${CRI_ID}.scope`;
const NETNS = `rs-procs-${RUN}`;

const createdDirs: string[] = []; // in creation order; removed in reverse (leaf first)
const children: ChildProcess[] = [];
let netnsCreated = false;

/** mkdir -p that remembers which levels it created, so cleanup removes only those. */
function makeCgroup(path: string): void {
  for (const h of hierarchies) {
    let dir = h;
    for (const part of path.split('/').filter(Boolean)) {
      dir = `${dir}/${part}`;
      if (existsSync(dir)) continue;
      mkdirSync(dir);
      createdDirs.push(dir);
    }
  }
}

function joinCgroup(pid: number, path: string): void {
  for (const h of hierarchies) writeFileSync(`${h}${path}/cgroup.procs`, String(pid));
}

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

function linkOr(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

/** Starts `argv`, moves it into `cgroup`, and waits until it has exec'd sleep inside it. */
async function startIn(cgroup: string, argv: string[]): Promise<number> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  children.push(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${argv.join(' ')}`);
  joinCgroup(pid, cgroup);
  await until(`pid ${pid} to exec sleep in ${cgroup}`, () =>
    linkOr(`/proc/${pid}/exe`).endsWith('/sleep') && readOr(`/proc/${pid}/cgroup`, '').includes(cgroup));
  return pid;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  await exited;
}

before(async () => {
  if (skip) return;
  makeCgroup(DOCKER_CG);
  makeCgroup(KUBE_CG);
  const r = spawnSync('ip', ['netns', 'add', NETNS], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip netns add ${NETNS} failed: ${r.stderr}`);
  netnsCreated = true;
});

after(async () => {
  // Runs even when a test failed: our processes first, then cgroups leaf-first, then the netns.
  for (const c of children) await stop(c).catch(() => {});
  for (const dir of [...createdDirs].reverse()) {
    // Parents like /docker may meanwhile hold other tests' cgroups: those stay, silently.
    const hasChildren = (): boolean => {
      try {
        return readdirSync(dir, { withFileTypes: true }).some((e) => e.isDirectory());
      } catch {
        return false;
      }
    };
    for (let attempt = 0; ; attempt++) {
      if (hasChildren()) break;
      try {
        rmdirSync(dir);
        break;
      } catch (err) {
        // A just-killed task may linger in cgroup.procs for a moment.
        if ((err as NodeJS.ErrnoException).code === 'EBUSY' && attempt < 50) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') console.error(`cleanup: cannot remove ${dir}: ${(err as Error).message}`);
        break;
      }
    }
  }
  if (netnsCreated) spawnSync('ip', ['netns', 'del', NETNS]);
});

test('stand-in containers on the real kernel map to container ids, cgroup ids and netns', { skip }, async () => {
  const web1 = await startIn(DOCKER_CG, ['sleep', '60']);
  const web2 = await startIn(DOCKER_CG, ['sleep', '60']);
  const pod = await startIn(KUBE_CG, ['ip', 'netns', 'exec', NETNS, 'sleep', '60']);

  let now = Date.now();
  const table = new ProcessTable({ now: () => now, log: () => {} });
  await table.scan();

  const dockerIno = statSync(`${v2Root}${DOCKER_CG}`).ino;
  const kubeIno = statSync(`${v2Root}${KUBE_CG}`).ino;
  const hostNetns = statSync('/proc/self/ns/net').ino;
  const podNetns = statSync(`/run/netns/${NETNS}`).ino;
  assert.notEqual(podNetns, hostNetns);

  const web = table.containerOfPid(web1);
  assert.equal(web?.containerId, `/docker/${DOCKER_ID.slice(0, 12)}`);
  assert.equal(web?.kind, 'docker');
  assert.equal(table.containerOfPid(web2), web);
  assert.ok(web!.pids.has(web1) && web!.pids.has(web2));
  assert.deepEqual([...web!.cgroupIds], [dockerIno]);
  assert.equal(table.get(web1)?.cgroupId, dockerIno);
  assert.equal(table.containerOfCgroupId(dockerIno), web);
  assert.equal(table.get(web1)?.netns, Number(/\d+/.exec(readlinkSync(`/proc/${web1}/ns/net`))![0]));
  assert.ok(web!.startedAtMs <= Date.now() && web!.startedAtMs > Date.now() - 60_000, `start time ${web!.startedAtMs}`);

  const k8s = table.containerOfPid(pod);
  assert.equal(k8s?.containerId, `/k8s/_/pod-${POD_UID}/${CRI_ID.slice(0, 12)}`);
  assert.equal(k8s?.kind, 'containerd');
  assert.equal(table.get(pod)?.classification.podUid, POD_UID);
  assert.deepEqual([...k8s!.netns], [podNetns]);
  assert.equal(table.get(pod)?.netns, Number(/\d+/.exec(readlinkSync(`/proc/${pod}/ns/net`))![0]));
  assert.equal(table.containerOfCgroupId(kubeIno), k8s);

  const self = table.containerOfPid(process.pid);
  assert.equal(self?.containerId, '/host/node');
  assert.ok(self!.netns.has(hostNetns));
  assert.equal(table.containerOfCgroupId(statSync(v2Root).ino), undefined, 'the v2 root is ambiguous');
  assert.equal(table.get(2), undefined, 'kthreadd is not a process we track');
  assert.ok(table.containers().every((c) => !c.containerId.includes('kworker')));

  // A process the last scan did not see, looked up on demand.
  const late = await startIn(DOCKER_CG, ['sleep', '60']);
  assert.equal((await table.lookupPid(late))?.containerId, web!.containerId);
  assert.ok(web!.pids.has(late));

  // Kill everything in the stand-ins: pids leave at the next scan, containers after the grace period.
  for (const c of children) await stop(c);
  await table.scan();
  for (const pid of [web1, web2, pod, late]) {
    assert.equal(table.get(pid), undefined, `pid ${pid} still known`);
    assert.equal(table.containerOfPid(pid), undefined);
  }
  assert.equal(table.container(web!.containerId)?.pids.size, 0);
  assert.equal(table.containerOfCgroupId(dockerIno), undefined);
  now += 121_000;
  await table.scan();
  assert.equal(table.container(web!.containerId), undefined);
  assert.equal(table.container(k8s!.containerId), undefined);
  assert.equal(table.containerOfPid(process.pid)?.containerId, '/host/node', 'live host processes stay');
});
