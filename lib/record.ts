/**
 * The one record format every LineGuard node speaks. See docs/record.md.
 *
 * A message carries either one record or a batch:
 *   msg.topic   = default source id (line/machine), used when a record has no `source` of its own
 *   msg.payload = RecordPayload | RecordPayload[]
 *
 * This module has no Node-RED import: it is plain data handling, unit-tested directly.
 */

export type TagValue = number | string | boolean;
export type Quality = "good" | "uncertain" | "bad";

export interface AnomalyResult {
  /** Reconstruction error (or other score) of the latest window. */
  score: number;
  threshold: number;
  anomaly: boolean;
  /** Per-feature contribution to the score, by tag name. */
  contributions?: Record<string, number>;
  model?: string;
}

export interface Detection {
  class: string;
  score: number;
  box: { x: number; y: number; w: number; h: number };
}

/** What a producer puts into msg.payload (one element of a batch). */
export interface RecordPayload {
  /** Time of the sample: epoch milliseconds (fractions allowed) or an ISO-8601 string. */
  ts: number | string;
  /** Tag values. */
  values: Record<string, TagValue>;
  /** Quality per tag; a tag without an entry is "good". */
  quality?: Record<string, Quality>;
  /** Source id (line/machine); defaults to msg.topic. */
  source?: string;
  /** Rolling features per tag, e.g. features.spindle_load.mean. */
  features?: Record<string, Record<string, number>>;
  anomaly?: AnomalyResult;
  detections?: Detection[];
}

/** A record after normalisation: source resolved, ts in epoch milliseconds. */
export interface LineRecord {
  source: string;
  ts: number;
  values: Record<string, TagValue>;
  quality?: Record<string, Quality>;
  features?: Record<string, Record<string, number>>;
  anomaly?: AnomalyResult;
  detections?: Detection[];
}

/** A camera frame: the encoded image plus its geometry. */
export interface FrameRecord {
  source: string;
  ts: number;
  image: Buffer;
  width: number;
  height: number;
  format: "jpeg" | "png" | "raw";
}

/** A record that could not be accepted, with a machine-readable reason. */
export interface RejectedRecord {
  /** Index in the batch (0 for a single record). */
  index: number;
  /** Short code, e.g. "not-object", "bad-timestamp", "no-values", "bad-value". */
  code: RejectCode;
  /** Human-readable explanation. */
  reason: string;
  /** The offending input, as received. */
  input: unknown;
}

export type RejectCode =
  | "not-object"
  | "no-source"
  | "bad-timestamp"
  | "no-values"
  | "bad-value"
  | "bad-quality"
  | "bad-features"
  | "empty-batch"
  | "too-large"
  | "no-field"
  | "bad-topic"
  | "bad-header"
  | "no-payload";

export interface ParsedRecords {
  records: LineRecord[];
  rejected: RejectedRecord[];
  /** True when msg.payload was an array (a batch). */
  batch: boolean;
}

export interface ParseOptions {
  /** Accept a record without ts and stamp it with `now()`. Default false: a missing ts is rejected. */
  stampMissingTs?: boolean;
  /** Clock for stamping, for tests. */
  now?: () => number;
  /** Reject batches larger than this. Default 100000. */
  maxBatch?: number;
}

const QUALITIES: ReadonlySet<string> = new Set(["good", "uncertain", "bad"]);

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as object | null;
  // Object.prototype of any realm: a Function node builds its objects in a vm sandbox.
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** Parse a timestamp into epoch milliseconds, or undefined when it is not a usable time. */
/** The last instant a JavaScript Date can hold (year 275760), ms: later "timestamps" are garbage. */
export const MAX_TIMESTAMP_MS = 8.64e15;

export function parseTimestamp(ts: unknown): number | undefined {
  if (typeof ts === "number") return Number.isFinite(ts) && ts >= 0 && ts <= MAX_TIMESTAMP_MS ? ts : undefined;
  // A real Date, not merely an object whose prototype chain has Date.prototype (getTime would throw).
  if (Object.prototype.toString.call(ts) === "[object Date]") {
    const t = (ts as Date).getTime();
    return Number.isFinite(t) ? t : undefined;
  }
  if (typeof ts === "string" && ts.trim() !== "") {
    const s = ts.trim();
    if (/^\d+(\.\d+)?$/.test(s)) return parseTimestamp(Number(s));
    const t = Date.parse(s);
    return Number.isFinite(t) ? t : undefined;
  }
  return undefined;
}

function reject(index: number, code: RejectCode, reason: string, input: unknown): RejectedRecord {
  return { index, code, reason, input };
}

function checkValues(values: unknown): { ok: true } | { ok: false; code: RejectCode; reason: string } {
  if (!isPlainObject(values))
    return { ok: false, code: "no-values", reason: "values must be an object of tag -> value" };
  const keys = Object.keys(values);
  if (keys.length === 0) return { ok: false, code: "no-values", reason: "values is empty" };
  for (const k of keys) {
    const v = values[k];
    if (typeof v === "number") {
      if (!Number.isFinite(v))
        return { ok: false, code: "bad-value", reason: `value of "${k}" is not finite (${String(v)})` };
    } else if (typeof v !== "string" && typeof v !== "boolean") {
      return {
        ok: false,
        code: "bad-value",
        reason: `value of "${k}" must be a number, string or boolean, got ${describe(v)}`,
      };
    }
  }
  return { ok: true };
}

