import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCgroupEntries, parseCgroupFile, pickCgroupPath } from '../src/containers/cgroup-path.ts';
import { classifyCgroupPath, unescapeSystemdName, type CgroupClassification } from '../src/containers/container-id.ts';
import {
  appId, containerIdOf, hostProcessName, isIgnored, kubernetesContainerId, serviceName,
  type NamingOptions, type ProcessIdentity, type RuntimeMetadata,
} from '../src/containers/container-naming.ts';

const H = 'aaaae288b1c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c3727';
const H12 = H.slice(0, 12);
const UID = '3f1c2a9e-7b44-4d1e-9a51-0c2f8e6b1a01';
const UID_ = UID.replace(/-/g, '_');

/** The three shapes a /proc/<pid>/cgroup file can have for a process in cgroup `p`. */
function v1Only(p: string): string {
  return [`12:pids:${p}`, '11:cpuset:/', `10:memory:${p}`, '9:devices:/', `4:cpu,cpuacct:${p}`, `1:name=systemd:${p}`, ''].join('\n');
}
function v2Only(p: string): string {
  return `0::${p}\n`;
}
/** Like the lab guide's hybrid example: container path in v2 and the v1 hierarchies that were joined. */
function hybrid(p: string): string {
  return [
    `9:name=systemd:${p}`, `8:pids:${p}`, '7:blkio:/', '6:freezer:/', '5:devices:/', `4:memory:${p}`,
    '3:cpuset:/', `2:cpuacct:${p}`, `1:cpu:${p}`, `0::${p}`, '',
  ].join('\n');
}

interface Case {
  name: string;
  path: string;
  /** Expected chosen path when it differs from `path` (LXC cut). */
  chosen?: string;
  kind: CgroupClassification['kind'];
  expect?: Partial<CgroupClassification>;
  meta?: RuntimeMetadata;
  proc?: ProcessIdentity;
  opts?: NamingOptions;
  /** Expected container_id, undefined = ignored. */
  id: string | undefined;
}

const NOW = 29_400_000 * 60_000; // minutes-since-epoch 29400000, for the CronJob rule

