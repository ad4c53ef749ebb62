/**
 * Rolling features per source and tag. No Node-RED import.
 *
 * Windows (per source, one RollingWindow per tag):
 *   count/sliding   each tag keeps its last `size` samples; the source emits every `hop` records.
 *   count/tumbling  the source emits every `size` records, then every tag window starts empty.
 *   time/sliding    each tag keeps the samples with ts > (record ts - size); emits when the record's
 *                   ts is at least `hop` ms after the last emission (hop 0: every record).
 *   time/tumbling   a window opens with its first record and emits (including that record) on the
 *                   first record with ts - open >= size; then every tag window starts empty.
 * Samples: a finite number within +-1e75 for a tracked tag (a larger one would overflow the window's
 * sums of 4th powers and leave every later statistic of the tag NaN). A bad one (beyond 1e75, quality
 * "bad", or "uncertain" when uncertainIsBad, or a non-number for a listed tag) follows the policy:
 * skip (ignored), hold (the tag's last good value is used instead), insufficient (ignored; like skip,
 * but a tag with fewer than minSamples samples is emitted as { n, insufficient: 1 } instead of being
 * left out).
 * A gap (time between a tag's samples > gapMs, 0 = off) either clears the tag's window (gapReset) or,
 * with the hold policy, is filled with the last good value every gapMs (bounded by the window).
 * Samples older than the tag's newest one are late: skipped and counted.
 */
import type { LineRecord } from "../record";
import { RollingWindow, STAT_NAMES, StatName, statMask } from "./rolling";

/** Largest sample magnitude used: (2e75)^4 x 1e6 samples stays below Number.MAX_VALUE. */
export const MAX_SAMPLE = 1e75;

export type WindowType = "count" | "time";
export type WindowMode = "sliding" | "tumbling";
export type QualityPolicy = "skip" | "hold" | "insufficient";
export type EmitMode = "window" | "every";

export interface Ratio {
  /** "a/b" */
  name: string;
  num: string;
  den: string;
}

export interface FeatureOptions {
  windowType: WindowType;
  /** samples (count) or milliseconds (time) */
  size: number;
  /** records (count) or milliseconds (time); ignored for tumbling windows */
  hop: number;
  mode: WindowMode;
  /** tags to compute features for; undefined = every numeric tag */
  tags?: readonly string[];
  stats: readonly StatName[];
  ratios: readonly Ratio[];
  policy: QualityPolicy;
  uncertainIsBad: boolean;
  minSamples: number;
  /** 0 = no gap detection */
  gapMs: number;
  gapReset: boolean;
  /** "window": only records at which a window emitted go out; "every": every accepted record. */
  emit: EmitMode;
  /** window tensor: T rows x the tensor tags; undefined = off */
  tensor?: { size: number; tags: readonly string[] };
  /** LRU cap on sources */
  maxKeys: number;
  /** cap on samples per tag window (time windows) */
  maxSamples: number;
  /** cap on tags per source (every-numeric-tag mode) */
  maxTags: number;
}

export const FEATURE_DEFAULTS: FeatureOptions = {
  windowType: "count",
  size: 100,
  hop: 1,
  mode: "sliding",
  stats: STAT_NAMES,
  ratios: [],
  policy: "skip",
  uncertainIsBad: false,
  minSamples: 1,
  gapMs: 0,
  gapReset: false,
  emit: "window",
  maxKeys: 1000,
  maxSamples: 10000,
  maxTags: 256,
};

/** The LSTM-AE input: the last T samples x F tags, oldest first. */
export interface WindowTensor {
  source: string;
  tags: string[];
  ts: number[];
  data: number[][];
}

export interface RecordResult {
  /** The window emitted at this record. */
  emitted: boolean;
  /** Features to add to the record (when emitted). */
  features?: Record<string, Record<string, number>>;
  window?: WindowTensor;
}

