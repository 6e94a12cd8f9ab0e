// Group commit with a memory bound, one per signal. Requests hand in decoded rows and wait; while
// one insert runs, later requests queue up and all go into the next insert together, and each
// request is answered only when the insert holding its rows has finished (durable, not just
// queued). Queued + in-flight bytes are capped: past the cap a request is refused at once with a
// retry hint instead of growing memory while storage is behind.

export class BackpressureError extends Error {
  constructor(readonly retryAfterSeconds: number, message: string) {
    super(message);
    this.name = 'BackpressureError';
  }
}

export interface BatcherOptions<Row> {
  name: string;
  /** Upper bound for queued plus in-flight request bytes. */
  maxBytes: number;
  /** Rows per insert; larger batches are split across consecutive inserts (at item boundaries). */
  maxBatchRows: number;
  /** How many table rows one item stands for; 1 by default. Items that are pre-encoded payloads count their rows. */
  rowsOf?: (item: Row) => number;
  write(rows: Row[]): Promise<void>;
}

interface Pending<Row> { rows: Row[]; weight: number; bytes: number; resolve: () => void; reject: (e: Error) => void }

export interface BatcherStats { name: string; queuedBytes: number; inflightBytes: number; maxBytes: number; peakBytes: number; inserts: number; rowsWritten: number; rejected: number }

export class GroupCommitBatcher<Row> {
  private queue: Pending<Row>[] = [];
  private queuedBytes = 0;
  private inflightBytes = 0;
  private peakBytes = 0;
  private inserts = 0;
  private rowsWritten = 0;
  private rejected = 0;
  private writing: Promise<void> | undefined;
  /** Recent insert throughput, for the Retry-After estimate. */
  private bytesPerSecond = 0;

  constructor(private readonly opts: BatcherOptions<Row>) {}

  /** True when a request of `bytes` would be refused now; lets callers refuse before decoding. */
  full(bytes = 0): boolean {
    const used = this.queuedBytes + this.inflightBytes;
    return used > 0 && used + bytes > this.opts.maxBytes;
  }

  /** Resolves once the rows are stored; throws BackpressureError when over the byte cap. */
  submit(rows: Row[], bytes: number): Promise<void> {
    if (this.full(bytes)) {
      this.rejected++;
      const s = this.retryAfterSeconds();
      return Promise.reject(new BackpressureError(s, `${this.opts.name} ingest is behind storage (${this.queuedBytes + this.inflightBytes} bytes waiting, limit ${this.opts.maxBytes}); retry after ${s}s`));
    }
    if (rows.length === 0) return Promise.resolve();
    const weight = this.weightOf(rows);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rows, weight, bytes, resolve, reject });
      this.queuedBytes += bytes;
      this.peakBytes = Math.max(this.peakBytes, this.queuedBytes + this.inflightBytes);
      this.kick();
    });
  }

  stats(): BatcherStats {
    return {
      name: this.opts.name, queuedBytes: this.queuedBytes, inflightBytes: this.inflightBytes, maxBytes: this.opts.maxBytes,
      peakBytes: this.peakBytes, inserts: this.inserts, rowsWritten: this.rowsWritten, rejected: this.rejected,
    };
  }

  /** Waits until everything accepted so far is written (or failed). */
  async drain(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private kick(): void {
    if (this.writing || this.queue.length === 0) return;
    const batch: Pending<Row>[] = [];
    let rows = 0;
    while (this.queue.length > 0 && (batch.length === 0 || rows + this.queue[0]!.weight <= this.opts.maxBatchRows)) {
      const p = this.queue.shift()!;
      batch.push(p);
      rows += p.weight;
    }
    const bytes = batch.reduce((a, p) => a + p.bytes, 0);
    this.queuedBytes -= bytes;
    this.inflightBytes += bytes;
    this.writing = this.writeBatch(batch, bytes).finally(() => {
      this.inflightBytes -= bytes;
      this.writing = undefined;
      this.kick();
    });
  }

  private async writeBatch(batch: Pending<Row>[], bytes: number): Promise<void> {
    const started = performance.now();
    const rows = batch.length === 1 ? batch[0]!.rows : batch.flatMap((p) => p.rows);
    try {
      let written = 0;
      for (const chunk of this.chunks(rows)) {
        await this.opts.write(chunk);
        written += this.weightOf(chunk);
      }
      this.inserts++;
      this.rowsWritten += written;
      const seconds = Math.max((performance.now() - started) / 1000, 0.001);
      this.bytesPerSecond = this.bytesPerSecond === 0 ? bytes / seconds : 0.8 * this.bytesPerSecond + 0.2 * (bytes / seconds);
      for (const p of batch) p.resolve();
    } catch (e) {
      for (const p of batch) p.reject(e as Error);
    }
  }

  private weightOf(items: readonly Row[]): number {
    const f = this.opts.rowsOf;
    if (!f) return items.length;
    let n = 0;
    for (const it of items) n += f(it);
    return n;
  }

  /** Consecutive runs of items of at most maxBatchRows rows (an item larger than that goes alone). */
  private *chunks(items: Row[]): Generator<Row[]> {
    if (this.weightOf(items) <= this.opts.maxBatchRows) { yield items; return; }
    if (!this.opts.rowsOf) {
      for (let i = 0; i < items.length; i += this.opts.maxBatchRows) yield items.slice(i, i + this.opts.maxBatchRows);
      return;
    }
    let cur: Row[] = [];
    let n = 0;
    for (const it of items) {
      const w = this.opts.rowsOf(it);
      if (cur.length > 0 && n + w > this.opts.maxBatchRows) { yield cur; cur = []; n = 0; }
      cur.push(it);
      n += w;
    }
    if (cur.length > 0) yield cur;
  }

  private retryAfterSeconds(): number {
    const waiting = this.queuedBytes + this.inflightBytes;
    const est = this.bytesPerSecond > 0 ? Math.ceil(waiting / this.bytesPerSecond) : 1;
    return Math.min(Math.max(est, 1), 60);
  }
}