const cases: Case[] = [
  { name: 'docker cgroupfs driver, no engine', path: `/docker/${H}`, kind: 'docker', expect: { runtimeId: H }, id: `/docker/${H12}` },
  { name: 'docker cgroupfs driver, named', path: `/docker/${H}`, kind: 'docker', meta: { name: '/web', image: 'nginx:1.25' }, id: '/docker/web' },
  { name: 'docker systemd driver', path: `/system.slice/docker-${H}.scope`, kind: 'docker', expect: { runtimeId: H }, meta: { name: '/redis' }, id: '/docker/redis' },
  { name: 'docker swarm task', path: `/docker/${H}`, kind: 'docker',
    meta: { name: '/mystack_web.1.x9', labels: { 'com.docker.swarm.task.name': 'mystack_web.1.x9', 'com.docker.swarm.service.name': 'mystack_web', 'com.docker.stack.namespace': 'mystack' } },
    id: '/swarm/mystack/web/1' },
  { name: 'docker nomad task', path: `/docker/${H}`, kind: 'docker',
    meta: { name: '/t', env: { NOMAD_ALLOC_ID: 'a1', NOMAD_GROUP_NAME: 'g', NOMAD_JOB_NAME: 'j', NOMAD_NAMESPACE: 'default', NOMAD_TASK_NAME: 't' } },
    id: '/nomad/default/j/g/a1/t' },
  {
    name: 'containerd, systemd driver, no CRI metadata',
    path: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${H}.scope`,
    kind: 'containerd', expect: { runtimeId: H, podUid: UID, qos: 'burstable' }, id: `/k8s/_/pod-${UID}/${H12}`,
  },
  {
    name: 'containerd, systemd driver, with k8s labels',
    path: `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${H}.scope`,
    kind: 'containerd', expect: { qos: 'besteffort' },
    meta: { labels: { 'io.kubernetes.pod.name': 'cart-7c5ddbdf54-x7k2m', 'io.kubernetes.pod.namespace': 'shop', 'io.kubernetes.container.name': 'app' } },
    id: '/k8s/shop/cart-7c5ddbdf54-x7k2m/app',
  },
  {
    name: 'containerd colon form under a systemd service (k3s style)',
    path: `/system.slice/containerd.service/kubepods-besteffort-pod${UID_}.slice:cri-containerd:${H}`,
    kind: 'containerd', expect: { runtimeId: H, podUid: UID }, id: `/k8s/_/pod-${UID}/${H12}`,
  },
  {
    name: 'kubepods cgroupfs driver (bare id is classified docker, as the reference does)',
    path: `/kubepods/besteffort/pod${UID}/${H}`, kind: 'docker', expect: { runtimeId: H, podUid: UID, qos: 'besteffort' },
    id: `/k8s/_/pod-${UID}/${H12}`,
  },
  {
    name: 'kubepods guaranteed pod, cgroupfs',
    path: `/kubepods/pod${UID}/${H}`, kind: 'docker', expect: { qos: 'guaranteed', podUid: UID }, id: `/k8s/_/pod-${UID}/${H12}`,
  },
  {
    name: 'kubepods CronJob pod',
    path: `/kubepods/burstable/pod${UID}/${H}`, kind: 'docker', opts: { nowMs: NOW },
    meta: { labels: { 'io.kubernetes.pod.name': 'backup-29400000-bcd2f', 'io.kubernetes.pod.namespace': 'ops', 'io.kubernetes.container.name': 'job' } },
    id: '/k8s-cronjob/ops/backup/job',
  },
  {
    name: 'cri-o',
    path: `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${H}.scope`,
    kind: 'crio', expect: { runtimeId: H, podUid: UID }, id: `/k8s/_/pod-${UID}/${H12}`,
  },
  {
    name: 'cri-o conmon is ignored',
    path: `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-conmon-${H}.scope`,
    kind: 'crio', expect: { ignoreReason: 'crio-conmon' }, id: undefined,
  },
  { name: 'pod sandbox without container id', path: `/kubepods/besteffort/pod${UID}`, kind: 'kubepods-sandbox', expect: { podUid: UID }, id: undefined },
  {
    name: 'pause container by CRI labels',
    path: `/kubepods/besteffort/pod${UID}/${H}`, kind: 'docker',
    meta: { labels: { 'io.kubernetes.pod.name': 'cart-7c5ddbdf54-x7k2m', 'io.kubernetes.pod.namespace': 'shop', 'io.kubernetes.container.name': 'POD' } },
    id: undefined,
  },
  { name: 'pause container by executable when metadata is missing', path: `/kubepods/besteffort/pod${UID}/${H}`, kind: 'docker', proc: { exe: '/pause', comm: 'pause' }, id: undefined },
  { name: 'systemd service', path: '/system.slice/nginx.service', kind: 'systemd', expect: { systemdUnit: 'nginx.service' }, id: '/system.slice/nginx.service' },
  { name: 'systemd service with \\x2d', path: '/system.slice/my\\x2dapp.service', kind: 'systemd', expect: { systemdUnit: 'my\\x2dapp.service' }, id: '/system.slice/my-app.service' },
  {
    name: 'systemd template slice',
    path: '/system.slice/system-postgresql.slice/postgresql@9.4-main.service', kind: 'systemd',
    expect: { systemdUnit: 'postgresql@9.4-main.service', serviceId: '/system.slice/system-postgresql.slice' },
    id: '/system.slice/system-postgresql.slice',
  },
  { name: 'systemd system service skipped by name', path: '/system.slice/systemd-journald.service', kind: 'systemd', id: undefined },
  { name: 'systemd system service kept when the filter is off', path: '/system.slice/systemd-journald.service', kind: 'systemd', opts: { skipSystemdSystemServices: false }, id: '/system.slice/systemd-journald.service' },
  { name: 'transient scope under system.slice', path: '/system.slice/run-u12.scope', kind: 'standalone', expect: { ignoreReason: 'transient-scope' }, id: undefined },
  { name: 'talos init', path: '/init', kind: 'talos', id: '/talos/init' },
  { name: 'talos system service', path: '/system/apid', kind: 'talos', id: '/talos/apid' },
  { name: 'talos podruntime service', path: '/podruntime/kubelet', kind: 'talos', id: '/talos/kubelet' },
  { name: 'lxc (not tracked by default)', path: '/lxc/web', kind: 'lxc', expect: { serviceId: '/lxc/web' }, id: undefined },
  { name: 'lxc tracked on request', path: '/lxc/web', kind: 'lxc', opts: { trackLxc: true }, id: '/lxc/web' },
  { name: 'lxc payload path is cut', path: '/lxc.payload.web/system.slice/nginx.service', chosen: '/lxc.payload.web', kind: 'lxc', opts: { trackLxc: true }, id: '/lxc/web' },
  { name: 'user.slice is ignored', path: '/user.slice/user-1000.slice/session-2.scope', kind: 'standalone', expect: { ignoreReason: 'session' }, id: undefined },
  { name: 'plain host process', path: '/', chosen: undefined, kind: 'standalone', proc: { exe: '/usr/sbin/nginx', comm: 'nginx' }, id: '/host/nginx' },
  { name: 'plain host process, deleted exe', path: '/', chosen: undefined, kind: 'standalone', proc: { exe: '/opt/app/server (deleted)', comm: 'server' }, id: '/host/server' },
  { name: 'plain host process without exe', path: '/', chosen: undefined, kind: 'standalone', proc: { comm: 'redis-server' }, id: '/host/redis-server' },
  { name: 'process in init.scope counts as host', path: '/init.scope', chosen: undefined, kind: 'standalone', proc: { exe: '/usr/lib/systemd/systemd' }, id: '/host/systemd' },
  { name: 'single-segment cgroup groups as host', path: '/lab', kind: 'standalone', proc: { exe: '/usr/bin/sleep' }, id: '/host/sleep' },
  { name: 'unknown runtime groups as host', path: `/machine.slice/libpod-${H}.scope`, kind: 'unknown', proc: { exe: '/usr/bin/python3.11' }, id: '/host/python3.11' },
];

for (const c of cases) {
  for (const [shape, make] of [['v1-only', v1Only], ['v2-only', v2Only], ['hybrid', hybrid]] as const) {
    test(`${c.name} [${shape}]`, () => {
      const text = make(c.path);
      const expectedChosen = 'chosen' in c ? c.chosen : c.path;
      assert.equal(pickCgroupPath(text), expectedChosen);
      const cls = classifyCgroupPath(pickCgroupPath(text));
      assert.equal(cls.kind, c.kind);
      for (const [k, v] of Object.entries(c.expect ?? {})) assert.equal(cls[k as keyof CgroupClassification], v, k);
      const proc = c.proc ?? { exe: '/usr/bin/true', comm: 'true' };
      assert.equal(containerIdOf(cls, c.meta, proc, c.opts), c.id);
      assert.equal(isIgnored(cls, c.meta, proc, c.opts), c.id === undefined);
    });
  }
}

test('hybrid: a v1 cpu or memory path under /kubepods wins over the v2 path', () => {
  const p = `/kubepods/besteffort/pod${UID}/${H}`;
  const text = [`4:memory:${p}`, '1:cpu:/', '0::/system.slice/kubelet.service', ''].join('\n');
  assert.equal(pickCgroupPath(text), p);
});

test('v2 path wins over non-kubepods v1 paths; root v2 falls back to cpu, memory, name=systemd', () => {
  assert.equal(pickCgroupPath(['1:cpu:/a', '0::/b', ''].join('\n')), '/b');
  assert.equal(pickCgroupPath(['1:cpu:/', '4:memory:/m', '9:name=systemd:/s', '0::/', ''].join('\n')), '/m');
  assert.equal(pickCgroupPath(['1:cpu:/', '4:memory:/', '9:name=systemd:/s', '0::/', ''].join('\n')), '/s');
  assert.equal(pickCgroupPath(['1:cpu:/c', '4:memory:/m', ''].join('\n')), '/c');
});

test('(deleted) paths are ignored and the next candidate is used', () => {
  const text = [`1:cpu:/docker/${H}`, `0::/system.slice/gone.service (deleted)`, ''].join('\n');
  assert.equal(pickCgroupPath(text), `/docker/${H}`);
  const parsed = parseCgroupFile(text);
  assert.equal(parsed.v2Path, undefined);
  assert.equal(parsed.entries.length, 2);
});

test('paths containing colons survive parsing', () => {
  const p = `/system.slice/containerd.service/kubepods-pod${UID_}.slice:cri-containerd:${H}`;
  const [e] = parseCgroupEntries(`0::${p}\n`);
  assert.equal(e?.path, p);
  assert.deepEqual(e?.controllers, []);
  const [v1] = parseCgroupEntries(`4:cpu,cpuacct:${p}\n`);
  assert.deepEqual(v1?.controllers, ['cpu', 'cpuacct']);
});

test('systemd unescaping only touches printable \\xHH', () => {
  assert.equal(unescapeSystemdName('a\\x2db\\x2dc.service'), 'a-b-c.service');
  assert.equal(unescapeSystemdName('a\\x0ab'), 'a\\x0ab');
});

test('appId strips Deployment, DaemonSet and StatefulSet pod suffixes and the container', () => {
  assert.equal(appId('/k8s/shop/cart-7c5ddbdf54-x7k2m/app'), '/k8s/shop/cart');
  assert.equal(appId('/k8s/shop/cart-api-5d4f8-ab12c/app'), '/k8s/shop/cart-api');
  assert.equal(appId('/k8s/kube-system/fluentd-x7k2m/fluentd'), '/k8s/kube-system/fluentd');
  assert.equal(appId('/k8s/db/postgres-0/postgres'), '/k8s/db/postgres');
  assert.equal(appId('/k8s/db/postgres-12/exporter'), '/k8s/db/postgres');
  // Bare pods, non-k8s ids, CronJob ids (reference quirk) and our UID fallback keep their id.
  assert.equal(appId('/k8s/default/mypod/c'), undefined);
  assert.equal(serviceName('/k8s/default/mypod/c'), '/k8s/default/mypod/c');
  assert.equal(appId('/docker/web'), undefined);
  assert.equal(appId('/k8s-cronjob/ops/backup/job'), undefined);
  assert.equal(appId(`/k8s/_/pod-${UID}/${H12}`), undefined);
  assert.equal(appId('/host/nginx'), undefined);
});

test('CronJob form only within ±7 days of the schedule time', () => {
  assert.equal(kubernetesContainerId('ops', 'backup-29400000-bcd2f', 'job', NOW), '/k8s-cronjob/ops/backup/job');
  assert.equal(kubernetesContainerId('ops', 'backup-29400000-bcd2f', 'job', NOW + 6 * 86_400_000), '/k8s-cronjob/ops/backup/job');
  assert.equal(kubernetesContainerId('ops', 'backup-29400000-bcd2f', 'job', NOW + 8 * 86_400_000), '/k8s/ops/backup-29400000-bcd2f/job');
  // Vowels are not in Kubernetes' suffix alphabet.
  assert.equal(kubernetesContainerId('ops', 'backup-29400000-abcde', 'job', NOW), '/k8s/ops/backup-29400000-abcde/job');
});

test('host process names are one bounded path segment', () => {
  assert.equal(hostProcessName({ exe: '/usr/sbin/nginx' }), 'nginx');
  assert.equal(hostProcessName({ exe: '/memfd:sealed-91abc (deleted)', comm: 'memfd:sealed-9' }), 'memfd:sealed-9');
  assert.equal(hostProcessName({ comm: 'a/b\n' }), 'a_b');
  assert.equal(hostProcessName({ comm: 'x'.repeat(500) })?.length, 64);
  assert.equal(hostProcessName({}), undefined);
  assert.equal(hostProcessName({ exe: '/', comm: '' }), undefined);
  const cls = classifyCgroupPath(undefined);
  assert.equal(containerIdOf(cls, undefined, {}), undefined);
});

test('hostile input never throws', () => {
  const long = `/docker/${'a'.repeat(200_000)}`;
  const inputs = [
    '', '\n\n\n', 'garbage', ':::', '0:', '0::', '::/x', 'x:cpu:/docker/1', '-1:cpu:/a', '4:memory', '4:memory:relative/path',
    `0::${long}`, `4:cpu:${long}\n0::/`, '\u0000\u0001\u0002', `0::/kubepods/${'pod'.repeat(10_000)}`,
    `0::/kubepods.slice/${H}${H}`, '0::/system.slice/', '0::/system.slice//x', '0::/lxc.payload.', '0::/lxc/',
    '0::/system/', '0::/init/', '0:name=systemd:/x', `0::${'/'.repeat(5000)}`,
  ];
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const alphabet = '0123456789abcdef:/-_.\\x\n kubepodsdockercrio-scope';
  for (let i = 0; i < 2000; i++) {
    let s = '';
    const n = Math.floor(rnd() * 200);
    for (let j = 0; j < n; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    inputs.push(s);
  }
  for (const text of inputs) {
    const parsed = parseCgroupFile(text);
    const cls = classifyCgroupPath(parsed.chosenPath);
    containerIdOf(cls, undefined, { comm: 'x' });
    containerIdOf(cls, { name: '', labels: {} }, undefined);
    assert.ok(typeof cls.kind === 'string');
    if (cls.runtimeId !== undefined) assert.match(cls.runtimeId, /^[0-9a-f]{64}$/);
  }
  assert.equal(pickCgroupPath(''), undefined);
  assert.equal(pickCgroupPath(`4:cpu:${long}`), undefined, 'lines longer than PATH_MAX are not real lines');
  // A docker id longer than 64 hex is not an id.
  assert.notEqual(classifyCgroupPath(`/docker/${H}0`).kind, 'docker');
});
