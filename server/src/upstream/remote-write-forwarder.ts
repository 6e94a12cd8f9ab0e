// Forwards accepted remote-write bodies (snappy-compressed WriteRequests, byte for byte) to the
// upstream's remote-write receiver. Ingest never waits for the upstream: bodies wait in a queue
// bounded by bytes and are sent one at a time, in arrival order (Prometheus' receiver refuses
// samples older than what it already has for a series, so reordering would lose data). A failed
// send is retried with exponential backoff; what cannot be delivered is counted, never held
// without limit.
import { redact, type UpstreamEndpoint } from './upstream-url.ts';

export interface ForwarderOptions {
  endpoint: UpstreamEndpoint;
  /** Queue bound; a body that does not fit is dropped and counted. Default 64 MiB. */
  maxQueueBytes?: number;
  /** Sends per body before it is given up (counted as failed). Default 8. */
  maxAttempts?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Per request. Default 30 s. */
  requestTimeoutMs?: number;
  log?: (msg: string) => void;
}

export interface ForwarderStats {
  url: string;
  queuedBatches: number;
  queuedBytes: number;
  maxQueueBytes: number;
  sentBatches: number;
  sentBytes: number;
  /** Sends repeated after a network error, a timeout, 429 or 5xx. */
  retries: number;
  /** Given up after maxAttempts. */
  failedBatches: number;
  /** Refused by the upstream with a 4xx other than 429 (retrying cannot help). */
  rejectedBatches: number;
  /** Did not fit in the queue, or were still queued at shutdown. */
  droppedBatches: number;
  droppedBytes: number;
  lastError?: string;
  lastErrorAt?: number;
}

export class RemoteWriteForwarder {
  private readonly queue: Uint8Array<ArrayBuffer>[] = [];
  private readonly opts: Required<Omit<ForwarderOptions, 'log'>> & { log: (msg: string) => void };
  private readonly s: ForwarderStats;
  private running: Promise<void> | undefined;
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly inflight = new AbortController();
  private failing = false;

  constructor(opts: ForwarderOptions) {
    this.opts = {
      maxQueueBytes: 64 * 1024 * 1024, maxAttempts: 8, minBackoffMs: 200, maxBackoffMs: 10_000, requestTimeoutMs: 30_000,
      log: () => undefined, ...opts,
    };
    this.s = {
      url: redact(this.opts.endpoint.remoteWriteUrl), queuedBatches: 0, queuedBytes: 0, maxQueueBytes: this.opts.maxQueueBytes,
      sentBatches: 0, sentBytes: 0, retries: 0, failedBatches: 0, rejectedBatches: 0, droppedBatches: 0, droppedBytes: 0,
    };
  }

  stats(): ForwarderStats {
    return { ...this.s };
  }

  /** Queues one body for sending; false (and counted) when the queue is full or closed. */
  enqueue(body: Uint8Array): boolean {
    if (this.closed || this.s.queuedBytes + body.length > this.opts.maxQueueBytes) {
      this.s.droppedBatches++;
      this.s.droppedBytes += body.length;
      return false;
    }
    this.queue.push(new Uint8Array(body)); // a copy of its own: the request's buffer may be pooled
    this.s.queuedBatches++;
    this.s.queuedBytes += body.length;
    this.running ??= this.drain().finally(() => { this.running = undefined; });
    return true;
  }

  /** Waits up to graceMs for the queue to empty, then stops; what is left is counted as dropped. */
  async close(graceMs = 2000): Promise<void> {
    if (this.running) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.running, new Promise((r) => { timer = setTimeout(r, graceMs); })]);
      clearTimeout(timer);
    }
    this.closed = true;
    this.inflight.abort();
    this.wake?.();
    await this.running;
    for (const b of this.queue.splice(0)) { this.s.droppedBatches++; this.s.droppedBytes += b.length; }
    this.s.queuedBatches = 0;
    this.s.queuedBytes = 0;
  }

  private async drain(): Promise<void> {
    while (!this.closed && this.queue.length > 0) {
      const body = this.queue[0]!;
      // Interrupted by close(): the body stays queued, and close() counts it as dropped.
      if (!(await this.deliver(body))) return;
      if (this.queue[0] === body) {
        this.queue.shift();
        this.s.queuedBatches--;
        this.s.queuedBytes -= body.length;
      }
    }
  }

  /** True once the body is settled (sent, rejected or given up); false when close() interrupted. */
  private async deliver(body: Uint8Array<ArrayBuffer>): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.send(body);
      if (outcome === 'ok') {
        this.s.sentBatches++;
        this.s.sentBytes += body.length;
        if (this.failing) { this.failing = false; this.opts.log(`upstream remote write: ${this.s.url} accepts writes again`); }
        return true;
      }
      if (outcome === 'rejected') { this.s.rejectedBatches++; return true; }
      if (this.closed) return false;
      if (attempt >= this.opts.maxAttempts) {
        this.s.failedBatches++;
        this.opts.log(`upstream remote write: gave up on a batch of ${body.length} bytes after ${attempt} attempts: ${this.s.lastError}`);
        return true;
      }
      this.s.retries++;
      await this.sleep(Math.min(this.opts.maxBackoffMs, this.opts.minBackoffMs * 2 ** (attempt - 1)));
      if (this.closed) return false;
    }
  }

  private async send(body: Uint8Array<ArrayBuffer>): Promise<'ok' | 'retry' | 'rejected'> {
    const { endpoint } = this.opts;
    try {
      const r = await fetch(endpoint.remoteWriteUrl, {
        method: 'POST',
        body,
        headers: {
          ...endpoint.headers,
          'content-type': 'application/x-protobuf',
          'content-encoding': 'snappy',
          'x-prometheus-remote-write-version': '0.1.0',
          'user-agent': 'rootsight',
        },
        signal: AbortSignal.any([this.inflight.signal, AbortSignal.timeout(this.opts.requestTimeoutMs)]),
      });
      const text = r.ok ? '' : (await r.text()).trim().slice(0, 300);
      if (r.ok) { await r.body?.cancel(); return 'ok'; }
      const retry = r.status === 429 || r.status >= 500;
      this.fail(`${r.status} from ${this.s.url}${text ? `: ${text}` : ''}`);
      return retry ? 'retry' : 'rejected';
    } catch (e) {
      if (this.closed) return 'retry'; // aborted by close(), not the upstream's fault
      this.fail(`${this.s.url} unreachable: ${describeFetchError(e)}`);
      return 'retry';
    }
  }

  private fail(message: string): void {
    if (!this.failing || this.s.lastError !== message) this.opts.log(`upstream remote write: ${message}`);
    this.failing = true;
    this.s.lastError = message;
    this.s.lastErrorAt = Date.now();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => { clearTimeout(t); this.wake = undefined; resolve(); };
    });
  }
}

/** fetch() reports "fetch failed"; the reason (ECONNREFUSED, a timeout, DNS) is in its cause. */
export function describeFetchError(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return 'no answer before the timeout';
  if (err.name === 'AbortError') return 'aborted (shutting down)';
  const cause = err.cause;
  if (cause) return [cause.code, cause.message].filter(Boolean).join(' ');
  return String(err.message ?? e);
}
