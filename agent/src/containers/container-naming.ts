// The `container_id` label and the service id (`app_id`) derived from a cgroup classification,
// optional runtime metadata and, for processes outside containers, the executable name.
//
// Where the reference agent drops a container because runtime metadata is missing, we keep it
// under an id that is still stable (derived from the runtime id, which lives as long as the
// container) and readable, because hosts without a reachable runtime API (like our lab machines,
// which have neither a Docker engine nor a containerd socket) should still get a useful map:
//   - docker without a name            → /docker/<first 12 hex of the id>   (the `docker ps` short id)
//   - a kubepods container without CRI → /k8s/_/pod-<pod uid>/<first 12 hex>
//     metadata                            (`_` cannot be a namespace name, so it never collides)
//   - a cri-o/containerd container outside kubepods without metadata → /<runtime>/<first 12 hex>
//   - any process whose executable is `pause`, when no metadata says otherwise, is a pod sandbox
//     and is ignored, like the reference agent ignores the POD container.
// Processes outside any container cgroup (and in cgroups of no known runtime) are grouped per
// executable as /host/<basename of exe, else comm>, so that an nginx master and its workers form
// one application `/host/nginx`.

import type { CgroupClassification } from './container-id.ts';

export interface RuntimeMetadata {
  /** Container name as the runtime reports it; Docker prefixes it with '/'. */
  name?: string;
  labels?: Record<string, string>;
  image?: string;
  /** Environment of the container (used for Nomad ids). */
  env?: Record<string, string>;
}

export interface ProcessIdentity {
  /** Target of /proc/<pid>/exe. */
  exe?: string;
  /** Contents of /proc/<pid>/comm. */
  comm?: string;
}

export interface NamingOptions {
  /** Clock for the CronJob rule; defaults to Date.now(). */
  nowMs?: number;
  /** Report LXC containers as /lxc/<name> (the reference agent does not track them). Default false. */
  trackLxc?: boolean;
  /** Skip well-known systemd system services by name, as the reference agent does by default. Default true. */
  skipSystemdSystemServices?: boolean;
}

const K8S_POD_NAME = 'io.kubernetes.pod.name';
const K8S_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
const K8S_CONTAINER_NAME = 'io.kubernetes.container.name';
const SWARM_TASK_NAME = 'com.docker.swarm.task.name';
const SWARM_SERVICE_NAME = 'com.docker.swarm.service.name';
const STACK_NAMESPACE = 'com.docker.stack.namespace';

// Kubernetes' name suffix alphabet (no vowels, no confusable digits).
const CRONJOB_POD = /^(.+)-(\d{8})-[bcdfghjklmnpqrstvwxz2456789]{5}$/;
const CRONJOB_WINDOW_MIN = 7 * 24 * 60;

const SYSTEM_SERVICE_PREFIXES = [
  'systemd-', 'dbus', 'getty', 'system-serial', 'system-getty', 'serial-getty', 'snapd', 'packagekit',
  'unattended-upgrades', 'multipathd', 'qemu-guest-agent', 'irqbalance', 'networkd-dispatcher', 'rpcbind',
];

const MAX_HOST_NAME = 64;

/** `/k8s/<ns>/<pod>/<container>`, or the CronJob form when the pod name carries a recent schedule time. */
export function kubernetesContainerId(namespace: string, pod: string, container: string, nowMs = Date.now()): string {
  const cron = CRONJOB_POD.exec(pod);
  if (cron) {
    const scheduledMin = Number(cron[2]);
    const nowMin = Math.floor(nowMs / 60_000);
    if (Math.abs(nowMin - scheduledMin) <= CRONJOB_WINDOW_MIN) {
      return `/k8s-cronjob/${namespace}/${cron[1]}/${container}`;
    }
  }
  return `/k8s/${namespace}/${pod}/${container}`;
}

function swarmContainerId(labels: Record<string, string>): string | undefined {
  const task = labels[SWARM_TASK_NAME];
  if (!task) return undefined;
  const namespace = labels[STACK_NAMESPACE] || '_';
  let service = labels[SWARM_SERVICE_NAME] || (task.split('.')[0] ?? '');
  // Task names are `<service>.<slot>.<task id>`.
  const rest = task.startsWith(`${service}.`) ? task.slice(service.length + 1) : task.split('.').slice(1).join('.');
  const slot = rest.split('.')[0] ?? '';
  if (namespace !== '_' && service.startsWith(`${namespace}_`)) service = service.slice(namespace.length + 1);
  if (!service || !slot) return undefined;
  return `/swarm/${namespace}/${service}/${slot}`;
}

function nomadContainerId(env: Record<string, string>): string | undefined {
  const alloc = env.NOMAD_ALLOC_ID;
  const group = env.NOMAD_GROUP_NAME;
  const job = env.NOMAD_JOB_NAME;
  const ns = env.NOMAD_NAMESPACE;
  const task = env.NOMAD_TASK_NAME;
  if (!alloc || !group || !job || !ns || !task) return undefined;
  return `/nomad/${ns}/${job}/${group}/${alloc}/${task}`;
}

function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i >= 0 ? path.slice(i + 1) : path;
}

