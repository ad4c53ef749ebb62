/**
 * LineGuard message -> Kafka messages. The mapping (also in the kafka-out help):
 *
 * valueMode "record" (default): msg.payload is a record or a batch of records (lib/record.ts).
 *   - one Kafka message per record;
 *   - value     = JSON of the normalised record (toPayload: `source` included, `ts` in epoch ms);
 *   - key       = the record's source (keyMode "source"), msg.key (keyMode "msg"), or none;
 *   - headers   = static headers from the config, then msg.headers (string values; numbers and
 *                 booleans are turned into strings). No per-record content-type: the value is
 *                 always a JSON record here, and a header on every record costs ~15 % of the
 *                 producer's throughput (bench/sinks); add one as a static header if consumers need it;
 *   - timestamp = the record's ts (epoch ms, fractions cut);
 *   - topic     = the configured topic (topicMode "static"), msg.topic ("msg"), or a template
 *                 ("template") where {{source}} is the record's source and {{msg.topic}} msg.topic.
 *   A record is rejected (not sent; reported with a reason) when it is not a valid record, when its
 *   topic is not a valid Kafka topic name ([a-zA-Z0-9._-], 1..249 characters, not "." or ".."), or
 *   when its encoded message exceeds maxMessageBytes ("too-large").
 * valueMode "raw": msg.payload is sent as it is, as one message, without record validation: a
 *   Buffer as bytes, a string as UTF-8, anything else as JSON; key = msg.key (unless keyMode
 *   "none"); timestamp = now; content-type = application/octet-stream, text/plain or
 *   application/json unless the headers set one; {{source}} in a topic template is msg.topic.
 */
import { RejectCode, RejectedRecord, describe, isPlainObject, parseRecords, toPayload } from "../record";
import type { SinkItem } from "./backlog";

export type TopicMode = "static" | "msg" | "template";
export type KeyMode = "source" | "msg" | "none";
export type ValueMode = "record" | "raw";

export const TOPIC_MODES: readonly TopicMode[] = ["static", "msg", "template"];
export const KEY_MODES: readonly KeyMode[] = ["source", "msg", "none"];
export const VALUE_MODES: readonly ValueMode[] = ["record", "raw"];

export const DEFAULT_MAX_MESSAGE_BYTES = 1_000_000;
/** Per-message overhead in a Kafka record batch (length, attributes, deltas, header counts). */
const RECORD_OVERHEAD = 64;

/** One message waiting in the backlog. */
export interface KafkaItem extends SinkItem {
  topic: string;
  key: Buffer | null;
  value: Buffer;
  headers: Record<string, string | Buffer>;
  /** Epoch ms as a decimal string (the kafkajs form). */
  timestamp: string;
}

/** Reject codes and rejections are those of lib/record.ts (which has the Kafka-specific codes too). */
export type KafkaRejectCode = RejectCode;
export type KafkaRejected = RejectedRecord;

export interface MapOptions {
  topicMode: TopicMode;
  /** The topic (static) or the template (template); unused for "msg". */
  topic: string;
  keyMode: KeyMode;
  valueMode: ValueMode;
  /** Static headers from the config (already validated). */
  headers?: Record<string, string>;
  maxMessageBytes?: number;
  /** Extra check per topic at accept time (e.g. a topic the broker just refused); returns a reason. */
  topicBlocked?: (topic: string) => string | undefined;
  now?: () => number;
}

export interface MappedMessage {
  items: KafkaItem[];
  rejected: KafkaRejected[];
  /** Records (or 1 for raw) in the message. */
  total: number;
  /** Distinct topics of the accepted items, in first-seen order. */
  topics: string[];
}

export interface MsgLike {
  payload?: unknown;
  topic?: unknown;
  key?: unknown;
  headers?: unknown;
}

/** Why `t` is not a valid Kafka topic name, or undefined when it is. */
export function checkTopicName(t: unknown): string | undefined {
  if (typeof t !== "string" || t === "") return "topic is empty";
  if (t.length > 249) return `topic is longer than 249 characters (${t.length})`;
  if (t === "." || t === "..") return `topic "${t}" is not allowed`;
  if (!/^[a-zA-Z0-9._-]+$/.test(t)) {
    return `topic "${t.length > 80 ? `${t.slice(0, 80)}…` : t}" may only hold letters, digits, ".", "_" and "-"`;
  }
  return undefined;
}

const TEMPLATE_RE = /\{\{\s*([^}]*?)\s*\}\}/g;

