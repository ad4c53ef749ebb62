/**
 * BatchWriter: the part every sink shares. It accepts serialised items into a Backlog, sends them
 * to a Transport in ordered batches (count, bytes, linger), retries retriable failures forever with
 * the one backoff policy, and reports each accepted message's fate through a callback.
 *
 *   accept(items, cb) -> Backlog (memory, or the disk spool) -> Transport.send(batch) -> shift
 *
 * The Backlog is injected: with a durable one (SpoolLanes, completeOn "accept") a message is done
 * once its records are on disk, close() leaves the backlog where it is for the next start, and a
 * backlog that paces its output (rate-limited replay) tells the writer when to look again.
 */
import { EventEmitter } from "node:events";
import { LineGuardError, errorMessage, isRetriable } from "../errors";
import { DEFAULT_RETRY, RetryPolicy, backoffDelay } from "../retry";
import { Backlog, MemoryBacklog, SinkItem } from "./backlog";

export interface Transport<T extends SinkItem> {
  /** Establish the connection (called before the first send and after a retriable failure). */
  connect(): Promise<void>;
  /** Send one batch; resolve when the server acknowledged all of it. Throw a LineGuardError. */
  send(batch: T[]): Promise<void>;
  close(): Promise<void>;
  /**
   * True when a non-retriable failure may come from single items of the batch (a bad record): the
   * writer then sends the batch in halves until only the refused items fail.
   */
  splittable?(err: unknown): boolean;
}

export type WriterState = "connecting" | "connected" | "disconnected" | "failed" | "closed";

/**
 * "ack": a message's callback runs when all its items were acknowledged by the server (or failed).
 * "accept": it runs as soon as the items are in the backlog (for a durable spool).
 */
export type CompleteOn = "ack" | "accept";

export interface WriterOptions<T extends SinkItem> {
  transport: Transport<T>;
  backlog?: Backlog<T>;
  batchSize?: number;
  batchBytes?: number;
  lingerMs?: number;
  retry?: RetryPolicy;
  completeOn?: CompleteOn;
  /** How long close() waits for the backlog to drain. */
  closeTimeoutMs?: number;
}

export interface WriterStats {
  state: WriterState;
  pending: number;
  pendingBytes: number;
  oldestMs: number | undefined;
  accepted: number;
  sent: number;
  failed: number;
  dropped: number;
  retries: number;
  batches: number;
  lastError: string | undefined;
  lastSendMs: number | undefined;
}

type Callback = (err?: Error) => void;

interface Ticket {
  remaining: number;
  error?: Error;
  cb: Callback;
}

/** Tickets in backlog order: each segment covers `n` consecutive items of one message. */
interface Segment {
  ticket: Ticket;
  n: number;
}

export class BatchWriter<T extends SinkItem> extends EventEmitter {
  private readonly transport: Transport<T>;
  private readonly backlog: Backlog<T>;
  private readonly batchSize: number;
  private readonly batchBytes: number;
  private readonly lingerMs: number;
  private readonly retry: RetryPolicy;
  private readonly completeOn: CompleteOn;
  private readonly closeTimeoutMs: number;

  private segments: Segment[] = [];
  private segHead = 0;
  private _state: WriterState = "connecting";
  private connected = false;
  private pumping = false;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private closing = false;
  private inflight = 0;
  /** Serialises appends so items keep arrival order even when the backlog is asynchronous. */
  private appendChain: Promise<unknown> = Promise.resolve();
  private wakeRetry: (() => void) | undefined;
  /** Items at the head still being isolated after a splittable refusal, and the batch size for them. */
  private isolate = 0;
  private splitLimit = Number.POSITIVE_INFINITY;

  private readonly counters = { accepted: 0, sent: 0, failed: 0, dropped: 0, retries: 0, batches: 0 };
  private lastError: string | undefined;
  private lastSendMs: number | undefined;

  constructor(opts: WriterOptions<T>) {
    super();
    this.transport = opts.transport;
    this.backlog = opts.backlog ?? new MemoryBacklog<T>();
    this.batchSize = Math.max(1, opts.batchSize ?? 500);
    this.batchBytes = Math.max(1, opts.batchBytes ?? 1024 * 1024);
    this.lingerMs = Math.max(0, opts.lingerMs ?? 50);
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.completeOn = opts.completeOn ?? "ack";
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 5000;
  }

  get state(): WriterState {
    return this._state;
  }

  private setState(s: WriterState, detail?: string): void {
    if (this._state === s && detail === undefined) return;
    this._state = s;
    this.emit("state", s, detail);
  }

  stats(): WriterStats {
    const oldest = this.backlog.oldestTs;
    return {
      state: this._state,
      pending: this.backlog.length,
      pendingBytes: this.backlog.bytes,
      oldestMs: oldest === undefined ? undefined : Date.now() - oldest,
      ...this.counters,
      lastError: this.lastError,
      lastSendMs: this.lastSendMs,
    };
  }

