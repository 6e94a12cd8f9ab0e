// Classification of a chosen cgroup path (see cgroup-path.ts) into the runtime that created it.
// Pure: no I/O. Naming, which may need runtime metadata, is in container-naming.ts.

export type ContainerKind =
  | 'docker'
  | 'containerd'
  | 'crio'
  | 'kubepods-sandbox'
  | 'systemd'
  | 'talos'
  | 'lxc'
  | 'standalone'
  | 'unknown';

/**
 * Why a cgroup is not reported as a container even though it was recognised.
 * - `session`: user.slice / init.scope / systemd trees (logins, the init process)
 * - `transient-scope`: `*.scope` units directly under a system slice (run-scopes, sessions)
 * - `crio-conmon`: CRI-O's per-container monitor process
 * - `sandbox`: a pod-level cgroup without container id (pause / gVisor sandbox)
 * - `lxc-untracked`: LXC containers, which the reference agent does not report
 */
export type IgnoreReason = 'session' | 'transient-scope' | 'crio-conmon' | 'sandbox' | 'lxc-untracked';

export interface CgroupClassification {
  kind: ContainerKind;
  /** The classified path, `/` when the process is in no container cgroup at all. */
  path: string;
  /** 64-hex container id of docker / containerd / cri-o. */
  runtimeId?: string;
  /** Kubernetes pod UID with dashes restored. */
  podUid?: string;
  /** Kubernetes QoS class: besteffort, burstable or guaranteed. */
  qos?: string;
  /** systemd unit to ask D-Bus about: the first `.service` element, else the last element (escaped as systemd spells it). */
  systemdUnit?: string;
  /** Runtime-side id for systemd (`/system.slice/nginx.service`), talos (`/talos/x`) and lxc (`/lxc/x`). */
  serviceId?: string;
  /** Set when the cgroup is recognised but must not be reported. */
  ignoreReason?: IgnoreReason;
}

const SESSION_ROOTS = new Set(['user.slice', 'init.scope', 'systemd']);
const SYSTEM_SLICES = new Set([
  'system.slice', 'runtime.slice', 'reserved.slice', 'kube.slice', 'azure.slice', 'podruntime.slice',
]);
const TALOS_ROOTS = new Set(['system', 'podruntime']);

const HEX64 = /(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/g;
const DOCKER_CGROUPFS = /^\/docker\/([0-9a-f]{64})(?:\/|$)/;
const DOCKER_SYSTEMD = /^\/system\.slice\/docker-([0-9a-f]{64})\.scope(?:\/|$)/;
const CRIO_CONMON = /crio-conmon-([0-9a-f]{64})/;
const CRIO = /crio-([0-9a-f]{64})/;
const CRI_CONTAINERD = /cri-containerd[-:]([0-9a-f]{64})/;
// kubelet writes the pod UID with '_' instead of '-' under the systemd driver.
const POD_UID = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?![0-9a-f])/;
const QOS = /kubepods[-/](besteffort|burstable)(?:\.slice|\/|-|$)/;

/** Undoes systemd's `\xHH` escaping of printable ASCII (systemd writes `-` in names as `\x2d`). */
export function unescapeSystemdName(name: string): string {
  return name.replace(/\\x([0-9a-fA-F]{2})/g, (whole, hex: string) => {
    const code = parseInt(hex, 16);
    return code >= 0x20 && code < 0x7f ? String.fromCharCode(code) : whole;
  });
}

function lastHex64(path: string): string | undefined {
  let last: string | undefined;
  for (const m of path.matchAll(HEX64)) last = m[0];
  return last;
}

function classifyKubepods(path: string): CgroupClassification {
  const c: CgroupClassification = { kind: 'unknown', path };
  const uid = POD_UID.exec(path);
  if (uid) c.podUid = uid[1]!.replace(/_/g, '-');
  const qos = QOS.exec(path);
  if (qos) c.qos = qos[1];
  else if (c.podUid !== undefined) c.qos = 'guaranteed';

  const conmon = CRIO_CONMON.exec(path);
  if (conmon) return { ...c, kind: 'crio', runtimeId: conmon[1], ignoreReason: 'crio-conmon' };
  const crio = CRIO.exec(path);
  if (crio) return { ...c, kind: 'crio', runtimeId: crio[1] };
  const containerd = CRI_CONTAINERD.exec(path);
  if (containerd) return { ...c, kind: 'containerd', runtimeId: containerd[1] };
  // A bare id (cgroupfs driver, or `docker-<id>.scope` under dockershim) is treated as docker, as the
  // reference agent does; metadata lookup later tries the runtimes in turn anyway.
  const id = lastHex64(path);
  if (id !== undefined) return { ...c, kind: 'docker', runtimeId: id };
  return { ...c, kind: 'kubepods-sandbox', ignoreReason: 'sandbox' };
}

function classifySystemSlice(path: string, parts: string[]): CgroupClassification {
  const slice = parts[0]!;
  const child = parts[1]!;
  if (child.endsWith('.scope')) return { kind: 'standalone', path, ignoreReason: 'transient-scope' };
  const unit = parts.slice(1).find((p) => p.endsWith('.service')) ?? parts[parts.length - 1]!;
  return {
    kind: 'systemd',
    path,
    systemdUnit: unit,
    serviceId: `/${slice}/${unescapeSystemdName(child)}`,
  };
}

/** Classifies a chosen cgroup path. `undefined`, `''` and `/` mean "no container cgroup" (standalone). */
export function classifyCgroupPath(path: string | undefined): CgroupClassification {
  if (path === undefined || path === '' || path === '/') return { kind: 'standalone', path: '/' };
  const parts = path.split('/').filter((p) => p.length > 0);
  if (parts.length === 0) return { kind: 'standalone', path: '/' };

  if (path === '/init') return { kind: 'talos', path, serviceId: '/talos/init' };
  if (SESSION_ROOTS.has(parts[0]!)) return { kind: 'standalone', path, ignoreReason: 'session' };

  const docker = DOCKER_CGROUPFS.exec(path) ?? DOCKER_SYSTEMD.exec(path);
  if (docker) return { kind: 'docker', path, runtimeId: docker[1] };

  if (path.includes('kubepods')) return classifyKubepods(path);

  if (TALOS_ROOTS.has(parts[0]!) && parts.length >= 2) {
    return { kind: 'talos', path, serviceId: `/talos/${parts[1]}` };
  }

  if (parts[0] === 'lxc' && parts.length >= 2) {
    return { kind: 'lxc', path, serviceId: `/lxc/${parts[1]}`, ignoreReason: 'lxc-untracked' };
  }
  if (parts[0]!.startsWith('lxc.payload.') && parts[0]!.length > 'lxc.payload.'.length) {
    return { kind: 'lxc', path, serviceId: `/lxc/${parts[0]!.slice('lxc.payload.'.length)}`, ignoreReason: 'lxc-untracked' };
  }

  if (parts.length === 1) return { kind: 'standalone', path };
  if (SYSTEM_SLICES.has(parts[0]!)) return classifySystemSlice(path, parts);
  return { kind: 'unknown', path };
}
