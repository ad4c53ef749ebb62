/**
 * Turning value changes into records: one record per change, or one record per source for all
 * changes inside a short window (the first change opens the window; a tag changing twice in a
 * window keeps its latest value, the record's ts is the latest sample time).
 */
import type { LineRecord, Quality, TagValue } from "../record";

export interface Change {
  source: string;
  tag: string;
  value: TagValue;
  quality: Quality;
  ts: number;
}

export type EmitRecord = (rec: LineRecord) => void;

export function changeToRecord(c: Change): LineRecord {
  const rec: LineRecord = { source: c.source, ts: c.ts, values: { [c.tag]: c.value } };
  if (c.quality !== "good") rec.quality = { [c.tag]: c.quality };
  return rec;
}

interface Pending {
  rec: LineRecord;
  timer: NodeJS.Timeout | undefined;
}

/** Groups changes per source over `windowMs`; windowMs <= 0 emits every change at once. */
export class ChangeGrouper {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly windowMs: number,
    private readonly emit: EmitRecord,
    private readonly timers: {
      set: (fn: () => void, ms: number) => NodeJS.Timeout;
      clear: (t: NodeJS.Timeout) => void;
    } = { set: (fn, ms) => setTimeout(fn, ms), clear: (t) => clearTimeout(t) },
  ) {}

  add(c: Change): void {
    if (this.windowMs <= 0) {
      this.emit(changeToRecord(c));
      return;
    }
    let p = this.pending.get(c.source);
    if (!p) {
      p = { rec: { source: c.source, ts: c.ts, values: {} }, timer: undefined };
      this.pending.set(c.source, p);
      const src = c.source;
      p.timer = this.timers.set(() => this.flushSource(src), this.windowMs);
    }
    p.rec.values[c.tag] = c.value;
    if (c.ts > p.rec.ts) p.rec.ts = c.ts;
    if (c.quality !== "good") (p.rec.quality ??= {})[c.tag] = c.quality;
    else if (p.rec.quality) {
      delete p.rec.quality[c.tag];
      if (Object.keys(p.rec.quality).length === 0) delete p.rec.quality;
    }
  }

  private flushSource(source: string): void {
    const p = this.pending.get(source);
    if (!p) return;
    this.pending.delete(source);
    if (p.timer) this.timers.clear(p.timer);
    this.emit(p.rec);
  }

  /** Emit everything pending now. */
  flush(): void {
    for (const s of [...this.pending.keys()]) this.flushSource(s);
  }

  /** Drop everything pending (on close). */
  stop(): void {
    for (const p of this.pending.values()) if (p.timer) this.timers.clear(p.timer);
    this.pending.clear();
  }

  get pendingSources(): number {
    return this.pending.size;
  }
}
