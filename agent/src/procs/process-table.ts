// The table of live processes and the containers they belong to, built by scanning /proc.
// New pids are read fully once; known pids only have to appear in the /proc listing again.
// Pids seen very recently are read again on the next scans, because a fresh process usually
// execs and/or moves to its final cgroup right after fork.

import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { parseCgroupFile } from '../containers/cgroup-path.ts';
import { classifyCgroupPath, type CgroupClassification } from '../containers/container-id.ts';
import { appId, containerIdOf, type NamingOptions, type RuntimeMetadata } from '../containers/container-naming.ts';
import { DEFAULT_DOCKER_SOCKETS, DockerMetadataClient } from '../containers/docker-metadata.ts';
import { ProblemLog } from './problem-log.ts';

export interface ContainerRef {
  containerId: string;
  appId?: string;
  kind: string;
  image?: string;
  pids: Set<number>;
  netns: Set<number>;
  cgroupIds: Set<number>;
  /** Earliest start time of any process seen in the container (wall clock, ms). */
  startedAtMs: number;
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Pid in each nested pid namespace, outermost first (NSpid in /proc/<pid>/status). */
  nsPids: number[];
  comm: string;
  exe?: string;
  /** Chosen container cgroup path (undefined: only root-like cgroups). */
  cgroupPath?: string;
  /** Path in the v2 hierarchy. */
  v2Path?: string;
  /** Inode of the v2 cgroup directory = bpf_get_current_cgroup_id(). */
  cgroupId?: number;
  /** Inode of the network namespace. */
  netns?: number;
  startedAtMs?: number;
  classification: CgroupClassification;
  /** undefined when the process is not reported (pause, sessions, …). */
  containerId?: string;
}

/** Anything that can answer Docker's ContainerInspect; DockerMetadataClient by default. */
export interface ContainerMetadataSource {
  inspect(runtimeId: string): Promise<RuntimeMetadata | undefined>;
}

export interface ProcessTableOptions {
  procRoot?: string;
  cgroupfsRoot?: string;
  /** A single Docker socket to use instead of the default candidates. */
  dockerSocket?: string;
  /** Replaces the Docker client (tests, other runtimes). */
  metadata?: ContainerMetadataSource;
  /** How long a container without processes is kept. */
  emptyGraceMs?: number;
  /** Pids first seen less than this long ago are read again on later scans. */
  recheckYoungMs?: number;
  naming?: NamingOptions;
  log?: (message: string) => void;
  now?: () => number;
}

interface ContainerState extends ContainerRef {
  emptySinceMs?: number;
}

interface KnownPid {
  info?: ProcessInfo; // undefined: kernel thread or unreadable, never reported
  firstSeenMs: number;
}

type V2Layout = { root: string } | { root: undefined };

const READ_BATCH = 64;
// USER_HZ is 100 on every Linux architecture we target; /proc/<pid>/stat counts in it.
const CLOCK_TICKS_PER_SEC = 100;

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? 'EUNKNOWN';
}

/** ENOENT/ESRCH mean the process (or cgroup) went away while we looked: normal, not a problem. */
function isGone(err: unknown): boolean {
  const code = errnoOf(err);
  return code === 'ENOENT' || code === 'ESRCH';
}

class ProcessGone extends Error {}
/** A pid whose status or cgroup file cannot be read for another reason: remembered and skipped. */
class ProcessUnreadable extends Error {}

export function parseStatus(text: string): { ppid?: number; nsPids: number[] } {
  let ppid: number | undefined;
  let nsPids: number[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('PPid:')) {
      const n = Number(line.slice(5).trim());
      if (Number.isInteger(n)) ppid = n;
    } else if (line.startsWith('NSpid:')) {
      nsPids = line.slice(6).trim().split(/\s+/).map(Number).filter((n) => Number.isInteger(n) && n > 0);
    }
  }
  const out: { ppid?: number; nsPids: number[] } = { nsPids };
  if (ppid !== undefined) out.ppid = ppid;
  return out;
}

/** `net:[4026531840]` → 4026531840. */
export function parseNsLink(link: string): number | undefined {
  const m = /^[a-z_]+:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : undefined;
}

/** Field 22 (starttime, clock ticks after boot) of /proc/<pid>/stat; comm may hold spaces and ')'. */
export function parseStartTicks(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 is fields[19].
  const v = Number(fields[19]);
  return Number.isFinite(v) ? v : undefined;
}

export class ProcessTable {
  private readonly procRoot: string;
  private readonly cgroupfsRoot: string;
  private readonly metadata: ContainerMetadataSource;
  private readonly emptyGraceMs: number;
  private readonly recheckYoungMs: number;
  private readonly naming: NamingOptions;
  private readonly now: () => number;
  private readonly problems: ProblemLog;

