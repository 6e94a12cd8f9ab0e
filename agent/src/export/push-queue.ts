// Pushes encoded batches (remote-write scrapes, OTLP spans) to the collector. Batches wait in
// a bounded in-memory queue while the server is unreachable; when the queue is full the oldest
// batch is dropped and counted, so the agent's memory never grows.

export interface PushQueueOptions {
  url: string;
  /** What is pushed, for log lines: "remote write", "OTLP traces". */
  what: string;
  /** Content-Type and friends. */
  headers: Record<string, string>;
  apiKey?: string;
  /** Most encoded bytes kept waiting. */
  maxQueueBytes?: number;
  timeoutMs?: number;
  log?: (msg: string) => void;
}

export interface PushQueueStats {
  sentBatches: number;
  /** Samples or spans accepted by the collector. */
  sentItems: number;
  failedAttempts: number;
  droppedBatches: number;
  queuedBatches: number;
  queuedBytes: number;
}

interface QueuedBatch { body: Uint8Array; items: number }

type PostOutcome = { kind: 'sent' } | { kind: 'drop'; error: string } | { kind: 'retry'; error: string };

export class PushQueue {
  private readonly queue: QueuedBatch[] = [];
  private queuedBytes = 0;
  private sending = false;
  private backoffMs = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastError = '';
  private closed = false;
  readonly stats: PushQueueStats = { sentBatches: 0, sentItems: 0, failedAttempts: 0, droppedBatches: 0, queuedBatches: 0, queuedBytes: 0 };

  constructor(private readonly opts: PushQueueOptions) {}

  /** Queues one encoded batch of `items` samples or spans. */
  enqueue(body: Uint8Array, items: number): void {
    const cap = this.opts.maxQueueBytes ?? 64 * 1024 * 1024;
    this.queue.push({ body, items });
    this.queuedBytes += body.length;
    while (this.queuedBytes > cap && this.queue.length > 1) {
      const dropped = this.queue.shift()!;
      this.queuedBytes -= dropped.body.length;
      this.stats.droppedBatches++;
    }
    this.updateQueueStats();
    if (this.backoffMs === 0) void this.drain();
  }

  /** Resolves when everything queued has been accepted by the server (or fails after timeoutMs). */
  async flush(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 || this.sending) {
      if (Date.now() > deadline) throw new Error(`${this.opts.what} flush timed out: ${this.queue.length} batches queued; last error: ${this.lastError || 'none'}`);
      if (!this.sending) {
        this.backoffMs = 0;
        await this.drain();
      } else {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  private async drain(): Promise<void> {
    if (this.sending || this.closed) return;
    this.sending = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const batch = this.queue[0]!;
        const outcome = await this.post(batch.body);
        if (outcome.kind === 'retry') {
          const error = outcome.error;
          this.stats.failedAttempts++;
          if (error !== this.lastError) this.opts.log?.(`${this.opts.what} to ${this.opts.url} failed: ${error}; retrying with backoff`);
          this.lastError = error;
          this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 1000), 60_000);
          clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => { this.backoffMs = 0; void this.drain(); }, this.backoffMs);
          this.retryTimer.unref();
          return;
        }
        if (this.lastError) this.opts.log?.(`${this.opts.what} to ${this.opts.url} recovered`);
        this.lastError = '';
        this.backoffMs = 0;
        this.queue.shift();
        this.queuedBytes -= batch.body.length;
        if (outcome.kind === 'sent') {
          this.stats.sentBatches++;
          this.stats.sentItems += batch.items;
        } else {
          this.opts.log?.(`${this.opts.what} rejected: ${outcome.error}; dropping the batch`);
          this.stats.droppedBatches++;
        }
        this.updateQueueStats();
      }
    } finally {
      this.sending = false;
    }
  }

  /** A 4xx other than 429 means the batch itself is bad: retrying cannot help, so it is dropped. */
  private async post(body: Uint8Array): Promise<PostOutcome> {
    const headers: Record<string, string> = { ...this.opts.headers, 'User-Agent': 'rootsight-agent' };
    if (this.opts.apiKey) headers['X-API-Key'] = this.opts.apiKey;
    try {
      const res = await fetch(this.opts.url, { method: 'POST', headers, body: body as Uint8Array<ArrayBuffer>, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
      const text = (await res.text()).slice(0, 300);
      if (res.ok) return { kind: 'sent' };
      const error = `HTTP ${res.status}: ${text}`;
      if (res.status >= 400 && res.status < 500 && res.status !== 429) return { kind: 'drop', error };
      return { kind: 'retry', error };
    } catch (e) {
      const err = e as Error & { cause?: Error };
      return { kind: 'retry', error: err.cause?.message ?? err.message };
    }
  }

  private updateQueueStats(): void {
    this.stats.queuedBatches = this.queue.length;
    this.stats.queuedBytes = this.queuedBytes;
  }
}
