// Kernel L7 events: loads agent/bpf/build/l7.bpf.o as a second BPF object (its own ring buffer and
// poll thread, independent of the TCP tracer), attaches what works, decodes batches.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadNativeAddon, type NativeBpfObject, type NativeProgramStatus } from './native-addon.ts';
import {
  decodeL7Batch,
  L7_COUNTER_INDEX,
  L7_COUNTERS_MAP,
  type Http2Chunk,
  type L7ConnClose,
  type L7Event,
} from './l7-event-decoder.ts';
import type { ProgramCapability } from './tcp-tracer.ts';
import { ensureTracefs, type TracefsStatus } from './tracefs.ts';

export type { Http2Chunk, L7ConnClose, L7Event } from './l7-event-decoder.ts';
export type { ProgramCapability } from './tcp-tracer.ts';

export const DEFAULT_L7_OBJECT_PATH = fileURLToPath(new URL('../../bpf/build/l7.bpf.o', import.meta.url));

const SYSCALLS_IO = ['write', 'writev', 'sendto', 'sendmsg', 'sendmmsg', 'read', 'readv', 'recvfrom', 'recvmsg'];

/** The programs l7.bpf.c defines, reported even when nothing could be loaded. */
export const L7_PROGRAMS: readonly { program: string; attachPoint: string }[] = [
  ...SYSCALLS_IO.flatMap((s) => [
    { program: `rs_enter_${s}`, attachPoint: `tracepoint/syscalls/sys_enter_${s}` },
    { program: `rs_exit_${s}`, attachPoint: `tracepoint/syscalls/sys_exit_${s}` },
  ]),
  { program: 'rs_enter_connect', attachPoint: 'tracepoint/syscalls/sys_enter_connect' },
  { program: 'rs_exit_connect', attachPoint: 'tracepoint/syscalls/sys_exit_connect' },
  { program: 'rs_exit_accept4', attachPoint: 'tracepoint/syscalls/sys_exit_accept4' },
  { program: 'rs_exit_accept', attachPoint: 'tracepoint/syscalls/sys_exit_accept' },
  { program: 'rs_enter_close', attachPoint: 'tracepoint/syscalls/sys_enter_close' },
];

export interface L7TracerOptions {
  objectPath?: string;
  /** Paired requests, and NATS/RabbitMQ messages (durationNs 0, method produce/consume). */
  onEvent: (e: L7Event) => void;
  /** Raw bytes of HTTP/2 connections; dropped when not given. */
  onHttp2Chunk?: (c: Http2Chunk) => void;
  /** close() of a tracked socket with its byte totals. */
  onConnectionClose?: (c: L7ConnClose) => void;
  log?: (msg: string) => void;
}

export class L7Tracer {
  private obj: NativeBpfObject | undefined;
  private readonly caps: ProgramCapability[];
  private readonly tracefsStatus: TracefsStatus | undefined;
  private badRecords = 0;
  private lastKernelCounters: Record<string, number> = Object.fromEntries(Object.keys(L7_COUNTER_INDEX).map((k) => [k, 0]));
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
  static start(opts: L7TracerOptions): L7Tracer {
    const log = opts.log ?? (() => {});
    const objectPath = opts.objectPath ?? DEFAULT_L7_OBJECT_PATH;
    const failed = (error: string, tracefs?: TracefsStatus): L7Tracer => {
      log(`l7 tracer: kernel events disabled: ${error}`);
      return new L7Tracer(undefined, L7_PROGRAMS.map((p) => ({ ...p, loaded: false, attached: false, error })), tracefs, log);
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
    if (!tracefs.ok) log(`l7 tracer: ${tracefs.error}`);

    let obj: NativeBpfObject;
    try {
      obj = new addon.BpfObject(objectPath);
    } catch (err) {
      return failed(err instanceof Error ? err.message : String(err), tracefs);
    }
    const caps = capabilitiesFrom(obj.programs(), tracefs);
    for (const c of caps) if (c.error) log(`l7 tracer: ${c.program} (${c.attachPoint}): ${c.error}`);

    const tracer = new L7Tracer(obj, caps, tracefs, log);
    if (!caps.some((c) => c.attached)) {
      obj.close();
      tracer.obj = undefined;
      return tracer;
    }
    try {
      obj.startPolling((batch) => tracer.onBatch(batch, opts));
    } catch (err) {
      const msg = `ring buffer polling failed: ${err instanceof Error ? err.message : String(err)}`;
      log(`l7 tracer: ${msg}`);
      obj.close();
      tracer.obj = undefined;
      for (const c of caps) { c.attached = false; c.error = c.error ?? msg; }
    }
    return tracer;
  }

  private onBatch(batch: Buffer, opts: L7TracerOptions): void {
    this.badRecords += decodeL7Batch(batch, (r) => {
      try {
        if (r.kind === 'request' || r.kind === 'message') opts.onEvent(r.event);
        else if (r.kind === 'http2_chunk') opts.onHttp2Chunk?.(r.chunk);
        else opts.onConnectionClose?.(r.close);
      } catch (err) {
        this.logOnce(`l7 tracer: event handler threw: ${err instanceof Error ? err.message : String(err)}`);
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

  /** Kernel counters (see enum rs_l7_counter) summed over CPUs, plus badRecords (user space). */
  counters(): Record<string, number> {
    if (this.obj) {
      try {
        const v = this.obj.readCounters(L7_COUNTERS_MAP);
        const out: Record<string, number> = {};
        for (const [name, idx] of Object.entries(L7_COUNTER_INDEX)) out[name] = v[idx] ?? 0;
        this.lastKernelCounters = out;
      } catch (err) {
        this.logOnce(`l7 tracer: cannot read counters: ${err instanceof Error ? err.message : String(err)}`);
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
  for (const p of L7_PROGRAMS) {
    if (!caps.some((c) => c.program === p.program)) {
      caps.push({ ...p, loaded: false, attached: false, error: 'program not found in the BPF object' });
    }
  }
  return caps;
}
