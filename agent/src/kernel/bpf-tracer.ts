// What every kernel tracer shares: load one BPF object with the native addon, attach each program
// on its own (one failing does not stop the others), drain its ring buffer in batches, report a
// capability per program, and never throw: a tracer that could not start says why.
import { existsSync } from 'node:fs';
import { loadNativeAddon, type NativeBpfObject, type NativeProgramStatus } from './native-addon.ts';
import { ensureTracefs, type TracefsStatus } from './tracefs.ts';

export interface ProgramCapability {
  program: string;
  attachPoint: string;
  loaded: boolean;
  attached: boolean;
  /** Uprobe programs: the functions they are attached to ("<file>:<symbol>"), newest last. */
  targets?: string[];
  error?: string;
}

export type ProgramSpec = { program: string; attachPoint: string };

export abstract class BpfTracer {
  protected obj: NativeBpfObject | undefined;
  protected caps: ProgramCapability[] = [];
  protected tracefsStatus: TracefsStatus | undefined;
  protected badRecords = 0;
  private readonly loggedProblems = new Set<string>();

  /** @param name prefix of log lines, e.g. "tcp tracer" */
  protected constructor(protected readonly name: string, protected readonly log: (msg: string) => void) {}

  /** Loads objectPath and starts draining into onBatch; fills obj, caps and tracefsStatus. */
  protected open(objectPath: string, programs: readonly ProgramSpec[], onBatch: (batch: Buffer) => void): void {
    const failed = (error: string): void => {
      this.log(`${this.name}: kernel events disabled: ${error}`);
      this.caps = programs.map((p) => ({ ...p, loaded: false, attached: false, error }));
    };
    let addon;
    try {
      addon = loadNativeAddon();
    } catch (err) {
      return failed(errorText(err));
    }
    if (!existsSync(objectPath)) return failed(`BPF object ${objectPath} does not exist; run "npm run setup" (make -C agent/bpf)`);
    const tracefs = ensureTracefs();
    this.tracefsStatus = tracefs;
    if (!tracefs.ok) this.log(`${this.name}: ${tracefs.error}`);
    else if (tracefs.action !== 'already-mounted') this.log(`${this.name}: ${tracefs.action} at ${tracefs.path}`);

    let obj: NativeBpfObject;
    try {
      obj = new addon.BpfObject(objectPath);
    } catch (err) {
      return failed(errorText(err));
    }
    this.caps = capabilitiesFrom(obj.programs(), tracefs, programs);
    for (const c of this.caps) if (c.error) this.log(`${this.name}: ${c.program} (${c.attachPoint}): ${c.error}`);
    // Uprobe programs attach later, per binary; they alone do not make the object worth keeping.
    if (!this.caps.some((c) => c.attached)) {
      obj.close();
      return;
    }
    try {
      obj.startPolling(onBatch);
      this.obj = obj;
    } catch (err) {
      const msg = `ring buffer polling failed: ${errorText(err)}`;
      this.log(`${this.name}: ${msg}`);
      obj.close();
      for (const c of this.caps) { c.attached = false; c.error = c.error ?? msg; }
    }
  }

  /** Calls a user handler for one event; a handler that throws is logged once, not fatal. */
  protected deliver<T>(handler: (e: T) => void, e: T): void {
    try {
      handler(e);
    } catch (err) {
      this.logOnce(`${this.name}: event handler threw: ${errorText(err)}`);
    }
  }

  protected logOnce(msg: string): void {
    if (this.loggedProblems.has(msg) || this.loggedProblems.size > 100) return;
    this.loggedProblems.add(msg);
    this.log(msg);
  }

  /** Reads the kernel counters array (summed over CPUs); undefined when not running or unreadable. */
  protected readKernelCounters(mapName: string): number[] | undefined {
    if (!this.obj) return undefined;
    try {
      return this.obj.readCounters(mapName);
    } catch (err) {
      this.logOnce(`${this.name}: cannot read counters: ${errorText(err)}`);
      return undefined;
    }
  }

  /** Attaches a loaded uprobe program to a function of an ELF file (see NativeBpfObject.attachUprobe).
   * Throws when the tracer is not running or libbpf refuses (missing symbol, bad file). */
  attachUprobe(program: string, binaryPath: string, symbol: string, offset = 0): void {
    if (!this.obj) throw new Error(`${this.name}: not running`);
    this.obj.attachUprobe(program, binaryPath, symbol, offset);
    const cap = this.caps.find((c) => c.program === program);
    if (cap) {
      cap.attached = true;
      const targets = cap.targets ?? (cap.targets = []);
      if (targets.length >= 64) targets.shift();
      targets.push(`${binaryPath}:${symbol || `0x${offset.toString(16)}`}`);
    }
  }

  /** Refreshes the last known counters (called before the object is closed). */
  abstract counters(): unknown;

  /** True when at least one program is attached and events are being drained. */
  get running(): boolean {
    return this.obj !== undefined;
  }

  tracefs(): TracefsStatus | undefined {
    return this.tracefsStatus;
  }

  capabilities(): ProgramCapability[] {
    return this.caps.map((c) => ({ ...c, ...(c.targets ? { targets: [...c.targets] } : {}) }));
  }

  /** Detaches everything and joins the poller. Idempotent. Counters keep their last values. */
  stop(): void {
    if (!this.obj) return;
    this.counters();
    this.obj.close();
    this.obj = undefined;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function capabilitiesFrom(statuses: NativeProgramStatus[], tracefs: TracefsStatus, programs: readonly ProgramSpec[]): ProgramCapability[] {
  const caps: ProgramCapability[] = statuses.map((s) => {
    const c: ProgramCapability = { program: s.name, attachPoint: s.section, loaded: s.loaded, attached: s.attached };
    if (s.manual) c.targets = [];
    if (s.error) {
      c.error = s.error;
      if (!s.attached && s.loaded && !tracefs.ok && s.section.startsWith('tracepoint/')) c.error += ` (${tracefs.error})`;
    }
    return c;
  });
  for (const p of programs) {
    if (!caps.some((c) => c.program === p.program)) caps.push({ ...p, loaded: false, attached: false, error: 'program not found in the BPF object' });
  }
  return caps;
}
