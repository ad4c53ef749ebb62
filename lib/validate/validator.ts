/**
 * The validator: JSON Schema (optional), CNC envelope conversion (optional), record parsing
 * (lib/record.ts), then the tag rules (required, type, min/max, rate of change, quality) and
 * staleness per source+tag. Per-source state is bounded (LRU). Never throws on any input.
 * No Node-RED import.
 */
import { LineRecord, RecordPayload, RejectCode, describe, isRejected, parseRecord, toPayload } from "../record";
import { CNC_ENVELOPE_SCHEMA, envelopeToRecord } from "./envelope";
import { LruMap } from "./lru";
import { STAR, TagRule, mergeRule, parseRules } from "./rules";
import { SchemaCheck, compileSchema } from "./schema";

export type ValidateCode =
  | RejectCode
  | "schema"
  | "missing-tag"
  | "wrong-type"
  | "below-min"
  | "above-max"
  | "rate-of-change"
  | "quality-not-allowed"
  | "unknown-tag"
  | "stale"
  | "internal";

export type FlagCode = "uncertain-quality" | "unknown-tag" | "out-of-order";

export interface Rejection {
  /** Position in the input batch (0 for a single record). */
  index: number;
  code: ValidateCode;
  reason: string;
  tag?: string;
}

/** A soft warning on a valid record. */
export interface Flag {
  code: FlagCode;
  reason: string;
  tag?: string;
}

export type ValidRecord = RecordPayload & { source: string; ts: number; flags?: Flag[] };

export interface ValidateResult {
  /** msg.payload was an array. */
  batch: boolean;
  /** Records in the input. */
  total: number;
  /** Valid records, normalised (source set, ts in epoch ms), in input order. */
  valid: ValidRecord[];
  /** Schema-only mode (CNC envelope without conversion): the valid inputs as they were. */
  passed: unknown[];
  /** Every reason (a record may have several), by index. */
  rejected: Rejection[];
  /** The rejected inputs as received, one per rejected record, in index order. */
  rejectedInputs: unknown[];
}

export interface StaleEvent {
  source: string;
  tag: string;
  /** Record ts of the last sample of the tag (undefined when the source never sent it). */
  lastTs?: number;
  /** Clock time the tag was last received (or the source first seen). */
  lastSeen: number;
  staleMs: number;
}

export interface ValidatorCounters {
  in: number;
  valid: number;
  rejected: number;
  stale: number;
}

export type SchemaMode = "none" | "cnc-envelope" | "custom";
export type SchemaTarget = "record" | "payload";
export type UnknownTags = "pass" | "flag" | "reject";

export interface ValidatorOptions {
  rules?: TagRule[] | string;
  schema?: SchemaMode;
  /** The custom schema (object or JSON string) when schema = "custom". */
  customSchema?: unknown;
  /** Custom schema applies to each record of a batch (default) or to msg.payload as a whole. */
  schemaTarget?: SchemaTarget;
  /** CNC envelope: convert into a LineGuard record (default true); false = schema check only. */
  convert?: boolean;
  /** Tags without a rule of their own (the `*` rule does not count). Default "pass". */
  unknownTags?: UnknownTags;
  /** Add soft warnings as `flags` to valid records. Default true. */
  flags?: boolean;
  /** Sources whose state (rate, staleness) is kept; the least recently seen goes first. Default 1000. */
  maxSources?: number;
  /** Tags per source whose state is kept. Default 1000. */
  maxTagsPerSource?: number;
  /** Largest batch. Default 100000. */
  maxBatch?: number;
  /** Reasons listed per record. Default 10. */
  maxReasonsPerRecord?: number;
  /** Stale events per check (the rest follow on the next check). Default 10000. */
  maxStaleEvents?: number;
  now?: () => number;
}

interface TagState {
  /** Last accepted numeric value and its record ts (for the rate of change). */
  v?: number;
  ts?: number;
  /** Last received: record ts and clock time. */
  lastTs?: number;
  seen: number;
  staleMs?: number;
  reported: boolean;
}

