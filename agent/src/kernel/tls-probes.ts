// Finds the TLS code that processes run and attaches the plaintext probes of l7.bpf.c to it:
// every libssl.so and libgnutls.so the processes map, executables that carry OpenSSL themselves
// (Node.js links it statically and exports SSL_read/SSL_write), Go executables (crypto/tls) and
// Rust executables with rustls.
// The kernel keys uprobes by inode, so one attachment per file covers every process that maps it,
// now and later; files are therefore tracked by (device, inode) and tried once.
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { GO_TLS_PROGRAMS, goTlsProbePoints } from './go-tls-probes.ts';
import { RUSTLS_PROGRAMS, rustlsProbePoints } from './rustls-probes.ts';

type EntryProbe = { symbol: string; program: string };

/** OpenSSL's four functions whose plaintext the kernel side reads, with the entry program of each. */
const OPENSSL_PROBES: readonly EntryProbe[] = [
  { symbol: 'SSL_write', program: 'rs_ssl_write_enter' },
  { symbol: 'SSL_read', program: 'rs_ssl_read_enter' },
  { symbol: 'SSL_write_ex', program: 'rs_ssl_write_ex_enter' },
  { symbol: 'SSL_read_ex', program: 'rs_ssl_read_ex_enter' },
];
/** GnuTLS (wget, curl-gnutls, many Debian daemons): gnutls_record_send/recv(session, data, size)
 * take and return what SSL_write/SSL_read do (a byte count, negative on error), and do their
 * socket I/O inside the call, so OpenSSL's programs read them as they are. */
const GNUTLS_PROBES: readonly EntryProbe[] = [
  { symbol: 'gnutls_record_send', program: 'rs_ssl_write_enter' },
  { symbol: 'gnutls_record_recv', program: 'rs_ssl_read_enter' },
];
const RETURN_PROGRAM = 'rs_ssl_exit';

/** Shared TLS libraries, by file name. */
const LIBRARIES: ReadonlyArray<{ kind: 'libssl' | 'gnutls'; file: RegExp; probes: readonly EntryProbe[] }> = [
  { kind: 'libssl', file: /\/libssl\.so(\.[\d.]+)?$/, probes: OPENSSL_PROBES },
  { kind: 'gnutls', file: /\/libgnutls\.so(\.[\d.]+)?$/, probes: GNUTLS_PROBES },
];
const libraryOf = (path: string) => LIBRARIES.find((l) => l.file.test(path));

/** Where the host's shared libraries live (Debian/Ubuntu multiarch, RHEL lib64, local builds). */
export const HOST_LIBRARY_DIRS: readonly string[] = [
  '/lib', '/lib64', '/usr/lib', '/usr/lib64', '/usr/local/lib',
  `/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`, `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`,
];

export const OPENSSL_PROGRAMS: readonly string[] = [...OPENSSL_PROBES.map((p) => p.program), RETURN_PROGRAM];
export const TLS_PROGRAMS: readonly string[] = [...OPENSSL_PROGRAMS, ...GO_TLS_PROGRAMS, ...RUSTLS_PROGRAMS];

/** What attaching needs from the L7 tracer (BpfTracer.attachUprobe): a symbol, or with symbol ""
 * a file offset. */
export type AttachUprobe = (program: string, binaryPath: string, symbol: string, offset?: number) => void;

/** A process to look at (ProcessInfo of the process table fits). */
export interface ProcessRef {
  pid: number;
  exe?: string;
  startedAtMs?: number;
}

/** A file in which the probes were tried, and what came of it. */
export interface TlsTarget {
  /** Path as seen by the agent (through /proc/<pid>/root for other mount namespaces). */
  path: string;
  kind: 'libssl' | 'gnutls' | 'executable' | 'go' | 'rustls';
  /** Functions probed. Empty when the file has no TLS code the probes can read. */
  symbols: string[];
  /** Go executables: the release that built it. */
  goVersion?: string;
  error?: string;
}

export interface TlsProbesOptions {
  attach: AttachUprobe;
  procRoot?: string;
  log?: (msg: string) => void;
}

export class TlsProbes {
  private readonly procRoot: string;
  /** "dev:ino" of every file tried, with the outcome. */
  private readonly tried = new Map<string, TlsTarget>();
  /** Pids whose maps were read, with the start time and executable that tell reuse and exec apart. */
  private readonly scannedPids = new Map<number, string>();

  constructor(private readonly opts: TlsProbesOptions) {
    this.procRoot = opts.procRoot ?? '/proc';
  }

  targets(): TlsTarget[] {
    return [...this.tried.values()].map((t) => ({ ...t, symbols: [...t.symbols] }));
  }

  /** Reads the maps of the given processes unless already read for the same (start time,
   * executable): an exec in the same pid counts as new. force: read them all again (a libssl
   * loaded late with dlopen). Attaches the probes to OpenSSL code not probed yet. Never throws:
   * processes may vanish at any point. */
  async check(processes: Iterable<ProcessRef>, force = false): Promise<void> {
    const seen = new Set<number>();
    for (const p of processes) {
      seen.add(p.pid);
      const identity = `${p.startedAtMs ?? ''} ${p.exe ?? ''}`;
      if (!force && this.scannedPids.get(p.pid) === identity) continue;
      this.scannedPids.set(p.pid, identity);
      await this.scanProcess(p.pid);
    }
    if (force) for (const pid of this.scannedPids.keys()) if (!seen.has(pid)) this.scannedPids.delete(pid);
  }

