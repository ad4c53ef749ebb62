/**
 * Validation rules per tag (or for every tag with `*`), parsed and checked at deploy.
 * No Node-RED import.
 */
import type { Quality } from "../record";

export type TagType = "number" | "string" | "boolean";

export interface TagRule {
  /** Tag name, or `*` for every tag (a tag's own rule overrides the `*` rule field by field). */
  tag: string;
  /** The tag must be present in every record. Not allowed on `*`. */
  required?: boolean;
  type?: TagType;
  /** Inclusive limits for numbers. */
  min?: number;
  max?: number;
  /** Largest allowed change per second against the previous accepted sample of the same source+tag. */
  maxRate?: number;
  /** The tag is stale when its source has not sent it for this many milliseconds. */
  staleMs?: number;
  /** Allowed qualities (a tag without a quality entry is good). */
  quality?: Quality[];
}

export const STAR = "*";
export const TAG_TYPES: readonly TagType[] = ["number", "string", "boolean"];
const QUALITIES: readonly Quality[] = ["good", "uncertain", "bad"];
const KEYS = new Set(["tag", "required", "type", "min", "max", "maxRate", "staleMs", "quality"]);
export const MAX_RULES = 10_000;
export const MIN_STALE_MS = 10;
export const MAX_STALE_MS = 7 * 24 * 3600 * 1000;

/** An unset editor field: undefined, null or an empty string. */
function unset(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === "string" && v.trim() === "");
}

function num(v: unknown, what: string): number | undefined {
  if (unset(v)) return undefined;
  const n = typeof v === "string" ? Number(v.trim()) : v;
  if (typeof n !== "number" || !Number.isFinite(n)) throw new Error(`${what} must be a finite number`);
  return n;
}

function qualities(v: unknown, what: string): Quality[] | undefined {
  if (unset(v)) return undefined;
  const list = typeof v === "string" ? v.split(/[,+\s]+/).filter((s) => s !== "") : v;
  if (!Array.isArray(list) || list.length === 0) throw new Error(`${what} must be a list of good, uncertain, bad`);
  const out: Quality[] = [];
  for (const q of list) {
    if (typeof q !== "string" || !(QUALITIES as readonly string[]).includes(q)) {
      throw new Error(`${what} must only hold good, uncertain or bad`);
    }
    if (!out.includes(q as Quality)) out.push(q as Quality);
  }
  return out;
}

/** Check one rule; throws an Error naming the rule and the problem. */
export function parseRule(raw: unknown, i: number): TagRule {
  const where = `rule ${i + 1}`;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new Error(`${where} must be an object`);
  const r = raw as Record<string, unknown>;
  if (typeof r.tag !== "string" || r.tag.trim() === "") throw new Error(`${where} has no tag name`);
  const tag = r.tag.trim();
  if (tag.length > 256) throw new Error(`${where}: tag name is longer than 256 characters`);
  const at = `${where} (${tag})`;
  for (const k of Object.keys(r)) if (!KEYS.has(k)) throw new Error(`${at}: unknown setting "${k}"`);
  const rule: TagRule = { tag };
  if (!unset(r.required)) {
    if (typeof r.required !== "boolean") throw new Error(`${at}: required must be true or false`);
    if (r.required) {
      if (tag === STAR) throw new Error(`${at}: required cannot be set for every tag (*)`);
      rule.required = true;
    }
  }
  if (!unset(r.type)) {
    if (typeof r.type !== "string" || !(TAG_TYPES as readonly string[]).includes(r.type)) {
      throw new Error(`${at}: type must be number, string or boolean`);
    }
    rule.type = r.type as TagType;
  }
  const min = num(r.min, `${at}: min`);
  const max = num(r.max, `${at}: max`);
  const maxRate = num(r.maxRate, `${at}: maxRate`);
  const staleMs = num(r.staleMs, `${at}: staleMs`);
  const numeric = min !== undefined || max !== undefined || maxRate !== undefined;
  if (numeric && rule.type !== undefined && rule.type !== "number") {
    throw new Error(`${at}: min, max and maxRate need type number (type is ${rule.type})`);
  }
  if (min !== undefined && max !== undefined && min > max) throw new Error(`${at}: min (${min}) is above max (${max})`);
  if (maxRate !== undefined && maxRate <= 0) throw new Error(`${at}: maxRate must be above 0`);
  if (staleMs !== undefined && (staleMs < MIN_STALE_MS || staleMs > MAX_STALE_MS)) {
    throw new Error(`${at}: staleMs must be between ${MIN_STALE_MS} and ${MAX_STALE_MS}`);
  }
  if (min !== undefined) rule.min = min;
  if (max !== undefined) rule.max = max;
  if (maxRate !== undefined) rule.maxRate = maxRate;
  if (staleMs !== undefined) rule.staleMs = Math.round(staleMs);
  const q = qualities(r.quality, `${at}: quality`);
  if (q) rule.quality = q;
  return rule;
}

/**
 * Parse the rules setting: a JSON string (empty = no rules) or an array of rule objects.
 * Throws an Error with a clear message on the first problem.
 */
export function parseRules(input: unknown): TagRule[] {
  let list = input;
  if (typeof input === "string") {
    if (input.trim() === "") return [];
    try {
      list = JSON.parse(input) as unknown;
    } catch (err) {
      throw new Error(`rules are not valid JSON: ${(err as Error).message}`);
    }
  }
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new Error("rules must be a JSON array of {tag, ...} objects");
  if (list.length > MAX_RULES) throw new Error(`at most ${MAX_RULES} rules are allowed`);
  const seen = new Set<string>();
  return list.map((raw, i) => {
    const r = parseRule(raw, i);
    if (seen.has(r.tag)) throw new Error(`rule ${i + 1}: tag "${r.tag}" has more than one rule`);
    seen.add(r.tag);
    return r;
  });
}

/** The effective rule of a tag: its own rule over the `*` rule, field by field. */
export function mergeRule(own: TagRule | undefined, star: TagRule | undefined): TagRule | undefined {
  if (!own) return star;
  if (!star) return own;
  const { tag: _t, required: _r, ...rest } = star;
  const merged: TagRule = { ...rest, tag: own.tag };
  for (const [k, v] of Object.entries(own)) if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  // a type of its own that is not a number drops the star's numeric limits
  if (merged.type !== undefined && merged.type !== "number") {
    delete merged.min;
    delete merged.max;
    delete merged.maxRate;
  }
  return merged;
}