function checkQuality(q: unknown): string | undefined {
  if (q === undefined) return undefined;
  if (!isPlainObject(q)) return "quality must be an object of tag -> good|uncertain|bad";
  for (const [k, v] of Object.entries(q)) {
    if (typeof v !== "string" || !QUALITIES.has(v)) return `quality of "${k}" must be good, uncertain or bad`;
  }
  return undefined;
}

function checkFeatures(f: unknown): string | undefined {
  if (f === undefined) return undefined;
  if (!isPlainObject(f)) return "features must be an object of tag -> {stat: number}";
  for (const [tag, stats] of Object.entries(f)) {
    if (!isPlainObject(stats)) return `features of "${tag}" must be an object`;
    for (const [name, v] of Object.entries(stats)) {
      if (typeof v !== "number" || !Number.isFinite(v)) return `feature "${tag}.${name}" must be a finite number`;
    }
  }
  return undefined;
}

/** Short type description for error messages (never the value itself, which may be huge). */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (Buffer.isBuffer(v)) return "Buffer";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  return typeof v;
}

/** Normalise one record; `defaultSource` is msg.topic. */
export function parseRecord(
  input: unknown,
  index: number,
  defaultSource: unknown,
  opts: ParseOptions = {},
): LineRecord | RejectedRecord {
  if (!isPlainObject(input)) {
    return reject(index, "not-object", `record must be an object, got ${describe(input)}`, input);
  }
  const src = input.source ?? defaultSource;
  if (typeof src !== "string" || src === "") {
    return reject(index, "no-source", "record has no source: set msg.topic or the record's source", input);
  }
  let ts: number | undefined;
  if (input.ts === undefined || input.ts === null) {
    if (!opts.stampMissingTs) return reject(index, "bad-timestamp", "record has no ts", input);
    ts = (opts.now ?? Date.now)();
  } else {
    ts = parseTimestamp(input.ts);
    if (ts === undefined)
      return reject(index, "bad-timestamp", `ts is not a valid time (${describe(input.ts)})`, input);
  }
  const vc = checkValues(input.values);
  if (!vc.ok) return reject(index, vc.code, vc.reason, input);
  const qErr = checkQuality(input.quality);
  if (qErr) return reject(index, "bad-quality", qErr, input);
  const fErr = checkFeatures(input.features);
  if (fErr) return reject(index, "bad-features", fErr, input);

  const rec: LineRecord = { source: src, ts, values: input.values as Record<string, TagValue> };
  if (input.quality !== undefined) rec.quality = input.quality as Record<string, Quality>;
  if (input.features !== undefined) rec.features = input.features as Record<string, Record<string, number>>;
  if (input.anomaly !== undefined) rec.anomaly = input.anomaly as AnomalyResult;
  if (input.detections !== undefined) rec.detections = input.detections as Detection[];
  return rec;
}

export function isRejected(r: LineRecord | RejectedRecord): r is RejectedRecord {
  return (r as RejectedRecord).code !== undefined && (r as RejectedRecord).reason !== undefined;
}

/**
 * Normalise msg.payload (one record or an array of records). Never throws: every record
 * ends up either in `records` or in `rejected` with a reason.
 */
export function parseRecords(payload: unknown, topic: unknown, opts: ParseOptions = {}): ParsedRecords {
  const out: ParsedRecords = { records: [], rejected: [], batch: Array.isArray(payload) };
  if (Array.isArray(payload)) {
    const max = opts.maxBatch ?? 100_000;
    if (payload.length === 0) {
      out.rejected.push(reject(0, "empty-batch", "batch is empty", payload));
      return out;
    }
    if (payload.length > max) {
      out.rejected.push(
        reject(0, "too-large", `batch of ${payload.length} records exceeds the limit of ${max}`, undefined),
      );
      return out;
    }
    payload.forEach((p, i) => {
      const r = parseRecord(p, i, topic, opts);
      if (isRejected(r)) out.rejected.push(r);
      else out.records.push(r);
    });
    return out;
  }
  const r = parseRecord(payload, 0, topic, opts);
  if (isRejected(r)) out.rejected.push(r);
  else out.records.push(r);
  return out;
}

/** The payload form of a normalised record (what nodes emit downstream). */
export function toPayload(r: LineRecord): RecordPayload {
  const p: RecordPayload = { source: r.source, ts: r.ts, values: r.values };
  if (r.quality) p.quality = r.quality;
  if (r.features) p.features = r.features;
  if (r.anomaly) p.anomaly = r.anomaly;
  if (r.detections) p.detections = r.detections;
  return p;
}

/** Summarise rejections for a status line or an Error message. */
export function summariseRejections(rejected: RejectedRecord[], total: number): string {
  if (rejected.length === 0) return "";
  const first = rejected[0]!;
  const more = rejected.length > 1 ? ` (+${rejected.length - 1} more)` : "";
  return `${rejected.length}/${total} record(s) rejected: [${first.index}] ${first.reason}${more}`;
}