  /**
   * Probes the TLS libraries installed on the host before any process maps them: a short-lived
   * client (wget, curl) that loads one starts and ends between two scans of the process table,
   * and its requests would be missed. Uprobes are per file, so this covers every later process
   * that loads these files. Libraries inside containers are found through the processes' maps.
   */
  async checkLibraryDirs(dirs: readonly string[] = HOST_LIBRARY_DIRS): Promise<void> {
    for (const dir of dirs) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue; // absent on this distribution
      }
      for (const name of names.sort()) {
        const library = libraryOf(`/${name}`);
        if (!library) continue;
        // By the real file's name (libssl.so.3, not the libssl.so link), as processes map it.
        const real = await realpath(`${dir}/${name}`).catch(() => undefined);
        if (real) await this.tryPath(real, real, library.kind, 'host');
      }
    }
  }

  private async scanProcess(pid: number): Promise<void> {
    let maps: string;
    try {
      maps = await readFile(`${this.procRoot}/${pid}/maps`, 'latin1');
    } catch {
      return; // exited, or a kernel thread
    }
    const files = new Map<string, 'libssl' | 'gnutls'>();
    let executable: string | undefined;
    for (const line of maps.split('\n')) {
      // address perms offset dev inode path
      const m = /^\S+ (\S{4}) \S+ \S+ (\d+)\s+(\/.*)$/.exec(line);
      if (!m || m[2] === '0') continue;
      const path = m[3]!;
      if (path.endsWith(' (deleted)')) continue;
      executable ??= path; // the first file mapping is the executable
      const library = m[1]!.includes('x') ? libraryOf(path) : undefined;
      if (library) files.set(path, library.kind);
    }
    for (const [path, kind] of files) await this.tryFile(pid, path, kind);
    if (executable && !libraryOf(executable)) await this.tryFile(pid, executable, 'executable');
  }

  private async tryFile(pid: number, pathInProcess: string, kind: TlsTarget['kind']): Promise<void> {
    await this.tryPath(`${this.procRoot}/${pid}/root${pathInProcess}`, pathInProcess, kind, `pid ${pid}`);
  }

  /** path: where the agent opens the file; pathInProcess: how its users name it; who: for logs. */
  private async tryPath(path: string, pathInProcess: string, kind: TlsTarget['kind'], who: string): Promise<void> {
    let key: string;
    try {
      const st = await stat(path);
      key = `${st.dev}:${st.ino}`;
    } catch {
      return;
    }
    if (this.tried.has(key)) return;
    const target: TlsTarget = { path: pathInProcess, kind, symbols: [] };
    this.tried.set(key, target);
    if (kind === 'executable' && (await this.tryGo(path, target) || await this.tryRustls(path, target))) return;
    const probes = LIBRARIES.find((l) => l.kind === kind)?.probes ?? OPENSSL_PROBES; // executables: static OpenSSL
    for (const probe of probes) {
      try {
        // The return probe first: an entry without its return would leave calls open in the map.
        this.opts.attach(RETURN_PROGRAM, path, probe.symbol);
        this.opts.attach(probe.program, path, probe.symbol);
        target.symbols.push(probe.symbol);
      } catch (err) {
        // Executables without OpenSSL are the common case: not worth a log line.
        if (kind !== 'executable' || target.symbols.length > 0) {
          target.error = (err as Error).message;
          this.opts.log?.(`tls probes: ${pathInProcess} (${who}): ${target.error}`);
        }
        if (target.symbols.length === 0 && kind === 'executable') return;
      }
    }
    if (target.symbols.length > 0) this.opts.log?.(`tls probes: attached to ${pathInProcess} (${target.symbols.join(', ')})`);
  }

  /** Probes the rustls in a Rust executable. False when it has none the probes can use. */
  private async tryRustls(path: string, target: TlsTarget): Promise<boolean> {
    const points = await rustlsProbePoints(path);
    if (!points) return false;
    target.kind = 'rustls';
    this.attachAtOffsets(path, target, points, `rustls in ${target.path}`);
    return true;
  }

  /** Probes a Go executable's crypto/tls. False when it is not one the probes can read. */
  private async tryGo(path: string, target: TlsTarget): Promise<boolean> {
    const go = await goTlsProbePoints(path);
    if (!go) return false;
    target.kind = 'go';
    target.goVersion = go.version;
    this.attachAtOffsets(path, target, go.points, `Go ${go.version} executable ${target.path}`);
    return true;
  }

  /**
   * Attaches programs at file offsets in the order given (returns before entries: an entry without
   * its return would leave calls open in the map), listing each probed function once in `target`.
   */
  private attachAtOffsets(path: string, target: TlsTarget, points: readonly { program: string; offset: number; where: string }[], what: string): void {
    try {
      for (const p of points) {
        this.opts.attach(p.program, path, '', p.offset);
        if (!target.symbols.includes(p.where)) target.symbols.push(p.where);
      }
      this.opts.log?.(`tls probes: attached to ${what} (${points.length} probes)`);
    } catch (err) {
      target.error = (err as Error).message;
      this.opts.log?.(`tls probes: ${target.path}: ${target.error}`);
    }
  }
}