interface SourceState {
  tags: Map<string, TagState>;
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** Build a Validator; throws at deploy time on bad rules or a bad schema, with a clear message. */
export class Validator {
  readonly rules: TagRule[];
  readonly counters: ValidatorCounters = { in: 0, valid: 0, rejected: 0, stale: 0 };
  private readonly own = new Map<string, TagRule>();
  private readonly merged = new Map<string, TagRule>();
  private readonly star: TagRule | undefined;
  private readonly required: string[];
  private readonly staleRules: TagRule[];
  private readonly check: SchemaCheck | undefined;
  private readonly mode: SchemaMode;
  private readonly target: SchemaTarget;
  private readonly convert: boolean;
  private readonly unknownTags: UnknownTags;
  private readonly flags: boolean;
  private readonly maxTags: number;
  private readonly maxBatch: number;
  private readonly maxReasons: number;
  private readonly maxStale: number;
  private readonly now: () => number;
  private readonly sources: LruMap<string, SourceState>;

  constructor(opts: ValidatorOptions = {}) {
    this.rules = typeof opts.rules === "string" || opts.rules === undefined ? parseRules(opts.rules) : opts.rules;
    for (const r of this.rules) if (r.tag !== STAR) this.own.set(r.tag, r);
    this.star = this.rules.find((r) => r.tag === STAR);
    for (const [tag, r] of this.own) this.merged.set(tag, mergeRule(r, this.star)!);
    this.required = [...this.own.values()].filter((r) => r.required).map((r) => r.tag);
    this.staleRules = [...this.merged.values()].filter((r) => r.staleMs !== undefined);
    this.mode = opts.schema ?? "none";
    this.target = opts.schemaTarget ?? "record";
    this.convert = opts.convert ?? true;
    if (this.mode === "cnc-envelope") this.check = compileSchema(CNC_ENVELOPE_SCHEMA);
    else if (this.mode === "custom") this.check = compileSchema(opts.customSchema);
    else if (this.mode !== "none") throw new Error(`unknown schema mode "${String(this.mode)}"`);
    this.unknownTags = opts.unknownTags ?? "pass";
    this.flags = opts.flags ?? true;
    this.maxTags = opts.maxTagsPerSource ?? 1000;
    this.maxBatch = opts.maxBatch ?? 100_000;
    this.maxReasons = opts.maxReasonsPerRecord ?? 10;
    this.maxStale = opts.maxStaleEvents ?? 10_000;
    this.now = opts.now ?? Date.now;
    const maxSources = opts.maxSources ?? 1000;
    if (!Number.isInteger(maxSources) || maxSources < 1) throw new Error("max sources must be a whole number >= 1");
    this.sources = new LruMap(maxSources);
  }

  /** How often the node should call checkStale() (ms), or undefined when no rule has staleMs. */
  staleCheckInterval(): number | undefined {
    const all = [...this.rules.map((r) => r.staleMs)].filter((x): x is number => x !== undefined);
    if (all.length === 0) return undefined;
    return Math.min(1000, Math.max(10, Math.round(Math.min(...all) / 4)));
  }

  /** Sources held and evicted so far. */
  stateSize(): { sources: number; evicted: number } {
    return { sources: this.sources.size, evicted: this.sources.evicted };
  }

  /** Drop all per-source state (rate history, staleness). */
  reset(): void {
    this.sources.clear();
  }

  /** Validate msg.payload; `topic` is msg.topic (the default source). Never throws. */
  validate(payload: unknown, topic: unknown): ValidateResult {
    const res: ValidateResult = {
      batch: Array.isArray(payload),
      total: Array.isArray(payload) ? payload.length : 1,
      valid: [],
      passed: [],
      rejected: [],
      rejectedInputs: [],
    };
    try {
      this.run(payload, topic, res);
    } catch (err) {
      // Never expected; a bug must not take the flow down: the whole message is rejected.
      res.valid = [];
      res.passed = [];
      res.rejected = [{ index: 0, code: "internal", reason: `internal error: ${(err as Error)?.message ?? err}` }];
      res.rejectedInputs = res.batch ? [] : [payload];
    }
    this.counters.in += res.total;
    this.counters.valid += res.valid.length + res.passed.length;
    this.counters.rejected += res.total - res.valid.length - res.passed.length;
    return res;
  }

