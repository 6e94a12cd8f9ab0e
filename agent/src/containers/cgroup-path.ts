// Parsing of /proc/<pid>/cgroup and the choice of the one path that identifies a process's
// container. Pure functions: callers do the reading.

/** One line of /proc/<pid>/cgroup. */
export interface CgroupEntry {
  /** Hierarchy id: 0 for the v2 unified hierarchy. */
  hierarchyId: number;
  /** Controllers of a v1 hierarchy (`cpu`, `cpuacct`, `name=systemd`); empty for v2. */
  controllers: string[];
  /** The path as the kernel printed it (may end in ` (deleted)`). */
  path: string;
}

export interface ParsedCgroupFile {
  entries: CgroupEntry[];
  /** Path in the v2 hierarchy (`0::` line), if the kernel printed one. */
  v2Path?: string;
  /** The path that identifies the container; undefined when the process sits only in root-like cgroups. */
  chosenPath?: string;
}

// The kernel limits a cgroup path to PATH_MAX; anything longer is not a real line.
const MAX_LINE = 8192;
const DELETED_SUFFIX = ' (deleted)';

/** Splits the text of /proc/<pid>/cgroup into entries; malformed lines are skipped. */
export function parseCgroupEntries(text: string): CgroupEntry[] {
  const out: CgroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.length > MAX_LINE) continue;
    // Paths may contain ':' (e.g. `...slice:cri-containerd:<id>`), so split on the first two only.
    const c1 = line.indexOf(':');
    if (c1 <= 0) continue;
    const c2 = line.indexOf(':', c1 + 1);
    if (c2 < 0) continue;
    const idText = line.slice(0, c1);
    if (!/^\d+$/.test(idText)) continue;
    const path = line.slice(c2 + 1);
    if (!path.startsWith('/')) continue;
    const controllersText = line.slice(c1 + 1, c2);
    out.push({
      hierarchyId: Number(idText),
      controllers: controllersText === '' ? [] : controllersText.split(','),
      path,
    });
  }
  return out;
}

/**
 * Normalises one path for the container choice: `(deleted)` and root-like paths give undefined,
 * and an LXC payload path is cut to the container's own cgroup, because processes inside an LXC
 * container create their own sub-cgroups under it.
 */
export function normaliseCgroupPath(path: string): string | undefined {
  if (path.endsWith(DELETED_SUFFIX)) return undefined;
  let p = path;
  if (p.length > 1 && p.endsWith('/')) p = p.replace(/\/+$/, '');
  if (p === '' || p === '/' || p === '/init.scope') return undefined;
  const lxc = /^\/lxc\.payload\.[^/]+/.exec(p);
  if (lxc) return lxc[0];
  return p;
}

function v1PathOf(entries: CgroupEntry[], controller: string): string | undefined {
  for (const e of entries) {
    if (e.hierarchyId !== 0 && e.controllers.includes(controller)) return normaliseCgroupPath(e.path);
  }
  return undefined;
}

/**
 * Picks the path that names the container, in this order:
 * a cpu or memory v1 path under /kubepods (kubelet's cgroupfs driver keeps pods there even on
 * hosts whose v2 tree holds something else); then the v2 path; then the cpu, memory and
 * name=systemd v1 paths.
 */
export function chooseCgroupPath(entries: CgroupEntry[]): string | undefined {
  const cpu = v1PathOf(entries, 'cpu');
  const memory = v1PathOf(entries, 'memory');
  for (const p of [cpu, memory]) {
    if (p !== undefined && p.startsWith('/kubepods')) return p;
  }
  const v2 = entries.find((e) => e.hierarchyId === 0 && e.controllers.length === 0);
  const v2Path = v2 ? normaliseCgroupPath(v2.path) : undefined;
  if (v2Path !== undefined) return v2Path;
  return cpu ?? memory ?? v1PathOf(entries, 'name=systemd');
}

/** Parses the whole file: entries, the raw v2 path and the chosen container path. */
export function parseCgroupFile(text: string): ParsedCgroupFile {
  const entries = parseCgroupEntries(text);
  const v2 = entries.find((e) => e.hierarchyId === 0 && e.controllers.length === 0);
  const result: ParsedCgroupFile = { entries };
  if (v2 && !v2.path.endsWith(DELETED_SUFFIX)) result.v2Path = v2.path;
  const chosen = chooseCgroupPath(entries);
  if (chosen !== undefined) result.chosenPath = chosen;
  return result;
}

/** Convenience: the chosen container path of a /proc/<pid>/cgroup text. */
export function pickCgroupPath(text: string): string | undefined {
  return chooseCgroupPath(parseCgroupEntries(text));
}
