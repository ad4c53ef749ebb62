/**
 * The MQTT CNC collector envelope `{cnc_id, part_program, timestamp, payload}` (described in the
 * validate node help): a JSON Schema preset and the conversion into a LineGuard record.
 * No Node-RED import.
 */
import { RecordPayload, TagValue, isPlainObject, parseTimestamp } from "../record";

export const CNC_ENVELOPE_SCHEMA = {
  $id: "lineguard:cnc-envelope",
  type: "object",
  required: ["cnc_id", "part_program", "timestamp", "payload"],
  properties: {
    cnc_id: { type: "string", minLength: 1, maxLength: 256 },
    part_program: { type: "string" },
    timestamp: {
      anyOf: [
        { type: "string", minLength: 1 },
        { type: "number", minimum: 0 },
      ],
    },
    payload: { type: "object", additionalProperties: { type: ["number", "string", "boolean"] } },
  },
} as const;

/** The tag that carries the part program in a converted record. */
export const PART_PROGRAM_TAG = "part_program";

/** Numbers below this are epoch seconds (as ms they would be before 1973-03-03). */
const SECONDS_BELOW = 100_000_000_000;

/**
 * The envelope's timestamp in epoch ms: an ISO-8601 string, epoch ms, or epoch seconds (numbers or
 * numeric strings below 1e11, as the collector sends them: "1747379028").
 */
export function envelopeTimestamp(ts: unknown): number | undefined {
  const numeric = typeof ts === "number" || (typeof ts === "string" && /^\s*\d+(\.\d+)?\s*$/.test(ts));
  const t = parseTimestamp(ts);
  if (t === undefined) return undefined;
  return numeric && t < SECONDS_BELOW ? t * 1000 : t;
}

export type EnvelopeResult = { ok: true; record: RecordPayload } | { ok: false; code: string; reason: string };

/** Check the parts the schema cannot (the time) and convert: source = cnc_id, ts = timestamp. */
export function envelopeToRecord(e: unknown): EnvelopeResult {
  if (!isPlainObject(e)) return { ok: false, code: "not-object", reason: "the envelope must be an object" };
  const ts = envelopeTimestamp(e.timestamp);
  if (ts === undefined) return { ok: false, code: "bad-timestamp", reason: "timestamp is not a valid time" };
  const values: Record<string, TagValue> = {};
  if (isPlainObject(e.payload)) {
    for (const [k, v] of Object.entries(e.payload)) {
      // defineProperty: a "__proto__" tag stays a tag
      Object.defineProperty(values, k, { value: v as TagValue, enumerable: true, writable: true, configurable: true });
    }
  }
  values[PART_PROGRAM_TAG] = String(e.part_program);
  return { ok: true, record: { source: String(e.cnc_id), ts, values } };
}