export interface FeatureCounters {
  records: number;
  emitted: number;
  samples: number;
  bad: number;
  held: number;
  late: number;
  gaps: number;
  evictedSources: number;
  droppedTags: number;
}

interface TagState {
  win: RollingWindow;
  lastGood: number | undefined;
  lastTs: number;
}

class TensorBuffer {
  private readonly rows: Float64Array;
  private readonly times: Float64Array;
  private next = 0;
  count = 0;
  readonly last: Array<number | undefined>;

  constructor(
    readonly size: number,
    readonly tags: readonly string[],
  ) {
    this.rows = new Float64Array(size * tags.length);
    this.times = new Float64Array(size);
    this.last = tags.map(() => undefined);
  }

  get lastTs(): number | undefined {
    return this.count === 0 ? undefined : this.times[(this.next - 1 + this.size) % this.size];
  }

  clear(): void {
    this.count = 0;
    this.next = 0;
  }

  /** Append a row from the latest good values; false when a tag has never had one. */
  append(ts: number): boolean {
    const f = this.tags.length;
    for (let j = 0; j < f; j++) if (this.last[j] === undefined) return false;
    const base = this.next * f;
    for (let j = 0; j < f; j++) this.rows[base + j] = this.last[j]!;
    this.times[this.next] = ts;
    this.next = (this.next + 1) % this.size;
    if (this.count < this.size) this.count++;
    return true;
  }

  snapshot(source: string): WindowTensor {
    const f = this.tags.length;
    const data: number[][] = [];
    const ts: number[] = [];
    const first = (this.next - this.count + this.size) % this.size;
    for (let i = 0; i < this.count; i++) {
      const r = (first + i) % this.size;
      const row = new Array<number>(f);
      for (let j = 0; j < f; j++) row[j] = this.rows[r * f + j]!;
      data.push(row);
      ts.push(this.times[r]!);
    }
    return { source, tags: [...this.tags], ts, data };
  }
}

class SourceState {
  readonly tags = new Map<string, TagState>();
  sinceEmit = 0;
  /** time windows: last emission (sliding) or window open (tumbling) */
  anchor: number | undefined;
  tensor: TensorBuffer | undefined;
}

export class FeatureEngine {
  readonly opts: FeatureOptions;
  private readonly sources = new Map<string, SourceState>();
  private readonly tracked: ReadonlySet<string> | undefined;
  private readonly outTags: ReadonlySet<string> | undefined;
  private readonly tensorIndex: Map<string, number>;
  private readonly mask: number;
  readonly counters: FeatureCounters = {
    records: 0,
    emitted: 0,
    samples: 0,
    bad: 0,
    held: 0,
    late: 0,
    gaps: 0,
    evictedSources: 0,
    droppedTags: 0,
  };

  constructor(opts: Partial<FeatureOptions> = {}) {
    this.opts = { ...FEATURE_DEFAULTS, ...opts };
    const o = this.opts;
    if (o.tags) {
      const t = new Set(o.tags);
      for (const r of o.ratios) t.add(r.num).add(r.den);
      for (const x of o.tensor?.tags ?? []) t.add(x);
      this.tracked = t;
      this.outTags = new Set(o.tags);
    }
    this.mask = statMask(o.stats);
    this.tensorIndex = new Map((o.tensor?.tags ?? []).map((t, i) => [t, i]));
  }

  get sourceCount(): number {
    return this.sources.size;
  }

  /** Forget every window. */
  clear(): void {
    this.sources.clear();
  }

  private source(id: string): SourceState {
    let s = this.sources.get(id);
    if (s !== undefined) {
      // LRU: most recently used last
      this.sources.delete(id);
      this.sources.set(id, s);
      return s;
    }
    s = new SourceState();
    if (this.opts.tensor) s.tensor = new TensorBuffer(this.opts.tensor.size, this.opts.tensor.tags);
    this.sources.set(id, s);
    while (this.sources.size > this.opts.maxKeys) {
      this.sources.delete(this.sources.keys().next().value as string);
      this.counters.evictedSources++;
    }
    return s;
  }

