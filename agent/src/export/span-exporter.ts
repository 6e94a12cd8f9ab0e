// Batches spans per resource (container) and pushes them as OTLP/HTTP protobuf to
// <collector-endpoint>/v1/traces. A batch goes out at MAX_BATCH_SPANS spans or after 1 s; the push queue
// bounds memory and counts what it drops.
import { PushQueue, type PushQueueStats } from './push-queue.ts';
import { ProtobufWriter } from '@rootsight/common';
import { encodeExportTraceRequest, encodeSpan, type AgentSpan, type SpanResource } from './otlp-traces.ts';

// Large batches: each POST costs about a millisecond of the agent's CPU whatever its size, which
// at 512 spans was a tenth of the spans' cost at 10k requests/s.
export const MAX_BATCH_SPANS = 2048;
const FLUSH_INTERVAL_MS = 1000;

export class SpanExporter {
  /** Spans waiting to be sent, per container, already encoded. */
  private readonly pending = new Map<string, { resource: SpanResource; spans: ProtobufWriter }>();
  private pendingCount = 0;
  private readonly queue: PushQueue;
  private readonly timer: NodeJS.Timeout;

  private readonly scopeVersion: string;

  constructor(opts: { url: string; apiKey?: string; scopeVersion: string; log?: (m: string) => void }) {
    this.scopeVersion = opts.scopeVersion;
    this.queue = new PushQueue({ url: opts.url, what: 'OTLP traces', headers: { 'Content-Type': 'application/x-protobuf' }, apiKey: opts.apiKey, log: opts.log, maxQueueBytes: 32 * 1024 * 1024 });
    this.timer = setInterval(() => this.flushBatch(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  get stats(): PushQueueStats {
    return this.queue.stats;
  }

  add(resource: SpanResource, span: AgentSpan): void {
    let g = this.pending.get(resource.containerId);
    if (!g) this.pending.set(resource.containerId, (g = { resource, spans: new ProtobufWriter() }));
    encodeSpan(g.spans, 2, span);
    if (++this.pendingCount >= MAX_BATCH_SPANS) this.flushBatch();
  }

  /** Sends what is pending and waits until the collector has it (tests, shutdown). */
  async flush(timeoutMs = 10_000): Promise<void> {
    this.flushBatch();
    await this.queue.flush(timeoutMs);
  }

  close(): void {
    clearInterval(this.timer);
    this.flushBatch();
    this.queue.close();
  }

  private flushBatch(): void {
    if (this.pendingCount === 0) return;
    const groups = [...this.pending.values()].map((g) => ({ resource: g.resource, encodedSpans: g.spans.finish() }));
    this.queue.enqueue(encodeExportTraceRequest(groups, this.scopeVersion), this.pendingCount);
    this.pending.clear();
    this.pendingCount = 0;
  }
}
