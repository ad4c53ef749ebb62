/**
 * InfluxDB line protocol, produced by hand (measured faster than the client's Point class; see
 * bench notes in lib/sinks/influx.ts) and checked line by line against a real InfluxDB 1.8.10.
 *
 * Record -> point mapping (every rule can be overridden by config or message):
 *   measurement  config `measurement` (default "lineguard"), or msg.measurement (a non-empty string)
 *   tags         {<sourceTag>: record.source} (sourceTag default "source", "" = none), then the config's
 *                static tags (JSON object), then msg.tags; a later key wins. Values are strings (numbers
 *                and booleans are converted). Empty keys/values and the key "time" are skipped
 *                (InfluxDB refuses them).
 *   fields       values: number -> float (always a float, never an integer field), boolean -> boolean,
 *                string -> string field, or dropped when stringValues is "drop";
 *                a value whose quality is "bad" is skipped unless writeBadQuality is set;
 *                features.<tag>.<stat> -> float field "<tag>_<stat>";
 *                anomaly -> anomaly_score, anomaly_threshold (floats), anomaly (boolean);
 *                a field named "time" is skipped (InfluxDB drops it).
 *   time         record ts (epoch ms, fractions allowed) written at the precision (s | ms | us | ns),
 *                converted on the decimal digits, so 1700000000123.456 ms is 1700000000123456000 ns
 *                exactly (finer digits are truncated); outside InfluxDB's range -> "bad-timestamp".
 * A record left with no field is rejected ("no-field"). A field whose type differs from the type this
 * writer already wrote for that measurement and key is rejected ("bad-value"), because InfluxDB refuses
 * the whole request on a field type conflict.
 *
 * Escaping (InfluxDB's parser, verified on 1.8.10):
 *   measurement        "," and " " get a backslash
 *   tag key/value      ",", "=" and " " get a backslash
 *   field key          as tag keys, and a backslash in front of one of those characters is doubled
 *                      (field keys are scanned in backslash pairs; it is then stored doubled)
 *   string field       "\"" and "\\" get a backslash; newlines are kept as they are (allowed in quotes)
 *   everywhere else    a newline becomes the two characters "\n" (line protocol cannot carry it);
 *                      trailing backslashes are removed (they would escape the separator that follows).
 *                      Tabs, carriage returns and any Unicode are written as they are.
 * Floats are printed with the shortest representation that round-trips (String(n); InfluxDB accepts
 * the exponent form "1e+21").
 */
import type { LineRecord, RejectCode } from "../record";
import type { SinkItem } from "./backlog";

export type Precision = "s" | "ms" | "us" | "ns";
export type StringMode = "field" | "drop";

export const PRECISIONS: readonly Precision[] = ["s", "ms", "us", "ns"];

/** One serialised point: the line (without newline) and its size in bytes including the newline. */
export interface InfluxItem extends SinkItem {
  line: string;
}

export interface MappingOptions {
  /** Default measurement (default "lineguard"). */
  measurement?: string;
  /** Static tags added to every point. */
  tags?: Record<string, string>;
  /** Tag that carries record.source (default "source"; "" = no source tag). */
  sourceTag?: string;
  /** Timestamp precision (default "ms"). */
  precision?: Precision;
  /** What to do with string values (default "field"). */
  stringValues?: StringMode;
  /** Write values whose quality is "bad" (default false: skip them). */
  writeBadQuality?: boolean;
  /** Size of the field type memory (measurement+field keys); it is cleared when full. Default 100000. */
  maxTypeKeys?: number;
}

/** Per-message overrides, as found on the message (validated here). */
export interface MessageOverrides {
  measurement?: unknown;
  tags?: unknown;
}

export interface MappingRejection {
  /** Index into the records given to map(). */
  index: number;
  code: RejectCode;
  reason: string;
}

export interface MapResult {
  items: InfluxItem[];
  rejected: MappingRejection[];
}

// ---------------------------------------------------------------- escaping

const TRAILING_BACKSLASHES = /\\+$/;
const NEEDS_ESCAPE_MEASUREMENT = /[, \n\\]/;
const NEEDS_ESCAPE_TAG = /[,= \n\\]/;

function stripTrailing(s: string): string {
  return s.charCodeAt(s.length - 1) === 92 ? s.replace(TRAILING_BACKSLASHES, "") : s;
}

/** Escape a measurement name. May return "" (e.g. for "\\"): the caller must reject that. */
export function escapeMeasurement(s: string): string {
  if (!NEEDS_ESCAPE_MEASUREMENT.test(s)) return s;
  return stripTrailing(s).replace(/[, ]/g, "\\$&").replace(/\n/g, "\\n");
}