  private readonly known = new Map<number, KnownPid>();
  private readonly byId = new Map<string, ContainerState>();
  private cgroupIndex = new Map<number, Set<string>>();
  private v2: V2Layout | undefined;
  private v2RootIno: number | undefined;
  private bootTimeMs: number | undefined;
  private cgroupInoCache = new Map<string, number | undefined>();
  private readByLastScan: ProcessInfo[] = [];

  readonly stats = { scans: 0, pidsRead: 0, pidsVanished: 0, containersDropped: 0 };

  constructor(opts: ProcessTableOptions = {}) {
    this.procRoot = (opts.procRoot ?? '/proc').replace(/\/+$/, '');
    this.cgroupfsRoot = (opts.cgroupfsRoot ?? '/sys/fs/cgroup').replace(/\/+$/, '');
    this.emptyGraceMs = opts.emptyGraceMs ?? 120_000;
    this.recheckYoungMs = opts.recheckYoungMs ?? 5_000;
    this.naming = opts.naming ?? {};
    this.now = opts.now ?? Date.now;
    this.problems = new ProblemLog(opts.log);
    this.metadata = opts.metadata ?? new DockerMetadataClient({
      socketPaths: opts.dockerSocket ? [opts.dockerSocket] : DEFAULT_DOCKER_SOCKETS,
      onProblem: (key, message) => this.problems.report(`docker:${key}`, `docker metadata: ${message}`),
    });
  }

  /** Lists /proc, reads new pids, forgets dead ones and drops containers empty for longer than the grace period. */
  async scan(): Promise<void> {
    this.stats.scans++;
    this.cgroupInoCache = new Map();
    await this.detectLayout();
    let names: string[];
    try {
      names = await readdir(this.procRoot);
    } catch (err) {
      this.problems.report(`readdir:${errnoOf(err)}`, `cannot list ${this.procRoot} (${errnoOf(err)}); no processes will be discovered`);
      return;
    }
    const now = this.now();
    const alive = new Set<number>();
    const toRead: number[] = [];
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      alive.add(pid);
      const k = this.known.get(pid);
      if (k === undefined || (k.info !== undefined && now - k.firstSeenMs < this.recheckYoungMs)) toRead.push(pid);
    }

    const touched = new Set<ContainerState>();
    for (const [pid, k] of this.known) {
      if (alive.has(pid)) continue;
      this.known.delete(pid);
      const c = k.info?.containerId !== undefined ? this.byId.get(k.info.containerId) : undefined;
      if (c) {
        c.pids.delete(pid);
        touched.add(c);
      }
    }

    for (let i = 0; i < toRead.length; i += READ_BATCH) {
      await Promise.all(toRead.slice(i, i + READ_BATCH).map((pid) => this.readAndStore(pid, touched)));
    }
    this.readByLastScan = toRead.flatMap((pid) => this.known.get(pid)?.info ?? []);

