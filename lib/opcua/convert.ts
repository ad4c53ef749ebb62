/**
 * OPC UA -> record conversion: StatusCode -> quality, DataValue -> tag value and timestamp.
 * Plain functions over the few fields they read, so they test without a server.
 */
import type { Quality, TagValue } from "../record";

/** The parts of a node-opcua StatusCode we read. */
export interface StatusCodeLike {
  value: number;
  name?: string;
}

/** The parts of a node-opcua Variant we read. */
export interface VariantLike {
  dataType: number;
  arrayType?: number;
  value: unknown;
}

/** The parts of a node-opcua DataValue we read. */
export interface DataValueLike {
  value?: VariantLike | null;
  statusCode?: StatusCodeLike | null;
  sourceTimestamp?: Date | null;
  serverTimestamp?: Date | null;
}

/**
 * Severity bits (OPC UA Part 4, 7.34.1): 00 Good, 01 Uncertain, 10/11 Bad.
 * A missing status code means Good (the encoding omits Good).
 */
export function qualityOf(sc: StatusCodeLike | null | undefined): Quality {
  if (!sc || typeof sc.value !== "number" || !Number.isFinite(sc.value)) return sc ? "bad" : "good";
  const severity = (sc.value >>> 30) & 0x3;
  if (severity === 0) return "good";
  if (severity === 1) return "uncertain";
  return "bad";
}

/** OPC UA built-in data type ids (node-opcua DataType). */
export const UA = {
  Null: 0,
  Boolean: 1,
  SByte: 2,
  Byte: 3,
  Int16: 4,
  UInt16: 5,
  Int32: 6,
  UInt32: 7,
  Int64: 8,
  UInt64: 9,
  Float: 10,
  Double: 11,
  String: 12,
  DateTime: 13,
  LocalizedText: 21,
} as const;

const NUMERIC = new Set<number>([UA.SByte, UA.Byte, UA.Int16, UA.UInt16, UA.Int32, UA.UInt32, UA.Float, UA.Double]);

export type ConvertResult = { ok: true; value: TagValue } | { ok: false; code: string; reason: string };

/** node-opcua encodes (U)Int64 as [high, low] 32-bit words. */
export function int64ToNumber(v: unknown, signed: boolean): number | undefined {
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "number") return v;
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const [hi, lo] = v as unknown[];
  if (typeof hi !== "number" || typeof lo !== "number") return undefined;
  let big = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  if (signed && hi & 0x80000000) big -= 1n << 64n;
  return Number(big);
}

/**
 * The record value of a DataValue: numbers (Int64/UInt64 as number, precision beyond 2^53 lost),
 * booleans, strings (also LocalizedText text and DateTime as epoch ms). Arrays, matrices,
 * structures and other types are rejected with a reason.
 */
export function toTagValue(dv: DataValueLike | null | undefined): ConvertResult {
  const v = dv?.value;
  if (!v || v.dataType === UA.Null || v.value === null || v.value === undefined) {
    return { ok: false, code: "no-value", reason: "the data value holds no value" };
  }
  if (v.arrayType !== undefined && v.arrayType !== 0) {
    return { ok: false, code: "unsupported-type", reason: "arrays and matrices are not supported" };
  }
  const t = v.dataType;
  if (t === UA.Boolean) {
    return typeof v.value === "boolean"
      ? { ok: true, value: v.value }
      : { ok: false, code: "bad-value", reason: "Boolean without a boolean value" };
  }
  if (NUMERIC.has(t)) {
    const n = v.value;
    if (typeof n !== "number" || !Number.isFinite(n)) {
      return { ok: false, code: "bad-value", reason: `number is not finite (${String(n)})` };
    }
    return { ok: true, value: n };
  }
  if (t === UA.Int64 || t === UA.UInt64) {
    const n = int64ToNumber(v.value, t === UA.Int64);
    return n === undefined || !Number.isFinite(n)
      ? { ok: false, code: "bad-value", reason: "Int64 value is not a [high, low] pair" }
      : { ok: true, value: n };
  }
  if (t === UA.String) {
    return typeof v.value === "string"
      ? { ok: true, value: v.value }
      : { ok: false, code: "bad-value", reason: "String without a string value" };
  }
  if (t === UA.LocalizedText) {
    const text = (v.value as { text?: unknown }).text;
    return typeof text === "string"
      ? { ok: true, value: text }
      : { ok: false, code: "bad-value", reason: "LocalizedText without text" };
  }
  if (t === UA.DateTime) {
    const d = v.value instanceof Date ? v.value.getTime() : NaN;
    return Number.isFinite(d)
      ? { ok: true, value: d }
      : { ok: false, code: "bad-value", reason: "DateTime is not a valid date" };
  }
  return { ok: false, code: "unsupported-type", reason: `data type ${t} is not supported (structures and others)` };
}

/** ts of a DataValue: sourceTimestamp, else serverTimestamp, else `now`. */
export function timestampOf(dv: DataValueLike | null | undefined, now: () => number = Date.now): number {
  for (const d of [dv?.sourceTimestamp, dv?.serverTimestamp]) {
    if (d instanceof Date) {
      const t = d.getTime();
      // OPC UA's "null" DateTime is 1601-01-01 (negative epoch ms)
      if (Number.isFinite(t) && t > 0) return t;
    }
  }
  return now();
}
