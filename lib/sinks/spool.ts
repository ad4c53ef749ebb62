/**
 * DiskSpool: a disk-backed, append-only, ordered Backlog (issue 5, store-and-forward).
 *
 * Layout of `dir` (one directory per sink node, under the Node-RED userDir):
 *   0000000001.seg, 0000000002.seg, ...  append-only segment files of framed records
 *   head                                 where the live queue starts (rewritten in place on shift)
 *
 * Frame: [payload length u32][crc32 u32][arrival ts f64][item.bytes u32][payload], little endian,
 * crc32 over everything after the crc field. A segment is sealed when it reaches `segmentBytes`;
 * a segment is deleted as soon as the head has moved past it, so disk use stays bounded.
 *
 * head file: [version u32][crc32 u32][headSeg, headOff, gapStartSeg, gapStartOff, gapEndSeg,
 * gapEndOff as f64]. The "gap" is a run of records dropped (policy drop-oldest) right behind a
 * batch that is in flight: those in-flight records must survive, so they cannot be dropped.
 *
 * Durability (fsync policy), i.e. what an acknowledged append (resolved promise) survives:
 *   "always"   fdatasync before append() resolves: process crash, kill -9 and power loss.
 *   "interval" (default) the write is in the OS before append() resolves, fdatasync every
 *              `fsyncIntervalMs` (1000) and when a segment is sealed: process crash and kill -9
 *              lose nothing; power loss loses at most the last interval.
 *   "never"    the write is in the OS before append() resolves: process crash and kill -9 lose
 *              nothing; power loss loses what the OS had not written back.
 * Shifts (the head file) are written but not synced: after a power loss a shifted record may be
 * delivered again (at-least-once), never lost.
 *
 * Crash consistency: on open every frame from the head on is checked (length and crc); a torn or
 * corrupt tail is truncated at the last good frame, so the queue is always an ordered prefix of
 * what was appended. Memory does not grow with the backlog: there is no per-record index, only the
 * counters, the head/gap positions and a 1 MiB read buffer.
 *
 * The bound (`maxBytes`) applies to the live frames (payload + 20 bytes of header); files on disk
 * can exceed it by the dead part of the head segment, at most `segmentBytes` (maxBytes / 16, at
 * most 64 MiB, by default). All file I/O is synchronous (small writes into the OS page cache);
 * the methods return promises to fit the Backlog interface.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { LineGuardError } from "../errors";
import { AppendResult, Backlog, FullPolicy, SinkItem } from "./backlog";

export type FsyncPolicy = "always" | "interval" | "never";

export interface SpoolSerializer<T> {
  encode(item: T): Buffer | string;
  decode(buf: Buffer): T;
}

export interface DiskSpoolOptions<T> {
  /** Directory of this spool (created if missing). One spool per directory. */
  dir: string;
  /** Bound on live frames in bytes (payload + 20 bytes header per record). Default 1 GiB. */
  maxBytes?: number;
  /** Bound on the number of records. Default unlimited. */
  maxItems?: number;
  policy?: FullPolicy;
  fsync?: FsyncPolicy;
  fsyncIntervalMs?: number;
  /** Segment file size at which a new segment starts. Default min(64 MiB, max(1 MiB, maxBytes / 16)). */
  segmentBytes?: number;
  /** Default: JSON, with Buffers stored as base64. */
  serializer?: SpoolSerializer<T>;
  now?: () => number;
  /**
   * Space shared with other spools under one bound (SpoolLanes): counted in the bound, and dropped
   * from first (it holds older records) when the policy is drop-oldest.
   */
  shared?: SharedBudget;
}

export interface SharedBudget {
  frameBytes(): number;
  length(): number;
  /** Drop the oldest droppable record elsewhere; false when there is none. */
  dropOldest(): boolean;
}

/** What open() found and repaired. */
export interface SpoolRecovery {
  /** Bytes cut from segment files because they held a torn or corrupt frame. */
  truncatedBytes: number;
  /** Segments in which a corrupt frame was found. */
  corruptSegments: number[];
}