/** Escape a tag key or tag value. May return "" : the caller must skip that tag. */
export function escapeTag(s: string): string {
  if (!NEEDS_ESCAPE_TAG.test(s)) return s;
  return stripTrailing(s).replace(/[,= ]/g, "\\$&").replace(/\n/g, "\\n");
}

/** Escape a field key. May return "": the caller must skip that field. */
export function escapeFieldKey(s: string): string {
  if (!NEEDS_ESCAPE_TAG.test(s)) return s;
  return stripTrailing(s)
    .replace(/\\(?=[,= ])/g, "\\\\")
    .replace(/[,= ]/g, "\\$&")
    .replace(/\n/g, "\\n");
}

const NEEDS_ESCAPE_STRING = /["\\]/;

/** A string field value, quoted. */
export function quoteString(s: string): string {
  return NEEDS_ESCAPE_STRING.test(s) ? `"${s.replace(/["\\]/g, "\\$&")}"` : `"${s}"`;
}

/** A float field value: shortest representation that round-trips. */
export function formatFloat(n: number): string {
  return String(n);
}

// ---------------------------------------------------------------- time

/** Decimal exponent of one unit of each precision relative to one millisecond. */
const SHIFT: Record<Precision, number> = { s: -3, ms: 0, us: 3, ns: 6 };

/** InfluxDB's time range in nanoseconds (models.MinNanoTime / MaxNanoTime). */
export const MAX_NS = 9223372036854775806n;

const MAX_DIGITS_NS = MAX_NS.toString().length;

/**
 * Integer digits of `ms * 10^shift`, truncated, computed on the decimal digits of the shortest
 * representation of `ms` (no floating-point multiplication). `ms` must be finite and >= 0.
 */
function shiftDigits(ms: number, shift: number): string {
  const s = String(ms);
  let mant = s;
  let exp = 0;
  const e = s.indexOf("e");
  if (e >= 0) {
    mant = s.slice(0, e);
    exp = Number(s.slice(e + 1));
  }
  const dot = mant.indexOf(".");
  const digits = dot >= 0 ? mant.slice(0, dot) + mant.slice(dot + 1) : mant;
  const intLen = (dot >= 0 ? dot : mant.length) + exp + shift;
  let out: string;
  if (intLen <= 0) out = "0";
  else if (intLen >= digits.length) out = digits + "0".repeat(intLen - digits.length);
  else out = digits.slice(0, intLen);
  out = out.replace(/^0+(?=\d)/, "");
  return out;
}

/**
 * The line protocol timestamp of `ms` (epoch milliseconds, fractions allowed) at `precision`, or
 * undefined when it is not a finite time within InfluxDB's range (1677-09-21 .. 2262-04-11).
 * Negative times (before 1970) are not accepted by the record format and are refused here too.
 */
export function formatTimestamp(ms: number, precision: Precision = "ms"): string | undefined {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) return undefined;
  if (precision === "ms" && Number.isSafeInteger(ms) && ms <= 9223372036854) return String(ms);
  const ns = shiftDigits(ms, SHIFT.ns);
  if (ns.length > MAX_DIGITS_NS || (ns.length === MAX_DIGITS_NS && BigInt(ns) > MAX_NS)) return undefined;
  return precision === "ns" ? ns : shiftDigits(ms, SHIFT[precision]);
}

// ---------------------------------------------------------------- mapping

const RESERVED_KEYS: ReadonlySet<string> = new Set(["time"]);

type FieldType = "float" | "boolean" | "string";

/** A field key as written: escaped ("" = never written, e.g. "time") and the type it was written as. */
interface FieldEntry {
  ek: string;
  type: FieldType;
}

/** Validate a measurement name; returns the escaped form or an error text. */
export function checkMeasurement(m: unknown): { ok: true; escaped: string } | { ok: false; reason: string } {
  if (typeof m !== "string" || m.trim() === "") return { ok: false, reason: "measurement must be a non-empty string" };
  if (m.startsWith("#")) return { ok: false, reason: 'measurement must not start with "#" (a comment line)' };
  const escaped = escapeMeasurement(m);
  if (escaped === "") return { ok: false, reason: "measurement is empty after escaping" };
  return { ok: true, escaped };
}

