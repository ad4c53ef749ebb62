/**
 * Kafka message -> Node-RED message, for the kafka-in node. The mapping (also in the kafka-in help):
 *   msg.topic   = the message key as a UTF-8 string (the record's source id, as kafka-out writes it),
 *                 else the Kafka topic;
 *   msg.payload = the decoded value: "json" (parsed; a tombstone gives null), "string" (UTF-8) or
 *                 "buffer" (the bytes);
 *   msg.kafka   = { topic, partition, offset, key, headers (strings), timestamp (epoch ms) }.
 * A value that is not valid JSON in "json" mode is a decode error: it goes to the second output with
 * msg.payload = the raw text and msg.error = the reason; the consumer goes on.
 */
import { checkTopicName } from "./kafka-message";

export type DecodeMode = "json" | "string" | "buffer";
export type OutputMode = "message" | "batch";
export const DECODE_MODES: readonly DecodeMode[] = ["json", "string", "buffer"];
export const OUTPUT_MODES: readonly OutputMode[] = ["message", "batch"];

/** The parts of a kafkajs KafkaMessage we read. */
export interface KafkaMessageLike {
  key?: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  offset: string;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

export interface KafkaMeta {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: Record<string, string | string[]>;
  timestamp: number;
}

export interface DecodedOk {
  ok: true;
  topic: string;
  payload: unknown;
  kafka: KafkaMeta;
}
export interface DecodedError {
  ok: false;
  topic: string;
  /** The raw value as text. */
  payload: string | null;
  error: string;
  kafka: KafkaMeta;
}
export type Decoded = DecodedOk | DecodedError;

function text(v: Buffer | string): string {
  return Buffer.isBuffer(v) ? v.toString("utf8") : String(v);
}

export function headersToStrings(h: KafkaMessageLike["headers"]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (!h) return out;
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || v === null) continue;
    out[k] = Array.isArray(v) ? v.map(text) : text(v);
  }
  return out;
}

export function decodeMessage(topic: string, partition: number, m: KafkaMessageLike, mode: DecodeMode): Decoded {
  const key = m.key && m.key.length > 0 ? m.key.toString("utf8") : null;
  const ts = Number(m.timestamp);
  const kafka: KafkaMeta = {
    topic,
    partition,
    offset: m.offset,
    key,
    headers: headersToStrings(m.headers),
    timestamp: Number.isFinite(ts) ? ts : Date.now(),
  };
  const msgTopic = key ?? topic;
  if (mode === "buffer") return { ok: true, topic: msgTopic, payload: m.value, kafka };
  if (m.value === null) return { ok: true, topic: msgTopic, payload: null, kafka };
  const s = m.value.toString("utf8");
  if (mode === "string") return { ok: true, topic: msgTopic, payload: s, kafka };
  try {
    return { ok: true, topic: msgTopic, payload: JSON.parse(s) as unknown, kafka };
  } catch (err) {
    return {
      ok: false,
      topic: msgTopic,
      payload: s,
      error: `value is not valid JSON: ${(err as Error).message}`,
      kafka,
    };
  }
}

/** Parse the comma/space separated topic list of a kafka-in node. Throws with a reason. */
export function parseTopicList(text: unknown): string[] {
  if (typeof text !== "string" || text.trim() === "") throw new Error("no topics: set at least one topic");
  const out: string[] = [];
  for (const t of text.split(/[\s,]+/).filter((s) => s !== "")) {
    const bad = checkTopicName(t);
    if (bad) throw new Error(bad);
    if (!out.includes(t)) out.push(t);
  }
  return out;
}