/**
 * JSON with Buffers as {"$buf": base64} (Buffer.toJSON would be four times larger). Items without
 * Buffers take the plain JSON path (a replacer or reviver function halves JSON speed).
 */
export function jsonSerializer<T>(): SpoolSerializer<T> {
  const replacer = function (this: Record<string, unknown>, k: string, v: unknown): unknown {
    const raw = this[k];
    return Buffer.isBuffer(raw) ? { $buf: raw.toString("base64") } : v;
  };
  const reviver = (_k: string, v: unknown): unknown => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$buf === "string" && Object.keys(o).length === 1) return Buffer.from(o.$buf, "base64");
    }
    return v;
  };
  return {
    encode(item: T): string {
      const plain = JSON.stringify(item);
      return plain.includes('{"type":"Buffer","data":[') ? JSON.stringify(item, replacer) : plain;
    },
    decode(buf: Buffer): T {
      const text = buf.toString("utf8");
      return (text.includes('{"$buf":') ? JSON.parse(text, reviver) : JSON.parse(text)) as T;
    },
  };
}

export const SPOOL_FRAME_HEADER = 20;
const HDR = SPOOL_FRAME_HEADER;
const HEAD_FILE_BYTES = 56;
const HEAD_VERSION = 1;
const CHUNK = 1024 * 1024;
const SEG_RE = /^(\d{10})\.seg$/;