/** Why a topic template is not usable, or undefined. Only {{source}} and {{msg.topic}} exist. */
export function checkTopicTemplate(tpl: unknown): string | undefined {
  if (typeof tpl !== "string" || tpl.trim() === "") return "topic template is empty";
  for (const m of tpl.matchAll(TEMPLATE_RE)) {
    if (m[1] !== "source" && m[1] !== "msg.topic") {
      return `unknown placeholder {{${m[1]}}} in the topic template (use {{source}} or {{msg.topic}})`;
    }
  }
  const probe = tpl.replace(TEMPLATE_RE, "x");
  if (/[{}]/.test(probe)) return "unbalanced braces in the topic template";
  return checkTopicName(probe);
}

export function renderTopic(tpl: string, vars: { source: string; msgTopic: string }): string {
  return tpl.replace(TEMPLATE_RE, (_m, name: string) => (name === "source" ? vars.source : vars.msgTopic));
}

/** Static headers from the config: a JSON object of string values ("" = none). Throws on bad input. */
export function parseStaticHeaders(text: unknown): Record<string, string> {
  if (text === undefined || text === null || (typeof text === "string" && text.trim() === "")) return {};
  let v: unknown = text;
  if (typeof text === "string") {
    try {
      v = JSON.parse(text);
    } catch (err) {
      throw new Error(`headers must be a JSON object: ${(err as Error).message}`);
    }
  }
  if (!isPlainObject(v)) throw new Error("headers must be a JSON object of name -> string");
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (k === "") throw new Error("a header name is empty");
    if (typeof val !== "string") throw new Error(`header "${k}" must be a string, got ${describe(val)}`);
    out[k] = val;
  }
  return out;
}

/** msg.headers -> Kafka headers, or the reason they cannot be used. */
export function msgHeaders(h: unknown): { headers: Record<string, string | Buffer> } | { error: string } {
  if (h === undefined || h === null) return { headers: {} };
  if (!isPlainObject(h)) return { error: `msg.headers must be an object, got ${describe(h)}` };
  const out: Record<string, string | Buffer> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || v === null) continue;
    if (typeof v === "string" || Buffer.isBuffer(v)) out[k] = v;
    else if (typeof v === "number" || typeof v === "boolean") out[k] = String(v);
    else return { error: `msg.headers["${k}"] must be a string, got ${describe(v)}` };
  }
  return { headers: out };
}

function keyBuffer(k: unknown): Buffer | null | undefined {
  if (k === undefined || k === null || k === "") return null;
  if (Buffer.isBuffer(k)) return k;
  if (typeof k === "string") return Buffer.from(k, "utf8");
  if (typeof k === "number" || typeof k === "boolean") return Buffer.from(String(k), "utf8");
  return undefined;
}

function headerBytes(h: Record<string, string | Buffer>): number {
  let n = 0;
  for (const [k, v] of Object.entries(h))
    n += Buffer.byteLength(k) + (Buffer.isBuffer(v) ? v.length : Buffer.byteLength(v)) + 4;
  return n;
}

/** Approximate encoded size of one Kafka message (what maxMessageBytes limits). */
export function messageBytes(value: Buffer, key: Buffer | null, headers: Record<string, string | Buffer>): number {
  return value.length + (key ? key.length : 0) + headerBytes(headers) + RECORD_OVERHEAD;
}

function tooLarge(bytes: number, max: number): string {
  return `encoded message of ${bytes} bytes exceeds maxMessageBytes (${max})`;
}

