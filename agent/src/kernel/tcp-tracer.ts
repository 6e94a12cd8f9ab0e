// Kernel TCP events: loads agent/bpf/build/tcp.bpf.o, attaches what works, decodes batches.
import { fileURLToPath } from 'node:url';
import { BpfTracer, type ProgramSpec } from './bpf-tracer.ts';
import { decodeTcpEventBatch, TCP_COUNTER_INDEX, TCP_COUNTERS_MAP, type TcpEvent } from './tcp-event-decoder.ts';

export type { ProgramCapability } from './bpf-tracer.ts';

export const DEFAULT_TCP_OBJECT_PATH = fileURLToPath(new URL('../../bpf/build/tcp.bpf.o', import.meta.url));

/** The programs tcp.bpf.c defines, reported even when nothing could be loaded. */
export const TCP_PROGRAMS: readonly ProgramSpec[] = [
  { program: 'rs_inet_sock_set_state', attachPoint: 'tracepoint/sock/inet_sock_set_state' },
  { program: 'rs_tcp_retransmit_skb', attachPoint: 'tracepoint/tcp/tcp_retransmit_skb' },
];

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

export class TcpTracer extends BpfTracer {
  private lastKernelCounters = { ringbufDropped: 0, mapFull: 0 };

  private constructor(log: (msg: string) => void) {
    super('tcp tracer', log);
  }

  /** Never throws: when the addon, the object or loading is missing, the returned tracer delivers
   * no events and capabilities() says why. */
  static start(opts: TcpTracerOptions): TcpTracer {
    const tracer = new TcpTracer(opts.log ?? (() => {}));
    tracer.open(opts.objectPath ?? DEFAULT_TCP_OBJECT_PATH, TCP_PROGRAMS, (batch) => {
      tracer.badRecords += decodeTcpEventBatch(batch, (e) => tracer.deliver(opts.onEvent, e));
    });
    return tracer;
  }

  counters(): TcpTracerCounters {
    const v = this.readKernelCounters(TCP_COUNTERS_MAP);
    if (v) this.lastKernelCounters = { ringbufDropped: v[TCP_COUNTER_INDEX.ringbufDropped] ?? 0, mapFull: v[TCP_COUNTER_INDEX.mapFull] ?? 0 };
    return { ...this.lastKernelCounters, badRecords: this.badRecords };
  }
}