let crcTable: Int32Array | undefined;
/** CRC-32 (IEEE, as zlib) in JavaScript, for Node < 20.15 where zlib.crc32 is missing. */
export function crc32Fallback(b: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
const crc32: (b: Uint8Array) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === "function" ? (b) => zlib.crc32(b) : crc32Fallback;

interface Pos {
  seg: number;
  off: number;
}
interface FrameInfo {
  /** Position of the frame (normalised). */
  at: Pos;
  /** Position just after it. */
  next: Pos;
  len: number;
  ts: number;
  itemBytes: number;
}

const openDirs = new Set<string>();

function segName(seg: number): string {
  return `${String(seg).padStart(10, "0")}.seg`;
}

export class DiskSpool<T extends SinkItem> implements Backlog<T> {
  private _dir: string;
  readonly maxBytes: number;
  readonly maxItems: number;
  readonly policy: FullPolicy;
  readonly fsync: FsyncPolicy;
  readonly segmentBytes: number;
  readonly recovery: SpoolRecovery = { truncatedBytes: 0, corruptSegments: [] };
  private readonly serializer: SpoolSerializer<T>;
  private readonly now: () => number;
  private readonly shared: SharedBudget | undefined;
  /** Records dropped by dropOldestRecord() and not yet written to the head file. */
  private uncommittedDrops = 0;

  /** Sizes of the segment files that exist, by id (the last one is the tail). */
  private sizes = new Map<number, number>();
  private tailSeg = 1;
  private tailFd = -1;
  private headFd = -1;
  private readFds = new Map<number, number>();
  private head: Pos = { seg: 1, off: 0 };
  private gap: { start: Pos; end: Pos } | undefined;
  /** Records handed out by the last peek() and not yet shifted; never dropped. */
  private reserved = 0;
  private reservedEnd: Pos | undefined;
  /** Frames returned by the last peek() and not shifted yet (at most one batch). */
  private peeked: FrameInfo[] = [];
  private _length = 0;
  private _bytes = 0;
  private _frameBytes = 0;
  private _oldestTs: number | undefined;
  private dirty = false;
  private scanInGap = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private chunk = Buffer.allocUnsafe(CHUNK);
  private chunkSeg = -1;
  private chunkStart = 0;
  private chunkLen = 0;

  constructor(opts: DiskSpoolOptions<T>) {
    this._dir = path.resolve(opts.dir);
    this.shared = opts.shared;
    this.maxBytes = opts.maxBytes ?? 1024 * 1024 * 1024;
    this.maxItems = opts.maxItems ?? Number.POSITIVE_INFINITY;
    this.policy = opts.policy ?? "drop-oldest";
    this.fsync = opts.fsync ?? "interval";
    this.segmentBytes =
      opts.segmentBytes ?? Math.min(64 * 1024 * 1024, Math.max(1024 * 1024, Math.floor(this.maxBytes / 16)));
    this.serializer = opts.serializer ?? jsonSerializer<T>();
    this.now = opts.now ?? Date.now;
    if (openDirs.has(this.dir)) {
      throw new LineGuardError("spool-in-use", `spool directory ${this.dir} is already open`);
    }
    fs.mkdirSync(this.dir, { recursive: true });
    openDirs.add(this.dir);
    try {
      this.openFiles();
    } catch (err) {
      this.closeFds();
      openDirs.delete(this.dir);
      throw err;
    }
    if (this.fsync === "interval") {
      this.timer = setInterval(() => this.flush(), opts.fsyncIntervalMs ?? 1000);
      this.timer.unref();
    }
  }

  get dir(): string {
    return this._dir;
  }

  get length(): number {
    return this._length;
  }

  /** Sum of item.bytes of the records in the spool. */
  get bytes(): number {
    return this._bytes;
  }

  /** Live frame bytes (what maxBytes bounds). */
  get frameBytes(): number {
    return this._frameBytes;
  }

  /** Size of the segment files on disk. */
  get diskBytes(): number {
    let s = 0;
    for (const v of this.sizes.values()) s += v;
    return s;
  }

  get oldestTs(): number | undefined {
    return this._length > 0 ? this._oldestTs : undefined;
  }

  // ---------------------------------------------------------------- open / recovery

  private openFiles(): void {
    const segs = fs
      .readdirSync(this.dir)
      .map((f) => SEG_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const headPath = path.join(this.dir, "head");
    const headExisted = fs.existsSync(headPath);
    this.headFd = fs.openSync(headPath, headExisted ? "r+" : "w+");
    const saved = this.readHeadFile();
    const has = new Set(segs);
    if (saved && has.has(saved.head.seg)) {
      this.head = saved.head;
      if (saved.gap && has.has(saved.gap.start.seg) && has.has(saved.gap.end.seg)) this.gap = saved.gap;
    } else {
      this.head = { seg: segs[0] ?? 1, off: 0 };
    }
    for (const s of segs) {
      if (s < this.head.seg) fs.unlinkSync(path.join(this.dir, segName(s)));
    }
    const live = segs.filter((s) => s >= this.head.seg);
    if (live.length === 0) live.push(this.head.seg);
    this.tailSeg = live[live.length - 1]!;
    const gapBefore = this.gap;
    for (const s of live) this.scanSegment(s);
    if (gapBefore && !this.gap) {
      // the gap pointed past a truncated tail: count again without it (dropped records come back)
      this._length = this._bytes = this._frameBytes = 0;
      this.scanInGap = false;
      for (const s of live) this.scanSegment(s);
    }
    this.tailFd = fs.openSync(path.join(this.dir, segName(this.tailSeg)), "a");
    this.sizes.set(this.tailSeg, fs.fstatSync(this.tailFd).size);
    if (!headExisted || live.length !== segs.length) this.syncDir();
    this.normaliseGap();
    this.refreshOldest();
    this.writeHeadFile();
  }

  /** Count the frames of one segment from where the live queue starts; truncate a bad tail. */
  private scanSegment(seg: number): void {
    const file = path.join(this.dir, segName(seg));
    const fd = fs.openSync(file, fs.existsSync(file) ? "r+" : "w+");
    try {
      const size = fs.fstatSync(fd).size;
      let off = seg === this.head.seg ? Math.min(this.head.off, size) : 0;
      if (seg === this.head.seg) this.head.off = off;
      let buf = this.chunk;
      let bufStart = 0;
      let bufLen = 0;
      const ensure = (from: number, n: number): number => {
        if (from >= bufStart && from + n <= bufStart + bufLen) return from - bufStart;
        if (n > buf.length) buf = Buffer.allocUnsafe(n);
        bufStart = from;
        bufLen = fs.readSync(fd, buf, 0, buf.length, from);
        return 0;
      };
      const gapMarks = (): void => {
        if (this.gap && this.gap.start.seg === seg && this.gap.start.off === off) this.scanInGap = true;
        if (this.gap && this.gap.end.seg === seg && this.gap.end.off === off) this.scanInGap = false;
      };
      while (off + HDR <= size) {
        gapMarks();
        let p = ensure(off, HDR);
        const len = buf.readUInt32LE(p);
        if (off + HDR + len > size) break;
        p = ensure(off, HDR + len);
        if (crc32(buf.subarray(p + 8, p + HDR + len)) !== buf.readUInt32LE(p + 4)) {
          this.recovery.corruptSegments.push(seg);
          break;
        }
        if (!this.scanInGap) {
          this._length++;
          this._bytes += buf.readUInt32LE(p + 16);
          this._frameBytes += HDR + len;
        }
        off += HDR + len;
      }
      gapMarks();
      if (off < size) {
        this.recovery.truncatedBytes += size - off;
        fs.ftruncateSync(fd, off);
        if (this.fsync !== "never") fs.fdatasyncSync(fd);
      }
      this.sizes.set(seg, off);
      // A gap boundary that is not on a frame boundary any more (truncated): forget the gap.
      if (
        this.gap &&
        ((this.gap.start.seg === seg && this.gap.start.off > off) ||
          (this.gap.end.seg === seg && this.gap.end.off > off))
      ) {
        this.gap = undefined;
      }
    } finally {
      fs.closeSync(fd);
    }
    this.chunkSeg = -1;
  }

  private readHeadFile(): { head: Pos; gap?: { start: Pos; end: Pos } } | undefined {
    const b = Buffer.alloc(HEAD_FILE_BYTES);
    if (fs.readSync(this.headFd, b, 0, HEAD_FILE_BYTES, 0) !== HEAD_FILE_BYTES) return undefined;
    if (b.readUInt32LE(0) !== HEAD_VERSION || crc32(b.subarray(8)) !== b.readUInt32LE(4)) return undefined;
    const f = (i: number): number => b.readDoubleLE(8 + i * 8);
    const head = { seg: f(0), off: f(1) };
    if (f(2) < 0) return { head };
    return { head, gap: { start: { seg: f(2), off: f(3) }, end: { seg: f(4), off: f(5) } } };
  }

  private writeHeadFile(): void {
    const b = Buffer.alloc(HEAD_FILE_BYTES);
    b.writeUInt32LE(HEAD_VERSION, 0);
    const v = [this.head.seg, this.head.off, -1, -1, -1, -1];
    if (this.gap) v.splice(2, 4, this.gap.start.seg, this.gap.start.off, this.gap.end.seg, this.gap.end.off);
    v.forEach((x, i) => b.writeDoubleLE(x, 8 + i * 8));
    b.writeUInt32LE(crc32(b.subarray(8)), 4);
    fs.writeSync(this.headFd, b, 0, HEAD_FILE_BYTES, 0);
  }

  private syncDir(): void {
    if (this.fsync === "never") return;
    try {
      const fd = fs.openSync(this.dir, "r");
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // directories cannot be fsynced on every platform (Windows): best effort
    }
  }

  // ---------------------------------------------------------------- positions and frames

  private norm(p: Pos): Pos {
    let { seg, off } = p;
    while (seg < this.tailSeg && off >= (this.sizes.get(seg) ?? 0)) {
      seg++;
      off = 0;
    }
    return { seg, off };
  }

  private same(a: Pos, b: Pos): boolean {
    const x = this.norm(a);
    const y = this.norm(b);
    return x.seg === y.seg && x.off === y.off;
  }

  private atEnd(p: Pos): boolean {
    const n = this.norm(p);
    return n.seg === this.tailSeg && n.off >= (this.sizes.get(this.tailSeg) ?? 0);
  }

  private readFd(seg: number): number {
    let fd = this.readFds.get(seg);
    if (fd === undefined) {
      fd = fs.openSync(path.join(this.dir, segName(seg)), "r");
      this.readFds.set(seg, fd);
    }
    return fd;
  }

  /** n bytes at seg/off; the returned buffer is valid until the next read. */
  private readAt(seg: number, off: number, n: number): { buf: Buffer; p: number } {
    if (seg === this.chunkSeg && off >= this.chunkStart && off + n <= this.chunkStart + this.chunkLen) {
      return { buf: this.chunk, p: off - this.chunkStart };
    }
    const fd = this.readFd(seg);
    if (n > CHUNK) {
      const big = Buffer.allocUnsafe(n);
      fs.readSync(fd, big, 0, n, off);
      return { buf: big, p: 0 };
    }
    this.chunkSeg = seg;
    this.chunkStart = off;
    this.chunkLen = fs.readSync(fd, this.chunk, 0, CHUNK, off);
    if (this.chunkLen < n)
      throw new LineGuardError("spool-corrupt", `spool ${this.dir}: short read in ${segName(seg)}`);
    return { buf: this.chunk, p: 0 };
  }

  private frameAt(pos: Pos): FrameInfo {
    const at = this.norm(pos);
    const { buf, p } = this.readAt(at.seg, at.off, HDR);
    const len = buf.readUInt32LE(p);
    return {
      at,
      next: { seg: at.seg, off: at.off + HDR + len },
      len,
      ts: buf.readDoubleLE(p + 8),
      itemBytes: buf.readUInt32LE(p + 16),
    };
  }

  private payload(f: FrameInfo): Buffer {
    const { buf, p } = this.readAt(f.at.seg, f.at.off, HDR + f.len);
    if (crc32(buf.subarray(p + 8, p + HDR + f.len)) !== buf.readUInt32LE(p + 4)) {
      throw new LineGuardError("spool-corrupt", `spool ${this.dir}: bad frame in ${segName(f.at.seg)} at ${f.at.off}`);
    }
    return Buffer.from(buf.subarray(p + HDR, p + HDR + f.len));
  }

  private normaliseGap(): void {
    if (this.gap && (this.same(this.gap.start, this.gap.end) || this.same(this.head, this.gap.start))) {
      if (this.same(this.head, this.gap.start)) this.head = this.norm(this.gap.end);
      this.gap = undefined;
    }
  }

  private refreshOldest(): void {
    this._oldestTs = this._length > 0 ? this.frameAt(this.head).ts : undefined;
  }

  /** Delete segments the head has left behind. */
  private reclaim(): void {
    const h = this.norm(this.head).seg;
    for (const s of [...this.sizes.keys()]) {
      if (s >= h || s === this.tailSeg) continue;
      const fd = this.readFds.get(s);
      if (fd !== undefined) fs.closeSync(fd);
      this.readFds.delete(s);
      if (this.chunkSeg === s) this.chunkSeg = -1;
      this.sizes.delete(s);
      fs.rmSync(path.join(this.dir, segName(s)), { force: true });
    }
  }

  // ---------------------------------------------------------------- Backlog

  private check(): void {
    if (this.closed) throw new LineGuardError("spool-closed", `spool ${this.dir} is closed`);
  }

  private full(frame: number, pendingCount: number, pendingBytes: number): boolean {
    const sharedItems = this.shared ? this.shared.length() : 0;
    const sharedBytes = this.shared ? this.shared.frameBytes() : 0;
    return (
      this._length + sharedItems + pendingCount + 1 > this.maxItems ||
      this._frameBytes + sharedBytes + pendingBytes + frame > this.maxBytes
    );
  }

  append(items: T[]): Promise<AppendResult> {
    try {
      this.check();
      const res: AppendResult = { accepted: 0, refused: 0, droppedOldest: 0 };
      const ts = this.now();
      let frames: Buffer[] = [];
      let pendingBytes = 0;
      let pendingItemBytes = 0;
      let wrote = false;
      const persistDrops = (): void => {
        if (res.droppedOldest === 0) return;
        this.head = this.norm(this.head);
        this.normaliseGap();
        this.writeHeadFile();
      };
      const writePending = (): void => {
        if (frames.length === 0) return;
        // Drops reach the head file before new frames reach the segment: a crash in between can
        // lose the dropped records (they were going anyway) but never leave more than maxBytes.
        persistDrops();
        this.writeFrames(frames, pendingItemBytes, ts);
        wrote = true;
        frames = [];
        pendingBytes = pendingItemBytes = 0;
      };
      for (let i = 0; i < items.length; i++) {
        const it = items[i]!;
        const enc = this.serializer.encode(it);
        const body = typeof enc === "string" ? Buffer.from(enc, "utf8") : enc;
        const size = HDR + body.length;
        if (this.full(size, frames.length, pendingBytes)) {
          if (this.policy === "refuse-newest" || size > this.maxBytes) {
            res.refused = items.length - i;
            break;
          }
          // Earlier items of this call may have to go too (as in MemoryBacklog): write them first.
          writePending();
          while (this.full(size, 0, 0) && (this.shared?.dropOldest() || this.dropOne())) res.droppedOldest++;
          if (this.full(size, 0, 0)) {
            res.refused = items.length - i;
            break;
          }
        }
        const f = Buffer.allocUnsafe(size);
        const ib = Math.max(0, Math.min(0xffffffff, Math.round(it.bytes)));
        f.writeUInt32LE(body.length, 0);
        f.writeDoubleLE(ts, 8);
        f.writeUInt32LE(ib, 16);
        body.copy(f, HDR);
        f.writeUInt32LE(crc32(f.subarray(8)), 4);
        frames.push(f);
        pendingBytes += size;
        pendingItemBytes += ib;
        res.accepted++;
      }
      writePending();
      persistDrops();
      if (res.droppedOldest > 0) this.refreshOldest();
      // Only now, with the head file pointing past them, may old segments go.
      this.reclaim();
      if (wrote && this.fsync === "always") fs.fdatasyncSync(this.tailFd);
      return Promise.resolve(res);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Write frames at the tail, starting a new segment before one would pass segmentBytes. */
  private writeFrames(frames: Buffer[], itemBytes: number, ts: number): void {
    if (this._length === 0) this._oldestTs = ts;
    let i = 0;
    while (i < frames.length) {
      let size = this.sizes.get(this.tailSeg) ?? 0;
      if (size > 0 && size + frames[i]!.length > this.segmentBytes) {
        this.roll();
        size = 0;
      }
      // at least one frame per segment (a frame larger than segmentBytes gets one of its own)
      let j = i;
      let run = 0;
      while (j < frames.length && (j === i || size + run + frames[j]!.length <= this.segmentBytes))
        run += frames[j++]!.length;
      const out = j - i === 1 ? frames[i]! : Buffer.concat(frames.slice(i, j), run);
      let done = 0;
      while (done < out.length) done += fs.writeSync(this.tailFd, out, done, out.length - done);
      this.sizes.set(this.tailSeg, size + run);
      this._length += j - i;
      this._frameBytes += run;
      this.dirty = true;
      i = j;
    }
    this._bytes += itemBytes;
  }

  /** Seal the tail segment (synced unless fsync "never") and start the next one. */
  private roll(): void {
    if (this.fsync !== "never") fs.fdatasyncSync(this.tailFd);
    fs.closeSync(this.tailFd);
    this.dirty = false;
    this.tailSeg++;
    this.tailFd = fs.openSync(path.join(this.dir, segName(this.tailSeg)), "a");
    this.sizes.set(this.tailSeg, 0);
    this.syncDir();
  }

  /** Drop the oldest record not reserved by an in-flight batch; false when there is none. */
  private dropOne(): boolean {
    if (this._length === 0) return false;
    if (this.reserved === 0 && !this.gap) {
      const f = this.frameAt(this.head);
      this.head = f.next;
      this.account(f);
      return true;
    }
    const from = this.gap ? this.gap.end : this.reservedEnd!;
    if (this.atEnd(from)) return false;
    const f = this.frameAt(from);
    if (this.gap) this.gap.end = f.next;
    else this.gap = { start: f.at, end: f.next };
    this.account(f);
    return true;
  }

  private account(f: FrameInfo): void {
    this._length--;
    this._bytes -= f.itemBytes;
    this._frameBytes -= HDR + f.len;
  }

  peek(maxCount: number, maxBytes: number): Promise<T[]> {
    try {
      this.check();
      const out: T[] = [];
      const peeked: FrameInfo[] = [];
      let b = 0;
      let pos = this.norm(this.head);
      const stop = this.gap ? this.norm(this.gap.start) : undefined;
      const tailSize = this.sizes.get(this.tailSeg) ?? 0;
      while (out.length < maxCount) {
        if (pos.seg === this.tailSeg && pos.off >= tailSize) break;
        if (stop && pos.seg === stop.seg && pos.off === stop.off) break;
        const f = this.frameAt(pos);
        if (out.length > 0 && b + f.itemBytes > maxBytes) break;
        out.push(this.serializer.decode(this.payload(f)));
        peeked.push(f);
        b += f.itemBytes;
        pos = this.norm(f.next);
      }
      this.reserved = out.length;
      this.reservedEnd = out.length > 0 ? pos : undefined;
      this.peeked = peeked;
      return Promise.resolve(out);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  shift(n: number): Promise<void> {
    try {
      this.check();
      const k = Math.min(n, this._length);
      // the records of the last peek are known: no need to read their headers again
      const known =
        this.peeked.length > 0 && this.same(this.peeked[0]!.at, this.head) ? Math.min(k, this.peeked.length) : 0;
      for (let i = 0; i < known; i++) this.account(this.peeked[i]!);
      if (known > 0) this.head = this.peeked[known - 1]!.next;
      this.peeked = known > 0 ? this.peeked.slice(known) : [];
      for (let i = known; i < k; i++) {
        this.normaliseGap();
        const f = this.frameAt(this.head);
        this.head = f.next;
        this.account(f);
      }
      this.normaliseGap();
      this.reserved = Math.max(0, this.reserved - k);
      if (this.reserved === 0) this.reservedEnd = undefined;
      if (k > 0) {
        this.head = this.norm(this.head);
        this.writeHeadFile();
        this.reclaim();
        this.refreshOldest();
      }
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Drop the oldest record that is not in flight, without writing the head file yet (a run of drops
   * is committed once with commitDrops()). False when there is nothing droppable.
   */
  dropOldestRecord(): boolean {
    this.check();
    if (!this.dropOne()) return false;
    this.uncommittedDrops++;
    return true;
  }

  /** Write the drops of dropOldestRecord() to the head file and delete segments left behind. */
  commitDrops(): void {
    if (this.uncommittedDrops === 0 || this.closed) return;
    this.uncommittedDrops = 0;
    this.head = this.norm(this.head);
    this.normaliseGap();
    this.writeHeadFile();
    this.reclaim();
    this.refreshOldest();
  }

  /**
   * Rename the spool's directory (atomic on one file system); the open files stay valid, so nothing
   * is read again. Used to turn the live lane into a replay lane (SpoolLanes).
   */
  moveTo(dir: string): void {
    this.check();
    const to = path.resolve(dir);
    if (openDirs.has(to)) throw new LineGuardError("spool-in-use", `spool directory ${to} is already open`);
    this.commitDrops();
    this.flush();
    fs.renameSync(this._dir, to);
    openDirs.delete(this._dir);
    openDirs.add(to);
    this._dir = to;
    this.syncParent();
  }

  private syncParent(): void {
    try {
      const fd = fs.openSync(path.dirname(this._dir), "r");
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // not supported on every platform/file system: the rename is still atomic
    }
  }

  /** fdatasync the tail segment if it has unsynced appends (the "interval" timer calls this). */
  flush(): void {
    if (this.closed || !this.dirty || this.fsync === "never") return;
    this.dirty = false;
    fs.fdatasyncSync(this.tailFd);
  }

  private closeFds(): void {
    for (const fd of this.readFds.values()) fs.closeSync(fd);
    this.readFds.clear();
    if (this.tailFd >= 0) fs.closeSync(this.tailFd);
    if (this.headFd >= 0) fs.closeSync(this.headFd);
    this.tailFd = -1;
    this.headFd = -1;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    try {
      if (this.timer) clearInterval(this.timer);
      this.commitDrops();
      this.flush();
      this.writeHeadFile();
      if (this.fsync !== "never") fs.fdatasyncSync(this.headFd);
    } finally {
      this.closed = true;
      this.closeFds();
      openDirs.delete(this.dir);
    }
    return Promise.resolve();
  }
}
