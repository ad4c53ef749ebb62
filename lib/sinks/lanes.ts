/**
 * SpoolLanes: the store-and-forward backlog of one sink node (issue 5). A Backlog on DiskSpools:
 *
 *   <dir>/live/                    what arrives now (every accepted record is appended here first)
 *   <dir>/replay-0000000001/ ...   backlogs of earlier outages and restarts, oldest first
 *
 * When a sink gets its server back after an outage (the writer calls recovered()), or on open after
 * a restart, the live lane's backlog becomes a replay lane by renaming its directory (atomic, nothing
 * is copied or read again) and a new live lane starts. From then on (order "live-first"):
 *   - live records go out as they come, batched by the writer as usual;
 *   - replay lanes drain oldest first, at most `replayRate` records/s (token bucket), so a long
 *     backlog never holds up current data nor floods the server.
 * Order "fifo" never rotates: one queue, strictly in arrival order, drained as fast as the server
 * takes it (replay lanes left by an earlier "live-first" configuration go first).
 *
 * Bound: `maxBytes` covers the live frames of all lanes. When full, "refuse-newest" refuses what
 * arrives; "drop-oldest" drops the globally oldest records (replay lanes first), never the batch in
 * flight. Memory does not grow with the backlog (no per-record state; a few lanes at most).
 *
 * Delivery is at-least-once: a crash between a server's acknowledgement and the head-file update
 * sends a batch again; the sinks make that idempotent (Kafka key, InfluxDB series + time).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LineGuardError } from "../errors";
import { AppendResult, Backlog, FullPolicy, SinkItem } from "./backlog";
import { DiskSpool, FsyncPolicy, SharedBudget, SpoolRecovery, SpoolSerializer } from "./spool";

export type ReplayOrder = "live-first" | "fifo";

export interface SpoolLanesOptions<T> {
  /** Directory of this sink's spool (created if missing). */
  dir: string;
  /** Bound on the frames of all lanes, bytes. Default 1 GiB. */
  maxBytes?: number;
  policy?: FullPolicy;
  fsync?: FsyncPolicy;
  fsyncIntervalMs?: number;
  /** Replay drain rate, records/s; 0 = as fast as the server takes it. Default 5000. */
  replayRate?: number;
  order?: ReplayOrder;
  /** The writer's linger: how long a part batch of live records may wait while replay runs. */
  lingerMs?: number;
  /** At most this many replay lanes; past it the live lane simply keeps growing. Default 64. */
  maxReplayLanes?: number;
  serializer?: SpoolSerializer<T>;
  now?: () => number;
}

export interface LaneStats {
  liveRecords: number;
  replayRecords: number;
  replayLanes: number;
  /** Live frame bytes of all lanes (what maxBytes bounds). */
  frameBytes: number;
  /** Segment files on disk. */
  diskBytes: number;
}

const LIVE = "live";
const REPLAY_RE = /^replay-(\d{10})$/;

function replayName(seq: number): string {
  return `replay-${String(seq).padStart(10, "0")}`;
}

export class SpoolLanes<T extends SinkItem> implements Backlog<T> {
  readonly durable = true;
  readonly dir: string;
  readonly maxBytes: number;
  readonly replayRate: number;
  readonly order: ReplayOrder;
  /** Torn or corrupt tails cut when the lanes were opened. */
  readonly recovery: SpoolRecovery = { truncatedBytes: 0, corruptSegments: [] };

  private readonly opts: SpoolLanesOptions<T>;
  private readonly lingerMs: number;
  private readonly maxReplayLanes: number;
  private readonly now: () => number;
  private live: DiskSpool<T>;
  private replay: DiskSpool<T>[] = [];
  private nextSeq = 1;
  /** Lane of the last peek(): shift() removes from it. */
  private last: DiskSpool<T> | undefined;
  private touched = new Set<DiskSpool<T>>();
  private tokens: number;
  private tokenTs: number;
  private closed = false;
  /** What the live lane counts against the bound besides itself: the replay lanes. */
  private readonly budget: SharedBudget = {
    frameBytes: (): number => this.replayFrameBytes,
    length: (): number => this.replayLength,
    dropOldest: (): boolean => this.dropOldest(),
  };