  private run(payload: unknown, topic: unknown, res: ValidateResult): void {
    const items: unknown[] = Array.isArray(payload) ? payload : [payload];
    if (res.batch && items.length === 0) {
      res.rejected.push({ index: 0, code: "empty-batch", reason: "batch is empty" });
      return;
    }
    if (items.length > this.maxBatch) {
      res.rejected.push({
        index: 0,
        code: "too-large",
        reason: `batch of ${items.length} records exceeds the limit of ${this.maxBatch}`,
      });
      return;
    }
    if (this.check && this.mode === "custom" && this.target === "payload") {
      const bad = this.check(payload);
      if (bad) {
        res.rejected.push({ index: 0, code: "schema", reason: bad });
        res.rejectedInputs.push(...items);
        return;
      }
    }
    const now = this.now();
    const perItem = this.check && (this.mode === "cnc-envelope" || this.target === "record") ? this.check : undefined;
    for (let i = 0; i < items.length; i++) {
      const input = items[i];
      if (perItem) {
        const bad = perItem(input);
        if (bad) {
          this.reject(res, input, [{ index: i, code: "schema", reason: bad }]);
          continue;
        }
      }
      let candidate = input;
      if (this.mode === "cnc-envelope") {
        const conv = envelopeToRecord(input);
        if (!conv.ok) {
          this.reject(res, input, [{ index: i, code: "schema", reason: conv.reason }]);
          continue;
        }
        if (!this.convert) {
          res.passed.push(input);
          continue;
        }
        candidate = conv.record;
      }
      const rec = parseRecord(candidate, i, topic);
      if (isRejected(rec)) {
        this.reject(res, input, [{ index: i, code: rec.code, reason: rec.reason }]);
        continue;
      }
      this.checkRecord(rec, i, input, res, now);
    }
  }

  private reject(res: ValidateResult, input: unknown, reasons: Rejection[]): void {
    res.rejected.push(...reasons);
    res.rejectedInputs.push(input);
  }

  private sourceState(source: string, now: number): SourceState {
    let st = this.sources.get(source);
    if (st === undefined) {
      st = { tags: new Map() };
      for (const r of this.staleRules) st.tags.set(r.tag, { seen: now, staleMs: r.staleMs, reported: false });
      this.sources.set(source, st);
    }
    return st;
  }