    for (const c of touched) this.recomputeSets(c);
    for (const [id, c] of this.byId) {
      if (c.pids.size > 0) {
        delete c.emptySinceMs;
        continue;
      }
      c.emptySinceMs ??= now;
      if (now - c.emptySinceMs >= this.emptyGraceMs) {
        this.byId.delete(id);
        this.stats.containersDropped++;
      }
    }
    this.rebuildCgroupIndex();
  }

  /** Reads one pid now (for events about a pid the last scan did not see); undefined if it is gone or a kernel thread. */
  async lookupPid(pid: number): Promise<ProcessInfo | undefined> {
    const k = this.known.get(pid);
    if (k) return k.info;
    return this.refreshPid(pid);
  }

  /** Reads a pid again, e.g. after an exec event; undefined if it is gone or a kernel thread. */
  async refreshPid(pid: number): Promise<ProcessInfo | undefined> {
    await this.detectLayout();
    const touched = new Set<ContainerState>();
    await this.readAndStore(pid, touched);
    for (const c of touched) this.recomputeSets(c);
    this.rebuildCgroupIndex();
    return this.known.get(pid)?.info;
  }

  get(pid: number): ProcessInfo | undefined {
    return this.known.get(pid)?.info;
  }

  /** Processes the last scan read (new pids and young ones read again, e.g. after an exec). */
  readInLastScan(): readonly ProcessInfo[] {
    return this.readByLastScan;
  }

  /** Every live process known. */
  all(): ProcessInfo[] {
    return [...this.known.values()].flatMap((k) => k.info ?? []);
  }

  /** The container of a pid. With the cgroup id a kernel event saw the pid in: only when the
   * table read the pid in that same cgroup (see isStale). */
  containerOfPid(pid: number, cgroupId?: number): ContainerRef | undefined {
    if (cgroupId !== undefined && this.isStale(pid, cgroupId)) return undefined;
    const id = this.known.get(pid)?.info?.containerId;
    return id === undefined ? undefined : this.byId.get(id);
  }

  /**
   * True when a kernel event saw the pid in another v2 cgroup than the table read it in: the
   * table's entry is from before the process moved (a container runtime forks, the child joins
   * the container's cgroups and execs; a scan in between saw it in the parent's cgroup).
   */
  isStale(pid: number, cgroupId: number): boolean {
    const known = this.known.get(pid)?.info?.cgroupId;
    return known !== undefined && cgroupId !== 0 && known !== cgroupId;
  }

  /** The container of a BPF cgroup id, only when exactly one container uses that cgroup (never the v2 root). */
  containerOfCgroupId(cgroupId: number): ContainerRef | undefined {
    if (cgroupId === this.v2RootIno) return undefined;
    const ids = this.cgroupIndex.get(cgroupId);
    if (!ids || ids.size !== 1) return undefined;
    const [only] = ids;
    return only === undefined ? undefined : this.byId.get(only);
  }

  containers(): ContainerRef[] {
    return [...this.byId.values()];
  }

  container(containerId: string): ContainerRef | undefined {
    return this.byId.get(containerId);
  }

  /** The v2 hierarchy root in use (`/sys/fs/cgroup/unified` on hybrid hosts), once detected. */
  get cgroupV2Root(): string | undefined {
    return this.v2?.root;
  }

  private async detectLayout(): Promise<void> {
    if (this.v2 !== undefined) return;
    const candidates = [`${this.cgroupfsRoot}/unified`, this.cgroupfsRoot];
    for (const dir of candidates) {
      try {
        await stat(`${dir}/cgroup.controllers`);
        this.v2 = { root: dir };
        this.v2RootIno = (await stat(dir)).ino;
        break;
      } catch {
        // Not a v2 mount: try the next layout.
      }
    }
    if (this.v2 === undefined) {
      this.v2 = { root: undefined };
      this.problems.report('no-cgroup2', `no cgroup v2 hierarchy under ${this.cgroupfsRoot}; BPF cgroup ids cannot be mapped to containers`);
    }
    try {
      const text = await readFile(`${this.procRoot}/stat`, 'utf8');
      const m = /^btime (\d+)$/m.exec(text);
      if (m) this.bootTimeMs = Number(m[1]) * 1000;
    } catch (err) {
      this.problems.report(`btime:${errnoOf(err)}`, `cannot read boot time from ${this.procRoot}/stat (${errnoOf(err)}); container start times use first-seen time`);
    }
  }

  private async readOptional<T>(what: string, pid: number, read: () => Promise<T>): Promise<T | undefined> {
    try {
      return await read();
    } catch (err) {
      if (isGone(err)) return undefined;
      this.problems.report(`${what}:${errnoOf(err)}`, `cannot read ${what} of pid ${pid} (${errnoOf(err)}); continuing without it (logged once)`);
      return undefined;
    }
  }

  private async cgroupInode(v2Path: string): Promise<number | undefined> {
    const root = this.v2?.root;
    if (root === undefined) return undefined;
    if (this.cgroupInoCache.has(v2Path)) return this.cgroupInoCache.get(v2Path);
    let ino: number | undefined;
    try {
      ino = (await stat(v2Path === '/' ? root : `${root}${v2Path}`)).ino;
    } catch (err) {
      if (!isGone(err)) this.problems.report(`cgroup-stat:${errnoOf(err)}`, `cannot stat cgroup ${root}${v2Path} (${errnoOf(err)})`);
    }
    this.cgroupInoCache.set(v2Path, ino);
    return ino;
  }

  /** Reads everything about a pid. Throws ProcessGone when it vanished; undefined for kernel threads. */
  private async readPid(pid: number): Promise<ProcessInfo | undefined> {
    const dir = `${this.procRoot}/${pid}`;
    const mustRead = async (file: string): Promise<string> => {
      try {
        return await readFile(`${dir}/${file}`, 'utf8');
      } catch (err) {
        if (isGone(err)) throw new ProcessGone();
        this.problems.report(`${file}:${errnoOf(err)}`, `cannot read /proc/<pid>/${file} (${errnoOf(err)}, first seen for pid ${pid}); such processes are skipped`);
        throw new ProcessUnreadable();
      }
    };
    const status = parseStatus(await mustRead('status'));
    if (pid === 2 || status.ppid === 2) return undefined; // kthreadd and its children
    const [cgroupText, commText, exe, netLink, statText] = await Promise.all([
      mustRead('cgroup'),
      this.readOptional('comm', pid, () => readFile(`${dir}/comm`, 'utf8')),
      this.readOptional('exe', pid, () => readlink(`${dir}/exe`)),
      this.readOptional('ns/net', pid, () => readlink(`${dir}/ns/net`)),
      this.readOptional('stat', pid, () => readFile(`${dir}/stat`, 'utf8')),
    ]);
    const parsed = parseCgroupFile(cgroupText);
    const classification = classifyCgroupPath(parsed.chosenPath);
    const info: ProcessInfo = {
      pid,
      ppid: status.ppid ?? 0,
      nsPids: status.nsPids,
      comm: (commText ?? '').replace(/\n$/, ''),
      classification,
    };
    if (exe !== undefined) info.exe = exe;
    if (parsed.chosenPath !== undefined) info.cgroupPath = parsed.chosenPath;
    if (parsed.v2Path !== undefined) {
      info.v2Path = parsed.v2Path;
      const ino = await this.cgroupInode(parsed.v2Path);
      if (ino !== undefined) info.cgroupId = ino;
    }
    const netns = netLink === undefined ? undefined : parseNsLink(netLink);
    if (netns !== undefined) info.netns = netns;
    const ticks = statText === undefined ? undefined : parseStartTicks(statText);
    if (ticks !== undefined && this.bootTimeMs !== undefined) {
      info.startedAtMs = this.bootTimeMs + Math.round((ticks * 1000) / CLOCK_TICKS_PER_SEC);
    }

    let meta: RuntimeMetadata | undefined;
    if (classification.kind === 'docker' && classification.runtimeId !== undefined && classification.ignoreReason === undefined) {
      meta = await this.metadata.inspect(classification.runtimeId);
    }
    const id = containerIdOf(classification, meta, { exe: info.exe, comm: info.comm }, this.naming);
    if (id !== undefined) {
      info.containerId = id;
      this.attach(info, meta);
    }
    return info;
  }

  private attach(info: ProcessInfo, meta: RuntimeMetadata | undefined): void {
    const id = info.containerId!;
    let c = this.byId.get(id);
    if (!c) {
      c = {
        containerId: id,
        kind: info.classification.kind,
        pids: new Set(),
        netns: new Set(),
        cgroupIds: new Set(),
        startedAtMs: info.startedAtMs ?? this.now(),
      };
      const app = appId(id);
      if (app !== undefined) c.appId = app;
      this.byId.set(id, c);
    }
    if (meta?.image !== undefined) c.image = meta.image;
    c.pids.add(info.pid);
    if (info.netns !== undefined) c.netns.add(info.netns);
    if (info.cgroupId !== undefined) c.cgroupIds.add(info.cgroupId);
    if (info.startedAtMs !== undefined && info.startedAtMs < c.startedAtMs) c.startedAtMs = info.startedAtMs;
    delete c.emptySinceMs;
  }

  private async readAndStore(pid: number, touched: Set<ContainerState>): Promise<void> {
    const previous = this.known.get(pid);
    let info: ProcessInfo | undefined;
    try {
      this.stats.pidsRead++;
      info = await this.readPid(pid);
    } catch (err) {
      if (err instanceof ProcessUnreadable) {
        this.forgetPid(pid, touched);
        this.known.set(pid, { info: undefined, firstSeenMs: previous?.firstSeenMs ?? this.now() });
        return;
      }
      if (!(err instanceof ProcessGone)) throw err;
      this.stats.pidsVanished++;
      this.forgetPid(pid, touched);
      return;
    }
    const oldId = previous?.info?.containerId;
    if (oldId !== undefined && oldId !== info?.containerId) {
      const old = this.byId.get(oldId);
      if (old) {
        old.pids.delete(pid);
        touched.add(old);
      }
    }
    if (info?.containerId !== undefined && oldId === info.containerId) {
      // Same container, possibly another netns/cgroup after exec or a move.
      const c = this.byId.get(info.containerId);
      if (c) touched.add(c);
    }
    this.known.set(pid, { info, firstSeenMs: previous?.firstSeenMs ?? this.now() });
  }

  private forgetPid(pid: number, touched: Set<ContainerState>): void {
    const k = this.known.get(pid);
    if (!k) return;
    this.known.delete(pid);
    const c = k.info?.containerId !== undefined ? this.byId.get(k.info.containerId) : undefined;
    if (c) {
      c.pids.delete(pid);
      touched.add(c);
    }
  }

  private recomputeSets(c: ContainerState): void {
    c.netns.clear();
    c.cgroupIds.clear();
    for (const pid of c.pids) {
      const info = this.known.get(pid)?.info;
      if (info?.netns !== undefined) c.netns.add(info.netns);
      if (info?.cgroupId !== undefined) c.cgroupIds.add(info.cgroupId);
    }
  }

  private rebuildCgroupIndex(): void {
    const index = new Map<number, Set<string>>();
    for (const c of this.byId.values()) {
      for (const id of c.cgroupIds) {
        let s = index.get(id);
        if (!s) index.set(id, (s = new Set()));
        s.add(c.containerId);
      }
    }
    this.cgroupIndex = index;
  }
}
