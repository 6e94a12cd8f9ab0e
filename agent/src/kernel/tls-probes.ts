// Finds the TLS code that processes run and attaches the plaintext probes of l7.bpf.c to it:
// every libssl.so the processes map, executables that carry OpenSSL themselves (Node.js links it
// statically and exports SSL_read/SSL_write), and Go executables (crypto/tls). The kernel keys
// uprobes by inode, so one attachment per file covers every process that maps it, now and later;
// files are therefore tracked by (device, inode) and tried once.
import { readFile, stat } from 'node:fs/promises';
import { GO_TLS_PROGRAMS, goTlsProbePoints } from './go-tls-probes.ts';

/** The four functions whose plaintext the kernel side reads, with the entry program of each. */
const ENTRY_PROBES: ReadonlyArray<{ symbol: string; program: string }> = [
  { symbol: 'SSL_write', program: 'rs_ssl_write_enter' },
  { symbol: 'SSL_read', program: 'rs_ssl_read_enter' },
  { symbol: 'SSL_write_ex', program: 'rs_ssl_write_ex_enter' },
  { symbol: 'SSL_read_ex', program: 'rs_ssl_read_ex_enter' },
];
const RETURN_PROGRAM = 'rs_ssl_exit';

export const OPENSSL_PROGRAMS: readonly string[] = [...ENTRY_PROBES.map((p) => p.program), RETURN_PROGRAM];
export const TLS_PROGRAMS: readonly string[] = [...OPENSSL_PROGRAMS, ...GO_TLS_PROGRAMS];

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
  kind: 'libssl' | 'executable' | 'go';
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

const LIBSSL = /\/libssl\.so(\.[\d.]+)?$/;

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

  private async scanProcess(pid: number): Promise<void> {
    let maps: string;
    try {
      maps = await readFile(`${this.procRoot}/${pid}/maps`, 'latin1');
    } catch {
      return; // exited, or a kernel thread
    }
    const files = new Set<string>();
    let executable: string | undefined;
    for (const line of maps.split('\n')) {
      // address perms offset dev inode path
      const m = /^\S+ (\S{4}) \S+ \S+ (\d+)\s+(\/.*)$/.exec(line);
      if (!m || m[2] === '0') continue;
      const path = m[3]!;
      if (path.endsWith(' (deleted)')) continue;
      executable ??= path; // the first file mapping is the executable
      if (m[1]!.includes('x') && LIBSSL.test(path)) files.add(path);
    }
    for (const path of files) await this.tryFile(pid, path, 'libssl');
    if (executable && !LIBSSL.test(executable)) await this.tryFile(pid, executable, 'executable');
  }

  private async tryFile(pid: number, pathInProcess: string, kind: TlsTarget['kind']): Promise<void> {
    const path = `${this.procRoot}/${pid}/root${pathInProcess}`;
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
    if (kind === 'executable' && await this.tryGo(path, target)) return;
    for (const probe of ENTRY_PROBES) {
      try {
        // The return probe first: an entry without its return would leave calls open in the map.
        this.opts.attach(RETURN_PROGRAM, path, probe.symbol);
        this.opts.attach(probe.program, path, probe.symbol);
        target.symbols.push(probe.symbol);
      } catch (err) {
        // Executables without OpenSSL are the common case: not worth a log line.
        if (kind === 'libssl' || target.symbols.length > 0) {
          target.error = (err as Error).message;
          this.opts.log?.(`tls probes: ${pathInProcess} (pid ${pid}): ${target.error}`);
        }
        if (target.symbols.length === 0 && kind === 'executable') return;
      }
    }
    if (target.symbols.length > 0) this.opts.log?.(`tls probes: attached to ${pathInProcess} (${target.symbols.join(', ')})`);
  }

  /** Probes a Go executable's crypto/tls. False when it is not one the probes can read. */
  private async tryGo(path: string, target: TlsTarget): Promise<boolean> {
    const go = await goTlsProbePoints(path);
    if (!go) return false;
    target.kind = 'go';
    target.goVersion = go.version;
    // Returns first, as for OpenSSL: an entry without its returns would leave reads open in the map.
    const ordered = [...go.points].sort((a, b) => Number(b.program === 'rs_go_tls_read_return') - Number(a.program === 'rs_go_tls_read_return'));
    try {
      for (const p of ordered) {
        this.opts.attach(p.program, path, '', p.offset);
        target.symbols.push(p.where);
      }
      this.opts.log?.(`tls probes: attached to Go ${go.version} executable ${target.path} (${ordered.length} probes)`);
    } catch (err) {
      target.error = (err as Error).message;
      this.opts.log?.(`tls probes: ${target.path}: ${target.error}`);
    }
    return true;
  }
}