/** Map one Node-RED message to Kafka items; never throws: every record is an item or a rejection. */
export function mapMessage(msg: MsgLike, opts: MapOptions): MappedMessage {
  const out: MappedMessage = { items: [], rejected: [], total: 0, topics: [] };
  const max = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const now = opts.now ?? Date.now;
  const msgTopic = typeof msg.topic === "string" ? msg.topic : "";

  const mh = msgHeaders(msg.headers);
  const reject = (index: number, code: KafkaRejectCode, reason: string, input: unknown): void => {
    out.rejected.push({ index, code, reason, input });
  };

  const topicFor = (source: string): { topic: string } | { error: string } => {
    let topic: string;
    if (opts.topicMode === "static") topic = opts.topic;
    else if (opts.topicMode === "msg") {
      if (typeof msg.topic !== "string" || msg.topic === "") return { error: "msg.topic must name the Kafka topic" };
      topic = msg.topic;
    } else topic = renderTopic(opts.topic, { source, msgTopic });
    const bad = checkTopicName(topic) ?? opts.topicBlocked?.(topic);
    return bad ? { error: bad } : { topic };
  };

  const push = (item: KafkaItem): void => {
    out.items.push(item);
    if (!out.topics.includes(item.topic)) out.topics.push(item.topic);
  };

  if (opts.valueMode === "raw") {
    out.total = 1;
    const p = msg.payload;
    if (p === undefined || p === null) {
      reject(0, "no-payload", "msg.payload is empty", p);
      return out;
    }
    if ("error" in mh) {
      reject(0, "bad-header", mh.error, p);
      return out;
    }
    let value: Buffer;
    let contentType: string;
    try {
      if (Buffer.isBuffer(p)) {
        value = p;
        contentType = "application/octet-stream";
      } else if (typeof p === "string") {
        value = Buffer.from(p, "utf8");
        contentType = "text/plain; charset=utf-8";
      } else {
        const json = JSON.stringify(p);
        if (json === undefined) throw new Error(`cannot encode ${describe(p)} as JSON`);
        value = Buffer.from(json, "utf8");
        contentType = "application/json";
      }
    } catch (err) {
      reject(0, "bad-value", `payload cannot be encoded: ${(err as Error).message}`, p);
      return out;
    }
    const key = opts.keyMode === "none" ? null : keyBuffer(msg.key);
    if (key === undefined) {
      reject(0, "bad-value", `msg.key must be a string or Buffer, got ${describe(msg.key)}`, p);
      return out;
    }
    const t = topicFor(msgTopic);
    if ("error" in t) {
      reject(0, "bad-topic", t.error, p);
      return out;
    }
    const headers: Record<string, string | Buffer> = { ...opts.headers, ...mh.headers };
    if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) headers["content-type"] = contentType;
    const bytes = messageBytes(value, key, headers);
    if (bytes > max) {
      reject(0, "too-large", tooLarge(bytes, max), p);
      return out;
    }
    push({ topic: t.topic, key, value, headers, timestamp: String(Math.floor(now())), bytes });
    return out;
  }

  // Record mode.
  const parsed = parseRecords(msg.payload, msg.topic);
  const inputs: unknown[] = Array.isArray(msg.payload) ? msg.payload : [msg.payload];
  out.total = parsed.batch ? inputs.length : 1;
  for (const r of parsed.rejected) reject(r.index, r.code, r.reason, r.input);
  if (parsed.records.length === 0) return out;
  if ("error" in mh) {
    // The headers apply to every record of the message: all of them are refused.
    const idx = indexesOf(parsed, inputs.length);
    for (const i of idx) reject(i, "bad-header", mh.error, inputs[i]);
    out.rejected.sort((a, b) => a.index - b.index);
    return out;
  }
  const staticKey = opts.keyMode === "msg" ? keyBuffer(msg.key) : null;
  const headers: Record<string, string | Buffer> = {
    ...opts.headers,
    ...mh.headers,
  };
  const hBytes = headerBytes(headers);
  const idx = indexesOf(parsed, inputs.length);
  parsed.records.forEach((rec, j) => {
    const i = idx[j]!;
    const input = inputs[i];
    if (staticKey === undefined) {
      reject(i, "bad-value", `msg.key must be a string or Buffer, got ${describe(msg.key)}`, input);
      return;
    }
    const t = topicFor(rec.source);
    if ("error" in t) {
      reject(i, "bad-topic", t.error, input);
      return;
    }
    let json: string;
    try {
      json = JSON.stringify(toPayload(rec));
    } catch (err) {
      reject(i, "bad-value", `record cannot be encoded as JSON: ${(err as Error).message}`, input);
      return;
    }
    const value = Buffer.from(json, "utf8");
    const key = opts.keyMode === "source" ? Buffer.from(rec.source, "utf8") : staticKey;
    const bytes = value.length + (key ? key.length : 0) + hBytes + RECORD_OVERHEAD;
    if (bytes > max) {
      reject(i, "too-large", tooLarge(bytes, max), input);
      return;
    }
    push({ topic: t.topic, key, value, headers, timestamp: String(Math.floor(rec.ts)), bytes });
  });
  out.rejected.sort((a, b) => a.index - b.index);
  return out;
}

/** Batch index of each accepted record (parseRecords keeps order and drops the rejected ones). */
function indexesOf(parsed: { rejected: RejectedRecord[]; records: unknown[] }, n: number): number[] {
  const bad = new Set(parsed.rejected.map((r) => r.index));
  const idx: number[] = [];
  for (let i = 0; i < n && idx.length < parsed.records.length; i++) if (!bad.has(i)) idx.push(i);
  return idx;
}