/** The name a host process is grouped by: basename of its executable, else its comm. */
export function hostProcessName(proc: ProcessIdentity | undefined): string | undefined {
  const candidates: string[] = [];
  // A memfd executable's name carries a per-run suffix; comm is the stabler name then.
  if (proc?.exe && !proc.exe.startsWith('/memfd:')) candidates.push(basename(proc.exe.replace(/ \(deleted\)$/, '')));
  if (proc?.comm) candidates.push(proc.comm);
  for (const raw of candidates) {
    // Names end up in a path-like label: keep them one segment, printable and bounded.
    // eslint-disable-next-line no-control-regex
    const name = raw.trim().replace(/[\x00-\x1f\x7f]/g, '').replace(/\//g, '_').slice(0, MAX_HOST_NAME);
    if (name.length > 0 && name !== '.' && name !== '..') return name;
  }
  return undefined;
}

function isPauseProcess(proc: ProcessIdentity | undefined): boolean {
  const name = hostProcessName(proc);
  return name === 'pause';
}

/** True when a systemd service id names one of the system services the reference agent skips. */
export function isSystemdSystemService(serviceId: string): boolean {
  const unit = basename(serviceId);
  return SYSTEM_SERVICE_PREFIXES.some((p) => unit.startsWith(p));
}

function runtimeContainerId(
  c: CgroupClassification,
  meta: RuntimeMetadata | undefined,
  proc: ProcessIdentity | undefined,
  nowMs: number,
): string | undefined {
  const labels = meta?.labels ?? {};
  const pod = labels[K8S_POD_NAME];
  const namespace = labels[K8S_POD_NAMESPACE];
  if (pod && namespace) {
    const container = labels[K8S_CONTAINER_NAME] ?? '';
    if (container === '' || container === 'POD') return undefined; // pause container
    return kubernetesContainerId(namespace, pod, container, nowMs);
  }
  const swarm = swarmContainerId(labels);
  if (swarm) return swarm;
  const nomad = meta?.env ? nomadContainerId(meta.env) : undefined;
  if (nomad) return nomad;
  const name = (meta?.name ?? '').replace(/^\/+/, '');
  if (c.kind === 'docker' && name !== '') return `/docker/${name}`;

  // Fallbacks (see the file comment).
  if (isPauseProcess(proc)) return undefined;
  const short = (c.runtimeId ?? '').slice(0, 12);
  if (short === '') return undefined;
  if (c.podUid !== undefined) return `/k8s/_/pod-${c.podUid}/${short}`;
  return `/${c.kind}/${short}`;
}

/**
 * The `container_id` label for a process, or undefined when the process must not be reported
 * (pause/sandbox, sessions, transient scopes, conmon, untracked LXC, skipped system services,
 * kernel-thread-like processes without any name).
 */
export function containerIdOf(
  c: CgroupClassification,
  meta?: RuntimeMetadata,
  proc?: ProcessIdentity,
  opts: NamingOptions = {},
): string | undefined {
  if (c.kind === 'lxc') return opts.trackLxc && c.serviceId ? c.serviceId : undefined;
  if (c.ignoreReason !== undefined) return undefined;
  switch (c.kind) {
    case 'docker':
    case 'containerd':
    case 'crio':
      return runtimeContainerId(c, meta, proc, opts.nowMs ?? Date.now());
    case 'kubepods-sandbox':
      return undefined;
    case 'systemd': {
      if (!c.serviceId) return undefined;
      if ((opts.skipSystemdSystemServices ?? true) && isSystemdSystemService(c.serviceId)) return undefined;
      return c.serviceId;
    }
    case 'talos':
      return c.serviceId;
    case 'standalone':
    case 'unknown': {
      const name = hostProcessName(proc);
      return name === undefined ? undefined : `/host/${name}`;
    }
  }
  return undefined;
}

/** True when the process is recognised but must not be reported (see containerIdOf). */
export function isIgnored(
  c: CgroupClassification,
  meta?: RuntimeMetadata,
  proc?: ProcessIdentity,
  opts: NamingOptions = {},
): boolean {
  return containerIdOf(c, meta, proc, opts) === undefined;
}

const DEPLOYMENT_POD = /^\/k8s\/([^/]+\/[^/]+)-[0-9a-f]{1,10}-[a-z0-9]{5}\/[^/]+$/;
const DAEMONSET_POD = /^\/k8s\/([^/]+\/[^/]+)-[a-z0-9]{5}\/[^/]+$/;
const STATEFULSET_POD = /^\/k8s\/([^/]+\/[^/]+)-\d+\/[^/]+$/;

/**
 * The service name (OTel `service.name`) of a container id: for /k8s/ ids of Deployment,
 * DaemonSet and StatefulSet pods the pod suffix and the container name are dropped
 * (`/k8s/shop/cart-7c5ddbdf54-x7k2m/app` → `/k8s/shop/cart`); every other id is its own service.
 * Like the reference agent, /k8s-cronjob/ ids are returned unchanged.
 */
export function serviceName(containerId: string): string {
  // `/k8s/_/` ids are our metadata-less fallback: their pod part is a UID, not a workload name.
  if (!containerId.startsWith('/k8s/') || containerId.startsWith('/k8s/_/')) return containerId;
  for (const re of [DEPLOYMENT_POD, DAEMONSET_POD, STATEFULSET_POD]) {
    const m = re.exec(containerId);
    if (m) return `/k8s/${m[1]}`;
  }
  return containerId;
}

/** The `app_id` label: the service name when it differs from the container id, else absent. */
export function appId(containerId: string): string | undefined {
  const s = serviceName(containerId);
  return s === containerId ? undefined : s;
}