  private checkRecord(rec: LineRecord, index: number, input: unknown, res: ValidateResult, now: number): void {
    const st = this.sourceState(rec.source, now);
    const vals = rec.values;
    const quality = rec.quality;
    const reasons: Rejection[] = [];
    const flags: Flag[] = [];
    const add = (code: ValidateCode, reason: string, tag?: string): void => {
      if (reasons.length < this.maxReasons)
        reasons.push(tag === undefined ? { index, code, reason } : { index, code, reason, tag });
    };
    for (const tag of this.required) {
      if (!hasOwn(vals, tag)) add("missing-tag", `required tag "${tag}" is missing`, tag);
    }
    const rated: Array<[string, number, TagState]> = [];
    for (const tag of Object.keys(vals)) {
      const ownRule = this.merged.get(tag);
      const rule = ownRule ?? this.star;
      if (ownRule === undefined && this.unknownTags !== "pass") {
        if (this.unknownTags === "reject") add("unknown-tag", `tag "${tag}" has no rule`, tag);
        else flags.push({ code: "unknown-tag", reason: `tag "${tag}" has no rule`, tag });
      }
      if (rule === undefined) continue;
      // state: what was received (staleness) and the last accepted sample (rate of change)
      let ts: TagState | undefined;
      if (rule.staleMs !== undefined || rule.maxRate !== undefined) {
        ts = st.tags.get(tag);
        if (ts === undefined && st.tags.size < this.maxTags) {
          ts = { seen: now, reported: false };
          st.tags.set(tag, ts);
        }
        if (ts !== undefined) {
          ts.seen = now;
          ts.lastTs = rec.ts;
          ts.reported = false;
          ts.staleMs = rule.staleMs;
        }
      }
      const v = vals[tag];
      if (rule.type !== undefined && typeof v !== rule.type) {
        add("wrong-type", `tag "${tag}" must be a ${rule.type}, got ${describe(v)}`, tag);
        continue;
      }
      const q = quality !== undefined && hasOwn(quality, tag) ? quality[tag] : "good";
      if (rule.quality !== undefined && !rule.quality.includes(q!)) {
        add("quality-not-allowed", `quality of "${tag}" is ${q} (allowed: ${rule.quality.join(", ")})`, tag);
      } else if (q === "uncertain") {
        flags.push({ code: "uncertain-quality", reason: `quality of "${tag}" is uncertain`, tag });
      }
      if (typeof v !== "number") continue;
      if (rule.min !== undefined && v < rule.min) add("below-min", `tag "${tag}" = ${v} is below min ${rule.min}`, tag);
      if (rule.max !== undefined && v > rule.max) add("above-max", `tag "${tag}" = ${v} is above max ${rule.max}`, tag);
      if (rule.maxRate !== undefined && ts !== undefined) {
        if (ts.v !== undefined && ts.ts !== undefined) {
          const dt = (rec.ts - ts.ts) / 1000;
          if (dt > 0) {
            const rate = Math.abs(v - ts.v) / dt;
            if (rate > rule.maxRate) {
              add(
                "rate-of-change",
                `tag "${tag}" changed by ${round(rate)}/s (max ${rule.maxRate}/s) since ${ts.v} at ${ts.ts}`,
                tag,
              );
            } else rated.push([tag, v, ts]);
          } else if (dt < 0) {
            flags.push({
              code: "out-of-order",
              reason: `tag "${tag}": ts is older than the last accepted sample`,
              tag,
            });
          } else rated.push([tag, v, ts]);
        } else rated.push([tag, v, ts]);
      }
    }
    if (reasons.length > 0) {
      this.reject(res, input, reasons);
      return;
    }
    for (const [, v, ts] of rated) {
      ts.v = v;
      ts.ts = rec.ts;
    }
    const out = toPayload(rec) as ValidRecord;
    if (this.flags && flags.length > 0) out.flags = flags;
    res.valid.push(out);
  }

  /**
   * Tags that have not been received for their staleMs: each is reported once until it is received
   * again. The node calls this from a timer (staleCheckInterval()).
   */
  checkStale(now: number = this.now()): StaleEvent[] {
    const events: StaleEvent[] = [];
    for (const [source, st] of this.sources.entries()) {
      for (const [tag, ts] of st.tags) {
        if (ts.staleMs === undefined || ts.reported || now - ts.seen < ts.staleMs) continue;
        if (events.length >= this.maxStale) break;
        ts.reported = true;
        const e: StaleEvent = { source, tag, lastSeen: ts.seen, staleMs: ts.staleMs };
        if (ts.lastTs !== undefined) e.lastTs = ts.lastTs;
        events.push(e);
      }
    }
    this.counters.stale += events.length;
    return events;
  }
}

/** One line for a status or an Error: "2/5 record(s) rejected: [3] reason (+1 more)". */
export function summarise(r: ValidateResult): string {
  const first = r.rejected[0];
  if (!first) return "";
  const count = r.rejectedInputs.length || r.total;
  const more = r.rejected.length > 1 ? ` (+${r.rejected.length - 1} more)` : "";
  return `${count}/${r.total} record(s) rejected: [${first.index}] ${first.reason}${more}`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** Rejections for stale events (msg.rejected on output 2). */
export function staleRejections(events: StaleEvent[]): Array<Rejection & { source: string; lastTs?: number }> {
  return events.map((e, index) => {
    const since = e.lastTs === undefined ? "never received" : `last sample ts ${e.lastTs}`;
    const r: Rejection & { source: string; lastTs?: number } = {
      index,
      code: "stale",
      reason: `tag "${e.tag}" of "${e.source}" not received for ${e.staleMs} ms (${since})`,
      tag: e.tag,
      source: e.source,
    };
    if (e.lastTs !== undefined) r.lastTs = e.lastTs;
    return r;
  });
}