  /** True when the record holds a numeric value for a tracked tag (else it is of no use here). */
  usable(rec: LineRecord): boolean {
    for (const k in rec.values) {
      if (this.tracked ? this.tracked.has(k) : typeof rec.values[k] === "number") {
        if (typeof rec.values[k] === "number") return true;
      }
    }
    return false;
  }

  private capacity(): number {
    const o = this.opts;
    return o.windowType === "count" ? Math.min(o.size, o.maxSamples) : o.maxSamples;
  }

  /** Feed one (normalised) record; tells whether its window emitted and with what. */
  process(rec: LineRecord): RecordResult {
    const o = this.opts;
    const s = this.source(rec.source);
    this.counters.records++;
    const t = rec.ts;
    const q = rec.quality;
    const tensor = s.tensor;

    // tensor: gap reset
    if (tensor && o.gapMs > 0 && o.gapReset) {
      const lt = tensor.lastTs;
      if (lt !== undefined && t - lt > o.gapMs) tensor.clear();
    }

    let tensorTouched = false;
    const values = rec.values;
    for (const tag of this.tracked ?? Object.keys(values)) {
      const v = values[tag];
      if (v === undefined) continue;
      if (!this.tracked && typeof v !== "number") continue;
      let st = s.tags.get(tag);
      if (st === undefined) {
        if (s.tags.size >= o.maxTags) {
          this.counters.droppedTags++;
          continue;
        }
        st = { win: new RollingWindow(this.capacity(), 64), lastGood: undefined, lastTs: -Infinity };
        s.tags.set(tag, st);
      }
      if (t < st.lastTs) {
        this.counters.late++;
        continue;
      }
      const qual = q?.[tag];
      const bad =
        typeof v !== "number" ||
        !(Math.abs(v) <= MAX_SAMPLE) ||
        qual === "bad" ||
        (o.uncertainIsBad && qual === "uncertain");
      // gaps
      if (o.gapMs > 0 && st.lastTs !== -Infinity && t - st.lastTs > o.gapMs) {
        this.counters.gaps++;
        if (o.gapReset) st.win.clear();
        else if (o.policy === "hold" && st.lastGood !== undefined) this.fillGap(st, t);
      }
      let x: number | undefined;
      if (!bad) {
        x = v as number;
        st.lastGood = x;
      } else {
        this.counters.bad++;
        if (o.policy === "hold" && st.lastGood !== undefined) {
          x = st.lastGood;
          this.counters.held++;
        }
      }
      st.lastTs = t;
      if (x !== undefined) {
        st.win.push(t, x);
        this.counters.samples++;
      }
      if (tensor) {
        const j = this.tensorIndex.get(tag);
        if (j !== undefined) {
          tensorTouched = true;
          if (st.lastGood !== undefined) tensor.last[j] = st.lastGood;
        }
      }
    }
    // a row per record that carries a tensor tag (values it lacks are held)
    if (tensor && tensorTouched) {
      const lt = tensor.lastTs;
      if (lt === undefined || t >= lt) tensor.append(t);
    }

    // emission
    let emit = false;
    let clearAfter = false;
    if (o.windowType === "count") {
      s.sinceEmit++;
      const every = o.mode === "tumbling" ? o.size : o.hop;
      if (s.sinceEmit >= every) {
        emit = true;
        s.sinceEmit = 0;
        clearAfter = o.mode === "tumbling";
      }
    } else if (o.mode === "sliding") {
      if (s.anchor === undefined) {
        s.anchor = t;
        emit = o.hop === 0;
      } else if (t - s.anchor >= o.hop) {
        emit = true;
        s.anchor = t;
      }
    } else {
      if (s.anchor === undefined) s.anchor = t;
      if (t - s.anchor >= o.size) {
        emit = true;
        clearAfter = true;
        s.anchor = undefined;
      }
    }
    if (!emit) return { emitted: false };
    this.counters.emitted++;

    const features: Record<string, Record<string, number>> = {};
    const cutoff = o.windowType === "time" && o.mode === "sliding" ? t - o.size : undefined;
    for (const [tag, st] of s.tags) {
      if (cutoff !== undefined) st.win.evictUntil(cutoff);
      if (this.outTags && !this.outTags.has(tag)) continue;
      const n = st.win.count;
      if (n < o.minSamples || n === 0) {
        if (o.policy === "insufficient") features[tag] = { n, insufficient: 1 };
        continue;
      }
      features[tag] = st.win.computeMask(this.mask);
    }
    if (o.policy === "insufficient" && o.tags) {
      // listed tags without any sample yet
      for (const tag of o.tags) if (!s.tags.has(tag)) features[tag] = { n: 0, insufficient: 1 };
    }
    if (o.ratios.length > 0) {
      const ratios: Record<string, number> = {};
      let any = false;
      for (const r of o.ratios) {
        const a = s.tags.get(r.num)?.win;
        const b = s.tags.get(r.den)?.win;
        if (!a || !b || a.count < Math.max(1, o.minSamples) || b.count < Math.max(1, o.minSamples)) continue;
        const den = b.mean;
        if (den === 0) continue;
        const v = a.mean / den;
        if (!Number.isFinite(v)) continue;
        ratios[r.name] = v;
        any = true;
      }
      if (any) features.__ratios = ratios;
    }
    const out: RecordResult = { emitted: true, features };
    if (tensor && tensor.count === tensor.size) out.window = tensor.snapshot(rec.source);
    if (clearAfter) for (const st of s.tags.values()) st.win.clear();
    return out;
  }

