// Kernel L7 events: loads agent/bpf/build/l7.bpf.o as a second BPF object (its own ring buffer and
// poll thread, independent of the TCP tracer), attaches what works, decodes batches.
import { fileURLToPath } from 'node:url';
import { BpfTracer, type ProgramSpec } from './bpf-tracer.ts';
import { TLS_PROGRAMS } from './tls-probes.ts';
import {
  decodeRingbufLost,
  decodeUnanswered,
  L7_RINGBUF_LOST_MAP,
  L7_UNANSWERED_MAP,
  type L7RingbufLostCount,
  type L7UnansweredCount,
} from './l7-loss-counters.ts';
import {
  decodeL7Batch,
  L7_COUNTER_INDEX,
  L7_COUNTERS_MAP,
  type Http2Chunk,
  type L7ConnClose,
  type L7Event,
} from './l7-event-decoder.ts';

export type { Http2Chunk, L7ConnClose, L7Event } from './l7-event-decoder.ts';
export type { ProgramCapability } from './bpf-tracer.ts';

export const DEFAULT_L7_OBJECT_PATH = fileURLToPath(new URL('../../bpf/build/l7.bpf.o', import.meta.url));

/** The TLS programs defined as SEC("uretprobe"). */
const RETPROBES = new Set(['rs_ssl_exit', 'rs_rustls_write_exit', 'rs_rustls_writev_exit', 'rs_rustls_read_exit']);

/** The programs l7.bpf.c defines, reported even when nothing could be loaded. */
export const L7_PROGRAMS: readonly ProgramSpec[] = [
  // read/write/send/recv family, connect, accept and close: all at syscall exit (see l7.bpf.c)
  { program: 'rs_sys_exit', attachPoint: 'tp_btf/sys_exit' },
  // requests left pending by a process that dies
  { program: 'rs_process_exit', attachPoint: 'tp_btf/sched_process_exit' },
  // TLS plaintext (agent/src/kernel/tls-probes.ts attaches them per binary)
  ...TLS_PROGRAMS.map((program) => ({ program, attachPoint: RETPROBES.has(program) ? 'uretprobe' : 'uprobe' })),
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

export class L7Tracer extends BpfTracer {
  private readonly lastLoss: { unanswered: L7UnansweredCount[]; ringbufLost: L7RingbufLostCount[] } = { unanswered: [], ringbufLost: [] };
  private lastKernelCounters: Record<string, number> = Object.fromEntries(Object.keys(L7_COUNTER_INDEX).map((k) => [k, 0]));

  private constructor(log: (msg: string) => void) {
    super('l7 tracer', log);
  }

  /** Never throws: when the addon, the object or loading is missing, the returned tracer delivers
   * no events and capabilities() says why. */
  static start(opts: L7TracerOptions): L7Tracer {
    const tracer = new L7Tracer(opts.log ?? (() => {}));
    tracer.open(opts.objectPath ?? DEFAULT_L7_OBJECT_PATH, L7_PROGRAMS, (batch) => {
      tracer.badRecords += decodeL7Batch(batch, (r) => {
        if (r.kind === 'request' || r.kind === 'message') tracer.deliver(opts.onEvent, r.event);
        else if (r.kind === 'http2_chunk') { if (opts.onHttp2Chunk) tracer.deliver(opts.onHttp2Chunk, r.chunk); }
        else if (opts.onConnectionClose) tracer.deliver(opts.onConnectionClose, r.close);
      });
    });
    return tracer;
  }

  /** Requests the kernel never paired with a response, and events its ring buffer lost, by protocol. */
  lossCounters(): { unanswered: L7UnansweredCount[]; ringbufLost: L7RingbufLostCount[] } {
    const u = this.readKernelCounters(L7_UNANSWERED_MAP);
    const r = this.readKernelCounters(L7_RINGBUF_LOST_MAP);
    if (u) this.lastLoss.unanswered = decodeUnanswered(u);
    if (r) this.lastLoss.ringbufLost = decodeRingbufLost(r);
    return { unanswered: [...this.lastLoss.unanswered], ringbufLost: [...this.lastLoss.ringbufLost] };
  }

  /** Kernel counters (see enum rs_l7_counter) summed over CPUs, plus badRecords (user space). */
  counters(): Record<string, number> {
    this.lossCounters(); // stop() calls counters() last: keep the loss counts too
    const v = this.readKernelCounters(L7_COUNTERS_MAP);
    if (v) this.lastKernelCounters = Object.fromEntries(Object.entries(L7_COUNTER_INDEX).map(([name, idx]) => [name, v[idx] ?? 0]));
    return { ...this.lastKernelCounters, badRecords: this.badRecords };
  }
}
