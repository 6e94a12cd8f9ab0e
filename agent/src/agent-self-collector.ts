// The agent's own health as metrics: what the kernel side could attach, and
// every place where data was dropped, so loss is never silent.
import type { MetricCollector, MetricFamily } from './export/metric-family.ts';
import type { PushQueueStats } from './export/push-queue.ts';
import type { ProgramCapability } from './kernel/bpf-tracer.ts';
import type { L7RingbufLostCount, L7UnansweredCount } from './kernel/l7-loss-counters.ts';
import type { UnansweredInContainer } from './requests/request-pipeline.ts';

export interface AgentSelfState {
  capabilities(): ProgramCapability[];
  kernelCounters(): { ringbufDropped: number; mapFull: number; badRecords: number };
  skipped(): Record<string, number>;
  l7KernelCounters(): Record<string, number>;
  /** Requests never paired with a response, from the kernel and from user space (HTTP/2 streams). */
  unansweredRequests(): L7UnansweredCount[];
  /** L7 events the kernel's ring buffer could not take, by event kind and protocol. */
  l7RingbufLost(): L7RingbufLostCount[];
  /** Requests left without a response when their connection closed, by container. */
  unansweredByContainer(): UnansweredInContainer[];
  remoteWrite(): PushQueueStats | undefined;
  spans(): PushQueueStats | undefined;
  trackedConnections(): number;
  /** conntrack lookups for actual_destination (nat-resolver.ts); undefined when NAT resolution is off. */
  nat(): { lookups: number; translated: number; skipped: number; errors: number } | undefined;
}

export class AgentSelfCollector implements MetricCollector {
  constructor(private readonly state: AgentSelfState) {}

  collect(): MetricFamily[] {
    const k = this.state.kernelCounters();
    const l7 = this.state.l7KernelCounters();
    const families: MetricFamily[] = [
      {
        name: 'rootsight_agent_capability', help: 'Kernel program state on this host: 1 attached, 0 not available (see /capabilities for the reason)', type: 'gauge',
        samples: this.state.capabilities().map((c) => ({ labels: { program: c.program, attach_point: c.attachPoint }, value: c.attached ? 1 : 0 })),
      },
      {
        name: 'rootsight_agent_ringbuf_lost_events_total', help: 'Kernel events dropped because the ring buffer was full', type: 'counter',
        samples: [{ labels: { ringbuf: 'tcp_events' }, value: k.ringbufDropped }, ...(l7.ringbufDropped !== undefined ? [{ labels: { ringbuf: 'l7_events' }, value: l7.ringbufDropped }] : [])],
      },
      {
        name: 'rootsight_agent_l7_kernel_events_total', help: 'Kernel-side L7 tracing counters (requests emitted, evicted without response, truncated payloads, full maps)', type: 'counter',
        samples: Object.entries(l7).filter(([name]) => name !== 'ringbufDropped').map(([counter, value]) => ({ labels: { counter }, value })),
      },
      {
        name: 'rootsight_agent_l7_unanswered_requests_total',
        help: 'Requests seen but never paired with a response, by protocol, direction and reason: the connection closed (or its fd was reused) while the request was pending, a stale request of an earlier connection on the same fd, a pipelined request sent while another was pending, or no room to keep it',
        type: 'counter',
        samples: sumBy(this.state.unansweredRequests(), (u) => ({ protocol: u.protocol, direction: u.direction, reason: u.reason })),
      },
      {
        name: 'rootsight_container_unanswered_requests_total',
        help: 'Requests of this container still waiting for their response when the connection closed, by protocol and direction (outbound: the container was the client)',
        type: 'counter',
        samples: this.state.unansweredByContainer().map((u) => ({ labels: { container_id: u.containerId, protocol: u.protocol, direction: u.direction }, value: u.count })),
      },
      {
        name: 'rootsight_agent_l7_ringbuf_lost_events_total', help: 'L7 kernel events dropped because the ring buffer was full, by event kind and protocol', type: 'counter',
        samples: sumBy(this.state.l7RingbufLost(), (l) => ({ kind: l.kind, protocol: l.protocol })),
      },
      { name: 'rootsight_agent_bpf_map_full_total', help: 'Connections the kernel could not track because a BPF map was full', type: 'counter', samples: [{ labels: { ringbuf: 'tcp_events' }, value: k.mapFull }] },
      { name: 'rootsight_agent_malformed_records_total', help: 'Ring buffer records with an unexpected size, skipped', type: 'counter', samples: [{ labels: { ringbuf: 'tcp_events' }, value: k.badRecords }] },
      {
        name: 'rootsight_agent_skipped_tcp_events_total', help: 'TCP events not counted, by reason', type: 'counter',
        samples: Object.entries(this.state.skipped()).map(([reason, value]) => ({ labels: { reason }, value })),
      },
      { name: 'rootsight_agent_tracked_connections', help: 'Outbound TCP connections tracked now', type: 'gauge', samples: [{ labels: {}, value: this.state.trackedConnections() }] },
    ];
    const nat = this.state.nat();
    if (nat) {
      families.push({
        name: 'rootsight_agent_nat_lookups_total',
        help: 'conntrack lookups of new outbound connections, by result: translated (actual_destination differs), not_translated (the entry or no entry), skipped (namespace tracks no connections), error',
        type: 'counter',
        samples: [
          { labels: { result: 'translated' }, value: nat.translated },
          { labels: { result: 'not_translated' }, value: nat.lookups - nat.translated - nat.errors },
          { labels: { result: 'skipped' }, value: nat.skipped },
          { labels: { result: 'error' }, value: nat.errors },
        ],
      });
    }
    const sp = this.state.spans();
    if (sp) {
      families.push(
        { name: 'rootsight_agent_spans_sent_total', help: 'Spans accepted by the collector', type: 'counter', samples: [{ labels: {}, value: sp.sentItems }] },
        { name: 'rootsight_agent_span_batches_dropped_total', help: 'Span batches dropped: queue full or rejected by the collector', type: 'counter', samples: [{ labels: {}, value: sp.droppedBatches }] },
      );
    }
    const rw = this.state.remoteWrite();
    if (rw) {
      families.push(
        { name: 'rootsight_agent_remote_write_sent_samples_total', help: 'Samples accepted by the collector', type: 'counter', samples: [{ labels: {}, value: rw.sentItems }] },
        { name: 'rootsight_agent_remote_write_dropped_batches_total', help: 'Scrapes dropped: queue full or rejected by the collector', type: 'counter', samples: [{ labels: {}, value: rw.droppedBatches }] },
        { name: 'rootsight_agent_remote_write_failed_attempts_total', help: 'Failed pushes that will be retried', type: 'counter', samples: [{ labels: {}, value: rw.failedAttempts }] },
        { name: 'rootsight_agent_remote_write_queued_bytes', help: 'Encoded bytes waiting to be pushed', type: 'gauge', samples: [{ labels: {}, value: rw.queuedBytes }] },
      );
    }
    return families;
  }
}

/** One sample per distinct label set, the counts of equal label sets added up. */
function sumBy<T extends { count: number }>(items: readonly T[], labelsOf: (item: T) => Record<string, string>): Array<{ labels: Record<string, string>; value: number }> {
  const out = new Map<string, { labels: Record<string, string>; value: number }>();
  for (const item of items) {
    const labels = labelsOf(item);
    const key = JSON.stringify(labels);
    const known = out.get(key);
    if (known) known.value += item.count;
    else out.set(key, { labels, value: item.count });
  }
  return [...out.values()];
}
