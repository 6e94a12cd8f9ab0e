// ProcessTable over a /proc and cgroupfs tree written by the test: the parsing paths without root.
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessTable, parseNsLink, parseStartTicks, parseStatus } from '../src/procs/process-table.ts';
import type { RuntimeMetadata } from '../src/containers/container-naming.ts';

const H = '0123456789abcdef'.repeat(4);
const K = 'fedcba9876543210'.repeat(4);
const UID = '3f1c2a9e-7b44-4d1e-9a51-0c2f8e6b1a01';
const DOCKER = `/docker/${H}`;
const KUBE = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${K}.scope`;
const BTIME = 1_790_000_000;

let root: string;
let proc: string;
let cgroupfs: string;
let logs: string[];
let now: number;

function hybrid(p: string): string {
  return `9:name=systemd:${p}\n4:memory:${p}\n3:cpuset:/\n1:cpu:${p}\n0::${p}\n`;
}

interface FakePid {
  pid: number;
  ppid?: number;
  comm: string;
  exe?: string;
  cgroup?: string;
  netns?: number;
  startTicks?: number;
}

function writePid(p: FakePid): void {
  const dir = join(proc, String(p.pid));
  mkdirSync(join(dir, 'ns'), { recursive: true });
  writeFileSync(join(dir, 'status'), `Name:\t${p.comm}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t${p.pid}\nPid:\t${p.pid}\nPPid:\t${p.ppid ?? 1}\nNSpid:\t${p.pid}\t7\n`);
  writeFileSync(join(dir, 'comm'), `${p.comm}\n`);
  if (p.cgroup !== undefined) writeFileSync(join(dir, 'cgroup'), p.cgroup);
  if (p.exe) symlinkSync(p.exe, join(dir, 'exe'));
  if (p.netns !== undefined) symlinkSync(`net:[${p.netns}]`, join(dir, 'ns', 'net'));
  const fields = ['S', String(p.ppid ?? 1), ...Array.from({ length: 17 }, () => '0'), String(p.startTicks ?? 0), '0'];
  writeFileSync(join(dir, 'stat'), `${p.pid} (${p.comm} with ) paren) ${fields.join(' ')}\n`);
}

function cgroupDir(path: string): number {
  const dir = join(cgroupfs, 'unified', path);
  mkdirSync(dir, { recursive: true });
  return statSync(dir).ino;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'rootsight-fakeproc-'));
  proc = join(root, 'proc');
  cgroupfs = join(root, 'cgroup');
  mkdirSync(proc);
  mkdirSync(join(cgroupfs, 'unified'), { recursive: true });
  mkdirSync(join(cgroupfs, 'memory'), { recursive: true });
  writeFileSync(join(cgroupfs, 'unified', 'cgroup.controllers'), 'hugetlb\n');
  writeFileSync(join(proc, 'stat'), `cpu  1 2 3 4\nbtime ${BTIME}\nprocesses 100\n`);
  symlinkSync('100', join(proc, 'self'));
  mkdirSync(join(proc, 'sys'));
  logs = [];
  now = 5_000_000;
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function table(extra: { metadata?: Map<string, RuntimeMetadata>; recheckYoungMs?: number } = {}): ProcessTable {
  const meta = extra.metadata ?? new Map<string, RuntimeMetadata>();
  return new ProcessTable({
    procRoot: proc,
    cgroupfsRoot: cgroupfs,
    metadata: { inspect: async (id) => meta.get(id) },
    recheckYoungMs: extra.recheckYoungMs ?? 0,
    log: (m) => logs.push(m),
    now: () => now,
  });
}

test('a fake /proc maps to containers, cgroup ids and netns', async () => {
  const dockerIno = cgroupDir(DOCKER);
  const kubeIno = cgroupDir(KUBE);
  writePid({ pid: 2, ppid: 0, comm: 'kthreadd', cgroup: hybrid('/') });
  writePid({ pid: 3, ppid: 2, comm: 'kworker/0:0', cgroup: hybrid('/') });
  writePid({ pid: 100, comm: 'nginx', exe: '/usr/sbin/nginx', cgroup: hybrid(DOCKER), netns: 4026532001, startTicks: 500 });
  writePid({ pid: 101, ppid: 100, comm: 'nginx', exe: '/usr/sbin/nginx', cgroup: hybrid(DOCKER), netns: 4026532001, startTicks: 700 });
  writePid({ pid: 200, comm: 'pause', exe: '/pause', cgroup: hybrid(`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${'9'.repeat(64)}.scope`), netns: 4026532002 });
  writePid({ pid: 201, comm: 'server', exe: '/app/server', cgroup: hybrid(KUBE), netns: 4026532002 });
  writePid({ pid: 300, comm: 'redis-server', exe: '/usr/bin/redis-server', cgroup: '4:memory:/lab/x\n1:cpu:/\n0::/\n', netns: 4026531840 });
  writePid({ pid: 301, comm: 'bash', cgroup: '0::/\n', netns: 4026531840 }); // no exe link: comm is used

  const t = table({ metadata: new Map([[H, { name: '/web', image: 'nginx:1.25' }]]) });
  await t.scan();

  const web = t.containerOfPid(100);
  assert.equal(web?.containerId, '/docker/web');
  assert.equal(web?.kind, 'docker');
  assert.equal(web?.image, 'nginx:1.25');
  assert.deepEqual([...web!.pids].sort(), [100, 101]);
  assert.deepEqual([...web!.netns], [4026532001]);
  assert.deepEqual([...web!.cgroupIds], [dockerIno]);
  assert.equal(web?.startedAtMs, BTIME * 1000 + 5000, 'earliest process start: 500 ticks after boot');
  assert.equal(t.containerOfCgroupId(dockerIno), web);

  const pod = t.containerOfPid(201);
  assert.equal(pod?.containerId, `/k8s/_/pod-${UID}/${K.slice(0, 12)}`);
  assert.equal(pod?.kind, 'containerd');
  assert.equal(t.containerOfCgroupId(kubeIno)?.containerId, pod?.containerId);
  assert.equal(t.containerOfPid(200), undefined, 'pause is ignored');
  assert.equal(t.get(200)?.containerId, undefined);
  assert.equal(t.get(200)?.classification.kind, 'containerd');

  assert.equal(t.containerOfPid(300)?.containerId, '/host/redis-server');
  assert.equal(t.containerOfPid(301)?.containerId, '/host/bash');
  assert.equal(t.get(2), undefined, 'kthreadd is skipped');
  assert.equal(t.get(3), undefined, 'kernel threads are skipped');
  const rootIno = statSync(join(cgroupfs, 'unified')).ino;
  assert.equal(t.get(300)?.cgroupId, rootIno);
  assert.equal(t.containerOfCgroupId(rootIno), undefined, 'the v2 root maps to nothing');
  assert.deepEqual(t.get(100)?.nsPids, [100, 7]);
  assert.equal(t.get(101)?.ppid, 100);
  assert.equal(t.cgroupV2Root, join(cgroupfs, 'unified'));
  assert.deepEqual(t.containers().map((c) => c.containerId).sort(), ['/docker/web', '/host/bash', '/host/redis-server', `/k8s/_/pod-${UID}/${K.slice(0, 12)}`]);
});

test('dead pids leave on the next scan; empty containers stay for the grace period', async () => {
  cgroupDir(DOCKER);
  writePid({ pid: 100, comm: 'sleep', exe: '/usr/bin/sleep', cgroup: hybrid(DOCKER) });
  writePid({ pid: 101, comm: 'sleep', exe: '/usr/bin/sleep', cgroup: hybrid(DOCKER) });
  const t = table();
  await t.scan();
  const id = `/docker/${H.slice(0, 12)}`;
  assert.equal(t.containerOfPid(100)?.containerId, id);

  rmSync(join(proc, '101'), { recursive: true });
  await t.scan();
  assert.deepEqual([...t.container(id)!.pids], [100]);
  assert.equal(t.get(101), undefined);

  rmSync(join(proc, '100'), { recursive: true });
  await t.scan();
  assert.equal(t.containerOfPid(100), undefined);
  assert.equal(t.container(id)?.pids.size, 0, 'kept while within the grace period');
  assert.equal(t.container(id)?.cgroupIds.size, 0);
  now += 119_000;
  await t.scan();
  assert.ok(t.container(id));
  now += 2_000;
  await t.scan();
  assert.equal(t.container(id), undefined, 'dropped after the grace period');
  assert.equal(t.stats.containersDropped, 1);

  // A process returning to the container before the grace ends revives it.
  writePid({ pid: 102, comm: 'sleep', exe: '/usr/bin/sleep', cgroup: hybrid(DOCKER) });
  await t.scan();
  assert.equal(t.containerOfPid(102)?.containerId, id);
});

test('known pids are not read again; young pids are re-read and may change container', async () => {
  cgroupDir(DOCKER);
  writePid({ pid: 100, comm: 'sh', exe: '/bin/sh', cgroup: hybrid('/') });
  const t = table({ recheckYoungMs: 10_000 });
  await t.scan();
  assert.equal(t.containerOfPid(100)?.containerId, '/host/sh');
  const reads = t.stats.pidsRead;

  // The shell moves itself to a container cgroup and execs the server, as a runtime does.
  rmSync(join(proc, '100'), { recursive: true });
  writePid({ pid: 100, comm: 'nginx', exe: '/usr/sbin/nginx', cgroup: hybrid(DOCKER) });
  now += 1_000;
  await t.scan();
  assert.equal(t.containerOfPid(100)?.containerId, `/docker/${H.slice(0, 12)}`);
  assert.equal(t.container('/host/sh')?.pids.size, 0);
  assert.equal(t.stats.pidsRead, reads + 1);

  now += 20_000;
  await t.scan();
  const settled = t.stats.pidsRead;
  await t.scan();
  assert.equal(t.stats.pidsRead, settled, 'an old known pid costs no reads');
});

test('lookupPid reads a pid the last scan did not see; refreshPid re-reads after exec', async () => {
  const t = table();
  await t.scan();
  assert.equal(t.get(400), undefined);
  writePid({ pid: 400, comm: 'redis-server', exe: '/usr/bin/redis-server', cgroup: '0::/\n' });
  assert.equal((await t.lookupPid(400))?.containerId, '/host/redis-server');
  assert.equal(t.containerOfPid(400)?.containerId, '/host/redis-server');
  assert.equal(await t.lookupPid(401), undefined, 'absent pid');

  rmSync(join(proc, '400', 'exe'));
  symlinkSync('/usr/bin/redis-check-aof', join(proc, '400', 'exe'));
  assert.equal((await t.refreshPid(400))?.containerId, '/host/redis-check-aof');
  assert.equal(t.container('/host/redis-server')?.pids.size, 0);
});

test('an entry read before the process joined its container\'s cgroup is stale for events from the new cgroup', async () => {
  const rootIno = statSync(join(cgroupfs, 'unified')).ino;
  const dockerIno = cgroupDir(DOCKER);
  // Forked by a shell on the host; a scan sees it before it joins the container and execs.
  writePid({ pid: 500, comm: 'sh', exe: '/usr/bin/sh', cgroup: '0::/\n' });
  const t = table();
  await t.scan();
  assert.equal(t.containerOfPid(500)?.containerId, '/host/sh');
  // Now in the container's cgroup; kernel events carry that cgroup's id.
  rmSync(join(proc, '500'), { recursive: true });
  writePid({ pid: 500, comm: 'node', exe: '/usr/bin/node', cgroup: hybrid(DOCKER) });
  assert.equal(t.isStale(500, dockerIno), true);
  assert.equal(t.containerOfPid(500, dockerIno), undefined, 'not the host entry for an event from the container');
  assert.equal(t.isStale(500, rootIno), false);
  assert.equal((await t.refreshPid(500))?.containerId, `/docker/${H.slice(0, 12)}`);
  assert.equal(t.isStale(500, dockerIno), false);
  assert.equal(t.containerOfPid(500, dockerIno)?.containerId, `/docker/${H.slice(0, 12)}`);
  assert.equal(t.isStale(500, 0), false, 'no cgroup id from the kernel: nothing to compare');
});

test('vanishing and unreadable processes are skipped; each problem is logged once', async () => {
  writePid({ pid: 500, comm: 'gone' }); // no cgroup file: it vanished between files
  writePid({ pid: 501, comm: 'odd' });
  mkdirSync(join(proc, '501', 'cgroup')); // EISDIR: a real problem
  writePid({ pid: 502, comm: 'odd' });
  mkdirSync(join(proc, '502', 'cgroup'));
  mkdirSync(join(proc, '503')); // empty dir: status missing
  writePid({ pid: 504, comm: 'ok', exe: '/usr/bin/ok', cgroup: '0::/\n' });
  const t = table();
  await t.scan();
  await t.scan();
  assert.equal(t.get(500), undefined);
  assert.equal(t.get(501), undefined);
  assert.equal(t.get(503), undefined);
  assert.equal(t.containerOfPid(504)?.containerId, '/host/ok');
  assert.equal(logs.filter((l) => l.includes('EISDIR')).length, 1, logs.join('\n'));
  assert.equal(logs.length, 1, logs.join('\n'));
});

test('pure v2 layout is detected; no v2 at all is logged once and still works', async () => {
  const pureRoot = join(root, 'pure');
  mkdirSync(join(pureRoot, 'lab', 'web'), { recursive: true });
  writeFileSync(join(pureRoot, 'cgroup.controllers'), 'cpu memory\n');
  writePid({ pid: 600, comm: 'sleep', exe: '/usr/bin/sleep', cgroup: '0::/lab/web\n' });
  const t = new ProcessTable({ procRoot: proc, cgroupfsRoot: pureRoot, metadata: { inspect: async () => undefined }, log: (m) => logs.push(m) });
  await t.scan();
  assert.equal(t.cgroupV2Root, pureRoot);
  assert.equal(t.get(600)?.cgroupId, statSync(join(pureRoot, 'lab', 'web')).ino);
  assert.equal(t.containerOfPid(600)?.containerId, '/host/sleep');

  const none = new ProcessTable({ procRoot: proc, cgroupfsRoot: join(root, 'nothing'), metadata: { inspect: async () => undefined }, log: (m) => logs.push(m) });
  await none.scan();
  await none.scan();
  assert.equal(none.get(600)?.cgroupId, undefined);
  assert.equal(none.containerOfPid(600)?.containerId, '/host/sleep');
  assert.equal(logs.filter((l) => l.includes('no cgroup v2')).length, 1);
});

test('a missing procRoot is one log line, not a throw', async () => {
  const t = new ProcessTable({ procRoot: join(root, 'no-proc'), cgroupfsRoot: cgroupfs, log: (m) => logs.push(m) });
  await t.scan();
  await t.scan();
  assert.deepEqual(t.containers(), []);
  assert.equal(logs.filter((l) => l.includes('cannot list')).length, 1);
});

test('status, stat and ns link parsers', () => {
  assert.deepEqual(parseStatus('Name:\tx\nPPid:\t42\nNSpid:\t19446\t3\n'), { ppid: 42, nsPids: [19446, 3] });
  assert.deepEqual(parseStatus('garbage'), { nsPids: [] });
  assert.equal(parseNsLink('net:[4026531840]'), 4026531840);
  assert.equal(parseNsLink('garbage'), undefined);
  const fields = ['S', '1', ...Array.from({ length: 17 }, () => '0'), '12345', '0'];
  assert.equal(parseStartTicks(`7 (a) b) c) ${fields.join(' ')}`), 12345);
  assert.equal(parseStartTicks('nonsense'), undefined);
  assert.equal(parseStartTicks('1 (x) S'), undefined);
});
