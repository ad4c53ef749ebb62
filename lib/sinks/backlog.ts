/**
 * The backlog sits between "accepted" and "sent" in every sink writer. It is FIFO: items leave it
 * only from the head, after the server acknowledged them or failed them for good.
 *
 * The interface is asynchronous so that a disk-backed spool can implement it; MemoryBacklog is the
 * in-memory implementation (bounded, with a visible drop policy).
 */
export interface SinkItem {
  /** Serialised size in bytes, for batching and bounds. */
  bytes: number;
}

export type FullPolicy = "drop-oldest" | "refuse-newest";

export interface AppendResult {
  /** Items appended. */
  accepted: number;
  /** Items refused because the backlog was full (policy refuse-newest): the last `refused` of the input. */
  refused: number;
  /** Items dropped from the head to make room (policy drop-oldest). */
  droppedOldest: number;
}

export interface Backlog<T extends SinkItem> {
  append(items: T[]): Promise<AppendResult>;
  /** Up to maxCount items / maxBytes bytes from the head (at least one item if any), not removed. */
  peek(maxCount: number, maxBytes: number): Promise<T[]>;
  /** Remove n items from the head. */
  shift(n: number): Promise<void>;
  readonly length: number;
  readonly bytes: number;
  /** Arrival time (ms) of the item at the head, or undefined when empty. */
  readonly oldestTs: number | undefined;
  close(): Promise<void>;
  /** True when what is in the backlog survives a restart (a disk spool): close() keeps it. */
  readonly durable?: boolean;
  /**
   * Milliseconds until peek() returns something (a backlog that paces its output, e.g. a rate-limited
   * replay); absent means "now".
   */
  readyIn?(): number;
  /** Called by the writer when a send succeeded after failures (the server is back). */
  recovered?(): void;
}

export interface MemoryBacklogOptions {
  maxItems?: number;
  maxBytes?: number;
  policy?: FullPolicy;
  now?: () => number;
}

export class MemoryBacklog<T extends SinkItem> implements Backlog<T> {
  private items: T[] = [];
  private times: number[] = [];
  private head = 0;
  /** Items at the head handed out by peek() and not yet shifted: never dropped. */
  private reserved = 0;
  private _bytes = 0;
  private readonly maxItems: number;
  private readonly maxBytes: number;
  private readonly policy: FullPolicy;
  private readonly now: () => number;

  constructor(opts: MemoryBacklogOptions = {}) {
    this.maxItems = opts.maxItems ?? 100_000;
    this.maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
    this.policy = opts.policy ?? "drop-oldest";
    this.now = opts.now ?? Date.now;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this._bytes;
  }

  get oldestTs(): number | undefined {
    return this.length > 0 ? this.times[this.head] : undefined;
  }

  private full(extraBytes: number): boolean {
    return this.length + 1 > this.maxItems || this._bytes + extraBytes > this.maxBytes;
  }

  append(items: T[]): Promise<AppendResult> {
    const res: AppendResult = { accepted: 0, refused: 0, droppedOldest: 0 };
    const t = this.now();
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (this.full(it.bytes)) {
        if (this.policy === "refuse-newest" || it.bytes > this.maxBytes) {
          res.refused = items.length - i;
          break;
        }
        while (this.full(it.bytes) && this.dropOldestUnreserved()) res.droppedOldest++;
        if (this.full(it.bytes)) {
          res.refused = items.length - i;
          break;
        }
      }
      this.items.push(it);
      this.times.push(t);
      this._bytes += it.bytes;
      res.accepted++;
    }
    return Promise.resolve(res);
  }

  /** Drop the oldest item that is not reserved by an in-flight batch; false when there is none. */
  private dropOldestUnreserved(): boolean {
    const idx = this.head + this.reserved;
    if (idx >= this.items.length) return false;
    this._bytes -= this.items[idx]!.bytes;
    if (this.reserved === 0) {
      (this.items as (T | undefined)[])[idx] = undefined;
      this.head++;
      this.compact();
    } else {
      this.items.splice(idx, 1);
      this.times.splice(idx, 1);
    }
    return true;
  }

  peek(maxCount: number, maxBytes: number): Promise<T[]> {
    const out: T[] = [];
    let b = 0;
    for (let i = this.head; i < this.items.length && out.length < maxCount; i++) {
      const it = this.items[i]!;
      if (out.length > 0 && b + it.bytes > maxBytes) break;
      out.push(it);
      b += it.bytes;
    }
    this.reserved = out.length;
    return Promise.resolve(out);
  }

  shift(n: number): Promise<void> {
    const k = Math.min(n, this.length);
    for (let i = 0; i < k; i++) {
      const idx = this.head + i;
      this._bytes -= this.items[idx]!.bytes;
      (this.items as (T | undefined)[])[idx] = undefined;
    }
    this.head += k;
    this.reserved = Math.max(0, this.reserved - k);
    this.compact();
    return Promise.resolve();
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.times = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