/** Validate a tags object; values may be strings, finite numbers or booleans. */
export function checkTags(t: unknown): { ok: true; tags: Record<string, string> } | { ok: false; reason: string } {
  if (t === null || typeof t !== "object" || Array.isArray(t)) {
    return { ok: false, reason: "tags must be an object of name -> string" };
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(t as Record<string, unknown>)) {
    if (typeof v === "string") out[k] = v;
    else if ((typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean") out[k] = String(v);
    else return { ok: false, reason: `tag "${k}" must be a string, number or boolean` };
  }
  return { ok: true, tags: out };
}

/** Escaped, filtered tag pairs, sorted by key (InfluxDB's preferred order). */
function tagPairs(tags: Record<string, string>): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(tags)) {
    if (RESERVED_KEYS.has(k)) continue;
    const ek = escapeTag(k);
    const ev = escapeTag(v);
    if (ek !== "" && ev !== "") pairs.push([ek, ev]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return pairs;
}

function joinTags(pairs: Array<[string, string]>): string {
  let s = "";
  for (const [k, v] of pairs) s += `,${k}=${v}`;
  return s;
}

/**
 * Maps records to line protocol. One instance per sink: it remembers the field types it wrote
 * (per measurement and key), so a record that would make InfluxDB refuse the whole request is
 * rejected on its own instead.
 */
export class LineMapper {
  readonly precision: Precision;
  private readonly measurement: string;
  private readonly escMeasurement: string;
  private readonly staticTags: Record<string, string>;
  private readonly sourceTag: string;
  private readonly dropStrings: boolean;
  private readonly writeBad: boolean;
  private readonly maxTypeKeys: number;
  /** Fields seen so far: measurement -> field key -> escaped key and type written. */
  private readonly types = new Map<string, Map<string, FieldEntry>>();
  private typeKeys = 0;

  constructor(opts: MappingOptions = {}) {
    this.precision = opts.precision ?? "ms";
    if (!PRECISIONS.includes(this.precision)) throw new Error(`precision must be one of ${PRECISIONS.join(", ")}`);
    this.measurement = opts.measurement ?? "lineguard";
    const m = checkMeasurement(this.measurement);
    if (!m.ok) throw new Error(m.reason);
    this.escMeasurement = m.escaped;
    const t = checkTags(opts.tags ?? {});
    if (!t.ok) throw new Error(t.reason);
    this.staticTags = t.tags;
    this.sourceTag = opts.sourceTag ?? "source";
    this.dropStrings = opts.stringValues === "drop";
    this.writeBad = opts.writeBadQuality === true;
    this.maxTypeKeys = opts.maxTypeKeys ?? 100_000;
  }

  /** Map the records of one message. Never throws: a record becomes a line or a rejection. */
  map(records: readonly LineRecord[], overrides: MessageOverrides = {}): MapResult {
    const out: MapResult = { items: [], rejected: [] };
    const rejectAll = (reason: string): MapResult => {
      records.forEach((_, index) => out.rejected.push({ index, code: "bad-value", reason }));
      return out;
    };
    let measurement = this.measurement;
    let escMeasurement = this.escMeasurement;
    if (overrides.measurement !== undefined && overrides.measurement !== null) {
      const m = checkMeasurement(overrides.measurement);
      if (!m.ok) return rejectAll(`msg.measurement: ${m.reason}`);
      measurement = overrides.measurement as string;
      escMeasurement = m.escaped;
    }
    let tags = this.staticTags;
    if (overrides.tags !== undefined && overrides.tags !== null) {
      const t = checkTags(overrides.tags);
      if (!t.ok) return rejectAll(`msg.tags: ${t.reason}`);
      tags = { ...tags, ...t.tags };
    }
    const fixed = tagPairs(tags);
    const withSource = this.sourceTag !== "" && !Object.prototype.hasOwnProperty.call(tags, this.sourceTag);
    // The series key (measurement + tags) only depends on the source: build it once per source.
    const prefixes = new Map<string, string>();
    const prefixOf = (source: string): string => {
      let p = prefixes.get(source);
      if (p === undefined) {
        const pairs = withSource ? tagPairs({ [this.sourceTag]: source }).concat(fixed) : fixed;
        if (withSource) pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        p = escMeasurement + joinTags(pairs);
        prefixes.set(source, p);
      }
      return p;
    };

    let types = this.types.get(measurement);
    if (types === undefined) {
      types = new Map();
      this.types.set(measurement, types);
    }
    const before = types.size;
    for (let i = 0; i < records.length; i++) {
      const r = this.mapOne(records[i]!, measurement, types, prefixOf);
      if (typeof r === "string") {
        out.items.push({ line: r, bytes: Buffer.byteLength(r) + 1 });
      } else {
        out.rejected.push({ index: i, code: r.code, reason: r.reason });
      }
    }
    this.typeKeys += types.size - before;
    if (this.typeKeys > this.maxTypeKeys) {
      this.types.clear();
      this.typeKeys = 0;
    }
    return out;
  }

  private mapOne(
    rec: LineRecord,
    measurement: string,
    types: Map<string, FieldEntry>,
    prefixOf: (source: string) => string,
  ): string | { code: RejectCode; reason: string } {
    const ts = formatTimestamp(rec.ts, this.precision);
    if (ts === undefined) {
      return { code: "bad-timestamp", reason: `ts ${String(rec.ts)} is outside InfluxDB's time range` };
    }
    let line = "";
    let longestKey = "";
    let conflict: string | undefined;
    /** Keys this record registered for the first time (forgotten again when it is rejected). */
    let added: string[] | undefined;
    // One lookup per field gives its escaped key and the type written before (hot path).
    const append = (key: string, type: FieldType, text: string): void => {
      let e = types.get(key);
      if (e === undefined) {
        e = { ek: RESERVED_KEYS.has(key) ? "" : escapeFieldKey(key), type };
        types.set(key, e);
        (added ??= []).push(key);
      } else if (e.type !== type && e.ek !== "" && conflict === undefined) {
        conflict = `field "${key}" is ${type} but was written as ${e.type} to "${measurement}" (InfluxDB refuses a type change)`;
      }
      if (e.ek !== "") {
        line += line === "" ? `${e.ek}=${text}` : `,${e.ek}=${text}`;
        if (e.ek.length > longestKey.length) longestKey = e.ek;
      }
    };
    const q = rec.quality;
    const values = rec.values;
    const writeBad = this.writeBad;
    const dropStrings = this.dropStrings;
    if (rec.features === undefined && rec.anomaly === undefined) {
      // Object keys are unique: emit as we go.
      for (const key in values) {
        if (q !== undefined && q[key] === "bad" && !writeBad) continue;
        const v = values[key];
        if (typeof v === "number") append(key, "float", String(v));
        else if (typeof v === "boolean") append(key, "boolean", v ? "true" : "false");
        else if (typeof v === "string" && !dropStrings) append(key, "string", quoteString(v));
      }
    } else {
      // values, then features, then anomaly: a later source of the same key wins.
      const all = new Map<string, [FieldType, string]>();
      for (const key in values) {
        if (q !== undefined && q[key] === "bad" && !writeBad) continue;
        const v = values[key];
        if (typeof v === "number") all.set(key, ["float", formatFloat(v)]);
        else if (typeof v === "boolean") all.set(key, ["boolean", v ? "true" : "false"]);
        else if (typeof v === "string" && !dropStrings) all.set(key, ["string", quoteString(v)]);
      }
      if (rec.features) {
        for (const tag in rec.features) {
          const stats = rec.features[tag]!;
          for (const stat in stats) all.set(`${tag}_${stat}`, ["float", formatFloat(stats[stat]!)]);
        }
      }
      const a = rec.anomaly;
      if (a && typeof a === "object") {
        if (typeof a.score === "number" && Number.isFinite(a.score))
          all.set("anomaly_score", ["float", formatFloat(a.score)]);
        if (typeof a.threshold === "number" && Number.isFinite(a.threshold)) {
          all.set("anomaly_threshold", ["float", formatFloat(a.threshold)]);
        }
        if (typeof a.anomaly === "boolean") all.set("anomaly", ["boolean", a.anomaly ? "true" : "false"]);
      }
      for (const [key, [type, text]] of all) append(key, type, text);
    }
    if (line === "" || conflict !== undefined) {
      if (added) for (const k of added) types.delete(k);
      return line === ""
        ? { code: "no-field", reason: "record has no value left to write (after quality and string rules)" }
        : { code: "bad-value", reason: conflict! };
    }
    const prefix = prefixOf(rec.source);
    // InfluxDB refuses a point whose series key + field key pass 65,535 bytes ("max key length
    // exceeded"); UTF-8 has at most 3 bytes per UTF-16 unit, so the exact count is rarely needed.
    if (prefix.length * 3 + longestKey.length * 3 > MAX_KEY_BYTES) {
      if (Buffer.byteLength(prefix) + Buffer.byteLength(longestKey) > MAX_KEY_BYTES) {
        if (added) for (const k of added) types.delete(k);
        return {
          code: "too-large",
          reason: `series key (measurement, tags, source) + field key is over ${MAX_KEY_BYTES} bytes, InfluxDB's limit`,
        };
      }
    }
    return `${prefix} ${line} ${ts}`;
  }
}

/** InfluxDB's limit for series key + field key, bytes. */
export const MAX_KEY_BYTES = 65_535;