  /** Start connecting eagerly, so status shows the real state before the first message. */
  start(): void {
    void this.ensureConnected().then(
      () => this.schedule(),
      () => this.schedule(),
    );
  }

  /**
   * Accept items of one message. `cb` runs once: without error when every item was delivered
   * (completeOn "ack") or stored (completeOn "accept"); with the first error otherwise.
   */
  accept(items: T[], cb: Callback = () => undefined): void {
    if (this.closing) {
      cb(new LineGuardError("closed", "sink is closing; message not accepted"));
      return;
    }
    if (items.length === 0) {
      cb();
      return;
    }
    this.appendChain = this.appendChain
      .then(() => this.backlog.append(items))
      .then(
        (res) => {
          this.counters.accepted += res.accepted;
          const ticket: Ticket = { remaining: res.accepted, cb };
          if (res.droppedOldest > 0) {
            this.counters.dropped += res.droppedOldest;
            this.settleAt(
              this.inflight,
              res.droppedOldest,
              new LineGuardError("dropped", `backlog full: ${res.droppedOldest} oldest item(s) dropped`),
            );
          }
          if (res.refused > 0) {
            this.counters.dropped += res.refused;
            ticket.error = new LineGuardError("refused", `backlog full: ${res.refused} item(s) refused`);
          }
          if (this.completeOn === "accept" || res.accepted === 0) {
            // Nothing waits for these items' delivery: no ticket is kept (memory stays flat however
            // long the backlog grows).
            cb(ticket.error);
          } else {
            this.pushSegment(ticket, res.accepted);
          }
          this.emit("accepted", res.accepted);
          this.schedule();
        },
        (err: unknown) => {
          cb(err instanceof Error ? err : new Error(String(err)));
        },
      );
  }

  private pushSegment(ticket: Ticket, n: number): void {
    this.segments.push({ ticket, n });
  }

  /** Settle `k` items starting `offset` items after the head of the ticket queue. */
  private settleAt(offset: number, k: number, err?: Error): void {
    let i = this.segHead;
    let skip = offset;
    while (k > 0 && i < this.segments.length) {
      const seg = this.segments[i]!;
      if (skip >= seg.n) {
        skip -= seg.n;
        i++;
        continue;
      }
      const take = Math.min(k, seg.n - skip);
      seg.n -= take;
      k -= take;
      const t = seg.ticket;
      t.remaining -= take;
      if (err && !t.error) t.error = err;
      if (t.remaining <= 0) t.cb(t.error);
      if (seg.n === 0 && i === this.segHead) {
        this.segHead++;
        i++;
      } else if (seg.n === 0) {
        this.segments.splice(i, 1);
      } else {
        i++;
      }
      skip = 0;
    }
    if (this.segHead >= this.segments.length) {
      this.segments = [];
      this.segHead = 0;
    } else if (this.segHead > 1024 && this.segHead * 2 > this.segments.length) {
      this.segments = this.segments.slice(this.segHead);
      this.segHead = 0;
    }
  }

