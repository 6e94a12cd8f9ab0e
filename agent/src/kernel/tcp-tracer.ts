// Kernel TCP events: loads agent/bpf/build/tcp.bpf.o, attaches what works, decodes batches.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadNativeAddon, type NativeBpfObject, type NativeProgramStatus } from './native-addon.ts';
import { decodeTcpEventBatch, TCP_COUNTER_INDEX, TCP_COUNTERS_MAP, type TcpEvent } from './tcp-event-decoder.ts';
import { ensureTracefs, type TracefsStatus } from './tracefs.ts';

export const DEFAULT_TCP_OBJECT_PATH = fileURLToPath(new URL('../../bpf/build/tcp.bpf.o', import.meta.url));

/** The programs tcp.bpf.c defines, reported even when nothing could be loaded. */
export const TCP_PROGRAMS: readonly { program: string; attachPoint: string }[] = [
  { program: 'rs_inet_sock_set_state', attachPoint: 'tracepoint/sock/inet_sock_set_state' },
  { program: 'rs_tcp_retransmit_skb', attachPoint: 'tracepoint/tcp/tcp_retransmit_skb' },
];

export interface ProgramCapability {
  program: string;
  attachPoint: string;
  loaded: boolean;
  attached: boolean;
  error?: string;
}

export interface TcpTracerCounters {
  /** Events lost because the ring buffer was full (counted in BPF). */
  ringbufDropped: number;
  /** Connections not tracked because a BPF hash map was full. */
  mapFull: number;
  /** Records user space skipped as malformed. */
  badRecords: number;
}

export interface TcpTracerOptions {
  objectPath?: string;
  onEvent: (e: TcpEvent) => void;
  log?: (msg: string) => void;
}

export class TcpTracer {
  private obj: NativeBpfObject | undefined;
  private readonly caps: ProgramCapability[];
  private readonly tracefsStatus: TracefsStatus | undefined;
  private badRecords = 0;
  private lastKernelCounters = { ringbufDropped: 0, mapFull: 0 };
  private readonly loggedProblems = new Set<string>();

  private constructor(
    obj: NativeBpfObject | undefined,
    caps: ProgramCapability[],
    tracefsStatus: TracefsStatus | undefined,
    private readonly log: (msg: string) => void,
  ) {
    this.obj = obj;
    this.caps = caps;
    this.tracefsStatus = tracefsStatus;
  }

  /** Never throws: when the addon, the object or loading is missing, the returned tracer delivers
   * no events and capabilities() says why. */
  static start(opts: TcpTracerOptions): TcpTracer {
    const log = opts.log ?? (() => {});
    const objectPath = opts.objectPath ?? DEFAULT_TCP_OBJECT_PATH;
    const failed = (error: string, tracefs?: TracefsStatus): TcpTracer => {
      log(`tcp tracer: kernel events disabled: ${error}`);
      return new TcpTracer(undefined, TCP_PROGRAMS.map((p) => ({ ...p, loaded: false, attached: false, error })), tracefs, log);
    };

    let addon;
    try {
      addon = loadNativeAddon();
    } catch (err) {
      return failed(err instanceof Error ? err.message : String(err));
    }
    if (!existsSync(objectPath)) {
      return failed(`BPF object ${objectPath} does not exist; run "npm run setup" (make -C agent/bpf)`);
    }
    const tracefs = ensureTracefs();
    if (!tracefs.ok) log(`tcp tracer: ${tracefs.error}`);
    else if (tracefs.action !== 'already-mounted') log(`tcp tracer: ${tracefs.action} at ${tracefs.path}`);

    let obj: NativeBpfObject;
    try {
      obj = new addon.BpfObject(objectPath);
    } catch (err) {
      return failed(err instanceof Error ? err.message : String(err), tracefs);
    }
    const statuses = obj.programs();
    const caps = capabilitiesFrom(statuses, tracefs);
    for (const c of caps) if (c.error) log(`tcp tracer: ${c.program} (${c.attachPoint}): ${c.error}`);

    const tracer = new TcpTracer(obj, caps, tracefs, log);
    if (!caps.some((c) => c.attached)) {
      obj.close();
      tracer.obj = undefined;
      return tracer;
    }
    try {
      obj.startPolling((batch) => tracer.onBatch(batch, opts.onEvent));
    } catch (err) {
      const msg = `ring buffer polling failed: ${err instanceof Error ? err.message : String(err)}`;
      log(`tcp tracer: ${msg}`);
      obj.close();
      tracer.obj = undefined;
      for (const c of caps) { c.attached = false; c.error = c.error ?? msg; }
    }
    return tracer;
  }

  private onBatch(batch: Buffer, onEvent: (e: TcpEvent) => void): void {
    this.badRecords += decodeTcpEventBatch(batch, (e) => {
      try {
        onEvent(e);
      } catch (err) {
        this.logOnce(`tcp tracer: event handler threw: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  }

  private logOnce(msg: string): void {
    if (this.loggedProblems.has(msg) || this.loggedProblems.size > 100) return;
    this.loggedProblems.add(msg);
    this.log(msg);
  }

  /** True when at least one program is attached and events are being drained. */
  get running(): boolean {
    return this.obj !== undefined;
  }

  tracefs(): TracefsStatus | undefined {
    return this.tracefsStatus;
  }

  capabilities(): ProgramCapability[] {
    return this.caps.map((c) => ({ ...c }));
  }

  counters(): TcpTracerCounters {
    if (this.obj) {
      try {
        const v = this.obj.readCounters(TCP_COUNTERS_MAP);
        this.lastKernelCounters = {
          ringbufDropped: v[TCP_COUNTER_INDEX.ringbufDropped] ?? 0,
          mapFull: v[TCP_COUNTER_INDEX.mapFull] ?? 0,
        };
      } catch (err) {
        this.logOnce(`tcp tracer: cannot read counters: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return { ...this.lastKernelCounters, badRecords: this.badRecords };
  }

  /** Detaches everything and joins the poller. Idempotent. Counters keep their last values. */
  stop(): void {
    if (!this.obj) return;
    this.counters();
    this.obj.close();
    this.obj = undefined;
  }
}

function capabilitiesFrom(statuses: NativeProgramStatus[], tracefs: TracefsStatus): ProgramCapability[] {
  const caps: ProgramCapability[] = statuses.map((s) => {
    const c: ProgramCapability = { program: s.name, attachPoint: s.section, loaded: s.loaded, attached: s.attached };
    if (s.error) {
      c.error = s.error;
      if (!s.attached && s.loaded && !tracefs.ok && s.section.startsWith('tracepoint/')) c.error += ` (${tracefs.error})`;
    }
    return c;
  });
  for (const p of TCP_PROGRAMS) {
    if (!caps.some((c) => c.program === p.program)) {
      caps.push({ ...p, loaded: false, attached: false, error: 'program not found in the BPF object' });
    }
  }
  return caps;
}
