/**
 * MicroBatcher: collects items from many callers and runs them together, when `maxBatch` items
 * are waiting or `maxWaitMs` after the first one arrived. Up to `maxInFlight` batches run at once;
 * items that arrive meanwhile form the next batch. Per-message overhead of an inference run dominates at
 * high rates, so windows of many sources share one run.
 */
export type RunBatch<T, R> = (items: T[]) => Promise<R[]>;

interface Waiting<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: Error) => void;
}

export class MicroBatcher<T, R> {
  private queue: Array<Waiting<T, R>> = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private closed = false;

  /**
   * @param maxInFlight batches running at once: 2 lets the caller prepare the next batch while the
   *   worker computes the current one.
   */
  constructor(
    private readonly run: RunBatch<T, R>,
    private readonly maxBatch = 64,
    private readonly maxWaitMs = 10,
    private readonly maxInFlight = 1,
  ) {}

  get waiting(): number {
    return this.queue.length;
  }

  add(item: T): Promise<R> {
    if (this.closed) return Promise.reject(new Error("batcher is closed"));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.inFlight >= this.maxInFlight) return;
    if (this.queue.length >= this.maxBatch) {
      this.clear();
      void this.flush();
    } else if (!this.timer && this.queue.length > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.maxWaitMs);
    }
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async flush(): Promise<void> {
    if (this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    this.inFlight++;
    const batch = this.queue.splice(0, this.maxBatch);
    try {
      const results = await this.run(batch.map((w) => w.item));
      if (results.length !== batch.length)
        throw new Error(`batch returned ${results.length} results for ${batch.length} items`);
      batch.forEach((w, i) => w.resolve(results[i]!));
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      for (const w of batch) w.reject(e);
    } finally {
      this.inFlight--;
    }
    this.schedule();
  }

  /** Fail whatever still waits. */
  close(): void {
    this.closed = true;
    this.clear();
    const left = this.queue.splice(0);
    for (const w of left) w.reject(new Error("batcher is closed"));
  }
}
