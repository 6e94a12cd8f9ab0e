// Kernel events must be applied in order (a close must not overtake its
// connect), but some need an async lookup first: a pid that started after the
// last /proc scan. This queue applies events synchronously until one needs a
// lookup, waits for it, then carries on in order. It is bounded; overflow is counted.

export interface OrderedEventQueueOptions<E> {
  /** The pid that must be known before `apply(e)`, or undefined if none. */
  pidToResolve(e: E): number | undefined;
  resolvePid(pid: number): Promise<unknown>;
  apply(e: E): void;
  /** An event whose apply threw: it is skipped (counted in `failed`) and the queue carries on. */
  onApplyError?(err: unknown): void;
  maxQueued?: number;
}

export class OrderedEventQueue<E> {
  private readonly queue: E[] = [];
  private head = 0;
  private waiting = false;
  dropped = 0;
  failed = 0;

  constructor(private readonly opts: OrderedEventQueueOptions<E>) {}

  push(e: E): void {
    if (this.queue.length - this.head >= (this.opts.maxQueued ?? 200_000)) {
      this.dropped++;
      return;
    }
    this.queue.push(e);
    if (!this.waiting) this.drain();
  }

  /** The event waiting for its lookup, while resolvePid runs. */
  get current(): E | undefined {
    return this.waiting ? this.queue[this.head] : undefined;
  }

  get length(): number {
    return this.queue.length - this.head;
  }

  private drain(): void {
    while (this.head < this.queue.length) {
      const e = this.queue[this.head]!;
      const pid = this.opts.pidToResolve(e);
      if (pid !== undefined) {
        this.waiting = true;
        this.opts.resolvePid(pid).catch(() => undefined).finally(() => {
          this.waiting = false;
          this.applyHead();
          this.drain();
        });
        return;
      }
      this.applyHead();
    }
    this.queue.length = 0;
    this.head = 0;
  }

  private applyHead(): void {
    const e = this.queue[this.head++]!;
    try {
      this.opts.apply(e);
    } catch (err) {
      // One bad event must not stop the ones behind it (nor, thrown from a timer, the agent).
      this.failed++;
      this.opts.onApplyError?.(err);
    }
  }
}