  /** Hold policy over a gap: the last good value every gapMs, only as far back as the window reaches. */
  private fillGap(st: TagState, t: number): void {
    const o = this.opts;
    const steps = Math.ceil((t - st.lastTs) / o.gapMs) - 1;
    if (steps <= 0) return;
    const limit = o.windowType === "count" ? Math.min(o.size, o.maxSamples) : o.maxSamples;
    let first = Math.max(1, steps - limit + 1);
    if (o.windowType === "time") {
      // only fills inside (t - size, t]
      const minK = Math.floor((t - o.size - st.lastTs) / o.gapMs) + 1;
      if (minK > first) first = minK;
    }
    for (let k = first; k <= steps; k++) {
      st.win.push(st.lastTs + k * o.gapMs, st.lastGood!);
      this.counters.held++;
    }
  }
}

/** Parse "a/b, c/d" into ratios; throws on a malformed entry. */
export function parseRatios(text: unknown): Ratio[] {
  if (Array.isArray(text)) text = text.join(",");
  if (text === undefined || text === null) return [];
  if (typeof text !== "string") throw new Error("ratios must be a list like power/spindle_speed");
  const out: Ratio[] = [];
  for (const part of text.split(/[,\n;]/)) {
    const p = part.trim();
    if (p === "") continue;
    const m = /^([^/\s]+)\s*\/\s*([^/\s]+)$/.exec(p);
    if (!m) throw new Error(`ratio "${p}" must look like numerator/denominator`);
    out.push({ name: `${m[1]}/${m[2]}`, num: m[1]!, den: m[2]! });
  }
  return out;
}

/** Parse a tag list "a, b c" (commas, whitespace or newlines); duplicates removed, order kept. */
export function parseTagList(text: unknown): string[] {
  if (Array.isArray(text)) text = text.join(",");
  if (text === undefined || text === null) return [];
  if (typeof text !== "string") throw new Error("tags must be a comma-separated list");
  const seen = new Set<string>();
  for (const p of text.split(/[,\s;]+/)) if (p !== "") seen.add(p);
  return [...seen];
}