  constructor(opts: SpoolLanesOptions<T>) {
    this.opts = opts;
    this.dir = path.resolve(opts.dir);
    this.maxBytes = opts.maxBytes ?? 1024 * 1024 * 1024;
    this.replayRate = Math.max(0, opts.replayRate ?? 5000);
    this.order = opts.order ?? "live-first";
    this.lingerMs = Math.max(0, opts.lingerMs ?? 0);
    this.maxReplayLanes = Math.max(1, opts.maxReplayLanes ?? 64);
    this.now = opts.now ?? Date.now;
    this.tokens = this.burst();
    this.tokenTs = this.now();
    fs.mkdirSync(this.dir, { recursive: true });
    const seqs = fs
      .readdirSync(this.dir)
      .map((n) => REPLAY_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    try {
      for (const seq of seqs) {
        this.nextSeq = Math.max(this.nextSeq, seq + 1);
        const lane = this.open(path.join(this.dir, replayName(seq)), false);
        if (lane.length === 0) this.discard(lane);
        else this.replay.push(lane);
      }
      this.live = this.open(path.join(this.dir, LIVE), true);
    } catch (err) {
      for (const lane of this.replay) void lane.close();
      throw err;
    }
    // What a restart left in the live lane is a backlog now: replay it, rate-limited.
    this.rotate();
  }

  private open(dir: string, live: boolean): DiskSpool<T> {
    const lane = new DiskSpool<T>({
      dir,
      maxBytes: this.maxBytes,
      policy: this.opts.policy,
      fsync: this.opts.fsync,
      fsyncIntervalMs: this.opts.fsyncIntervalMs,
      serializer: this.opts.serializer,
      now: this.opts.now,
      shared: live ? this.budget : undefined,
      // every lane shares one segment size (what the bound would give one spool)
      segmentBytes: Math.min(64 * 1024 * 1024, Math.max(1024 * 1024, Math.floor(this.maxBytes / 16))),
    });
    this.recovery.truncatedBytes += lane.recovery.truncatedBytes;
    this.recovery.corruptSegments.push(...lane.recovery.corruptSegments);
    return lane;
  }

  /** Close an empty replay lane and delete its directory. */
  private discard(lane: DiskSpool<T>): void {
    void lane.close();
    fs.rmSync(lane.dir, { recursive: true, force: true });
    if (this.last === lane) this.last = undefined;
  }

  private burst(): number {
    return this.replayRate > 0 ? Math.max(1, this.replayRate) : Number.POSITIVE_INFINITY;
  }

  private check(): void {
    if (this.closed) throw new LineGuardError("spool-closed", `spool ${this.dir} is closed`);
  }

  // ------------------------------------------------------------------ replay lanes

  /** Frames of the replay lanes (the live lane counts its own). */
  get replayFrameBytes(): number {
    let s = 0;
    for (const l of this.replay) s += l.frameBytes;
    return s;
  }

  get replayLength(): number {
    let s = 0;
    for (const l of this.replay) s += l.length;
    return s;
  }

  private dropOldest(): boolean {
    for (const lane of this.replay) {
      if (lane.length > 0 && lane.dropOldestRecord()) {
        this.touched.add(lane);
        return true;
      }
    }
    return false;
  }

  private settleDrops(): void {
    if (this.touched.size === 0) return;
    for (const lane of this.touched) lane.commitDrops();
    this.touched.clear();
    this.replay = this.replay.filter((lane) => {
      if (lane.length > 0) return true;
      this.discard(lane);
      return false;
    });
  }

  // ------------------------------------------------------------------ Backlog

  get length(): number {
    return this.live.length + this.replayLength;
  }

  get bytes(): number {
    let s = this.live.bytes;
    for (const l of this.replay) s += l.bytes;
    return s;
  }

  get oldestTs(): number | undefined {
    for (const l of this.replay) if (l.length > 0) return l.oldestTs;
    return this.live.oldestTs;
  }

  laneStats(): LaneStats {
    let disk = this.live.diskBytes;
    for (const l of this.replay) disk += l.diskBytes;
    return {
      liveRecords: this.live.length,
      replayRecords: this.replayLength,
      replayLanes: this.replay.length,
      frameBytes: this.live.frameBytes + this.replayFrameBytes,
      diskBytes: disk,
    };
  }

  async append(items: T[]): Promise<AppendResult> {
    this.check();
    try {
      return await this.live.append(items);
    } finally {
      this.settleDrops();
    }
  }

  private refill(now: number): void {
    if (this.replayRate === 0) return;
    const dt = Math.max(0, now - this.tokenTs) / 1000;
    this.tokenTs = now;
    this.tokens = Math.min(this.burst(), this.tokens + dt * this.replayRate);
  }

  /** Replay records the bucket allows in one batch now (0: wait). */
  private replayAllowance(maxCount: number, headLength: number): number {
    if (this.replayRate === 0) return maxCount;
    // Batches of at least a tenth of a second of the rate (or what is left), never a trickle of ones.
    const need = Math.max(1, Math.min(maxCount, headLength, Math.ceil(this.replayRate / 10)));
    return this.tokens >= need ? Math.min(maxCount, Math.floor(this.tokens)) : 0;
  }

  private liveReady(maxCount: number, maxBytes: number, now: number): boolean {
    const l = this.live;
    if (l.length === 0) return false;
    const oldest = l.oldestTs ?? now;
    return l.length >= maxCount || l.bytes >= maxBytes || now - oldest >= this.lingerMs;
  }

  async peek(maxCount: number, maxBytes: number): Promise<T[]> {
    this.check();
    const head = this.replay[0];
    if (this.order === "fifo" || !head) {
      this.last = head ?? this.live;
      return this.last.peek(maxCount, maxBytes);
    }
    const now = this.now();
    if (this.liveReady(maxCount, maxBytes, now)) {
      this.last = this.live;
      return this.live.peek(maxCount, maxBytes);
    }
    this.refill(now);
    const n = this.replayAllowance(maxCount, head.length);
    if (n === 0) {
      this.last = undefined;
      return [];
    }
    const batch = await head.peek(n, maxBytes);
    if (this.replayRate > 0) this.tokens -= batch.length;
    this.last = head;
    return batch;
  }

  async shift(n: number): Promise<void> {
    this.check();
    const lane = this.last ?? this.replay[0] ?? this.live;
    await lane.shift(n);
    if (lane !== this.live && lane.length === 0) {
      this.replay = this.replay.filter((l) => l !== lane);
      this.discard(lane);
    }
  }

  /** Milliseconds until peek() will return something (0 = now); Infinity when empty. */
  readyIn(): number {
    if (this.closed || this.length === 0) return Number.POSITIVE_INFINITY;
    const head = this.replay[0];
    if (this.order === "fifo" || !head) return 0;
    const now = this.now();
    let wait = Number.POSITIVE_INFINITY;
    if (this.live.length > 0) wait = Math.max(0, this.lingerMs - (now - (this.live.oldestTs ?? now)));
    if (this.replayRate === 0) return 0;
    this.refill(now);
    const need = Math.max(1, Math.min(head.length, Math.ceil(this.replayRate / 10)));
    const replayWait = this.tokens >= need ? 0 : ((need - this.tokens) / this.replayRate) * 1000;
    return Math.ceil(Math.min(wait, replayWait));
  }

  /**
   * The server is back after failures (the writer calls this): what piled up in the live lane
   * becomes a replay lane, so that current data goes first from now on.
   */
  recovered(): void {
    if (this.closed) return;
    const oldest = this.live.oldestTs;
    if (oldest !== undefined && this.now() - oldest > this.lingerMs + 1000) this.rotate();
  }

  /** Turn the live lane into the newest replay lane. False when there was nothing to move. */
  rotate(): boolean {
    if (this.closed || this.order === "fifo" || this.live.length === 0) return false;
    if (this.replay.length >= this.maxReplayLanes) return false;
    const seq = this.nextSeq++;
    this.live.moveTo(path.join(this.dir, replayName(seq)));
    this.replay.push(this.live);
    if (this.last === this.live) this.last = undefined;
    this.live = this.open(path.join(this.dir, LIVE), true);
    return true;
  }

  flush(): void {
    this.live.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.settleDrops();
    await Promise.allSettled([this.live.close(), ...this.replay.map((l) => l.close())]);
  }
}