  private schedule(): void {
    if (this.pumping || this.closing) return;
    if (this.backlog.length === 0) return;
    const wait = this.backlog.readyIn?.() ?? 0;
    if (wait > 0 && Number.isFinite(wait)) {
      // A pacing backlog (rate-limited replay) has nothing to give yet: look again when it will.
      if (!this.timer) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          void this.pump();
        }, wait);
      }
      return;
    }
    if (this.backlog.length >= this.batchSize || this.backlog.bytes >= this.batchBytes || this.lingerMs === 0) {
      this.clearTimer();
      setImmediate(() => void this.pump());
      return;
    }
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.pump();
      }, this.lingerMs);
    }
  }

  private clearTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private async ensureConnected(): Promise<void> {
    if (this.connected) return;
    this.setState("connecting");
    await this.transport.connect();
    this.connected = true;
    this.attempt = 0;
    this.setState("connected");
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeRetry = undefined;
        resolve();
      }, ms);
      this.wakeRetry = () => {
        clearTimeout(t);
        this.wakeRetry = undefined;
        resolve();
      };
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.backlog.length > 0 && !this.closing) {
        let batch: T[];
        try {
          const max = this.isolate > 0 ? Math.min(this.batchSize, this.splitLimit) : this.batchSize;
          batch = await this.backlog.peek(max, this.batchBytes);
        } catch (err) {
          // The spool itself failed (disk error, corrupt frame): say so, keep trying with backoff.
          await this.backlogFailed(err);
          continue;
        }
        if (batch.length === 0) break;
        this.inflight = batch.length;
        const t0 = Date.now();
        let sent = false;
        try {
          await this.ensureConnected();
          await this.transport.send(batch);
          sent = true;
          this.lastSendMs = Date.now() - t0;
          this.counters.sent += batch.length;
          this.counters.batches++;
          this.emit("latency", this.lastSendMs, batch.length);
          await this.backlog.shift(batch.length);
          this.inflight = 0;
          this.settleAt(0, batch.length);
          this.isolated(batch.length);
          const recovered = this.attempt > 0;
          this.attempt = 0;
          if (recovered) this.backlog.recovered?.();
          if (this._state !== "connected") this.setState("connected");
          this.emit("sent", batch.length);
        } catch (err) {
          if (sent) {
            // Delivered, but the backlog could not record it: it will be sent again (at-least-once).
            await this.backlogFailed(err);
            continue;
          }
          // On a retriable failure the batch stays reserved at the head of the backlog (inflight
          // mirrors that), so a full backlog never drops what is being retried.
          this.lastError = errorMessage(err);
          if (isRetriable(err)) {
            this.counters.retries++;
            this.connected = false;
            this.setState("disconnected", this.lastError);
            this.emit("retry", err, this.attempt);
          } else if (batch.length > 1 && this.transport.splittable?.(err) === true) {
            // A record of the batch was refused: send it in halves so that the others get through
            // and only the refused records fail (no backoff: nothing is wrong with the server).
            this.inflight = 0;
            this.isolate = Math.max(this.isolate, batch.length);
            this.splitLimit = Math.ceil(batch.length / 2);
            this.emit("split", err, batch.length);
            continue;
          } else {
            // The server refused this batch for good: fail its messages, go on with the next at once.
            this.counters.failed += batch.length;
            await this.backlog.shift(batch.length);
            this.inflight = 0;
            this.isolated(batch.length);
            const e = err instanceof Error ? err : new Error(String(err));
            this.settleAt(0, batch.length, e);
            this.setState("failed", this.lastError);
            this.emit("failed", e, batch);
            continue;
          }
          if (this.closing) break;
          await this.sleep(backoffDelay(this.attempt++, this.retry));
          continue;
        }
        // A part batch waits for the linger time, unless more is already there.
        if (
          this.backlog.length > 0 &&
          this.backlog.length < this.batchSize &&
          this.backlog.bytes < this.batchBytes &&
          this.lingerMs > 0
        ) {
          break;
        }
      }
    } finally {
      this.pumping = false;
    }
    this.schedule();
  }

  /** `n` items at the head were dealt with (sent or failed): end the isolation when it is done. */
  private isolated(n: number): void {
    if (this.isolate === 0) return;
    this.isolate = Math.max(0, this.isolate - n);
    // Halve on a refusal, double after each batch dealt with: a few refused records among thousands
    // cost a few requests each (a bisection), not one request per record.
    this.splitLimit = this.isolate === 0 ? Number.POSITIVE_INFINITY : this.splitLimit * 2;
  }

  private async backlogFailed(err: unknown): Promise<void> {
    this.lastError = `spool: ${errorMessage(err)}`;
    this.counters.retries++;
    this.setState("failed", this.lastError);
    this.emit("backlog-error", err instanceof Error ? err : new Error(String(err)));
    if (!this.closing) await this.sleep(backoffDelay(this.attempt++, this.retry));
  }

  /** Wake a writer that is waiting out a backoff (e.g. after the user fixed the server). */
  retryNow(): void {
    this.wakeRetry?.();
  }

  /**
   * Stop accepting, try to deliver what is pending within closeTimeoutMs, then fail whatever is left
   * (those callbacks get an error) and close the transport. A durable backlog is not drained: the
   * batch in flight may finish, the rest stays on disk for the next start.
   */
  async close(): Promise<void> {
    if (this._state === "closed") return;
    this.clearTimer();
    await this.appendChain.catch(() => undefined);
    if (this.backlog.durable) {
      this.closing = true;
      this.wakeRetry?.();
      const until = Date.now() + this.closeTimeoutMs;
      while (this.pumping && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      this.setState("closed");
      await Promise.allSettled([this.transport.close(), this.backlog.close()]);
      return;
    }
    const deadline = Date.now() + this.closeTimeoutMs;
    // A pump that keeps failing retriably (server gone at close) would retry forever: stop it at the deadline.
    const stop = setTimeout(() => {
      this.closing = true;
      this.wakeRetry?.();
    }, this.closeTimeoutMs);
    if (this.connected && this.backlog.length > 0) {
      await this.pump().catch(() => undefined);
      while (this.backlog.length > 0 && this.connected && Date.now() < deadline) {
        await this.pump().catch(() => undefined);
        if (this.backlog.length > 0) await new Promise((r) => setTimeout(r, 10));
      }
    }
    clearTimeout(stop);
    this.closing = true;
    this.wakeRetry?.();
    const waitUntil = Date.now() + 2000;
    while (this.pumping && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 10));
    const left = this.backlog.length;
    if (left > 0 && this.completeOn === "ack") {
      this.settleAt(0, left, new LineGuardError("closed", `sink closed with ${left} item(s) undelivered`));
      await this.backlog.shift(left);
    }
    this.setState("closed");
    await Promise.allSettled([this.transport.close(), this.backlog.close()]);
  }
}
