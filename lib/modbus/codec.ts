/**
 * Register words <-> values for every type and byte/word order, one implementation for the modbus in
 * node (decode) and the glass simulator (encode).
 *
 * The value is first written big-endian (bytes A B C D ..., A most significant); the order says how
 * those bytes are transmitted, in register order:
 *   ABCD  [AB][CD]          standard big-endian, high word first
 *   CDAB  [CD][AB]          word swap (64-bit: [GH][EF][CD][AB], the word order reversed)
 *   BADC  [BA][DC]          byte swap inside each register
 *   DCBA  [DC][BA]          little-endian (word order reversed and bytes swapped)
 * 16-bit values: ABCD/CDAB -> [AB]; BADC/DCBA -> [BA].
 * Strings: 2 characters per register, first character in the high byte; BADC/DCBA swap the bytes of
 * each register; the register order of a string is never reversed. Trailing NULs are dropped.
 * Scale/offset: value = raw * scale + offset (numbers only).
 */
import { LineGuardError } from "../errors";
import type { TagValue } from "../record";
import { type RegisterDef, type WordOrder, isBitArea, registerCount } from "./map";

export class ModbusCodecError extends LineGuardError {
  constructor(message: string) {
    super("codec", message);
    this.name = "ModbusCodecError";
  }
}

function byteSwap(order: WordOrder): boolean {
  return order === "BADC" || order === "DCBA";
}

function wordReverse(order: WordOrder): boolean {
  return order === "CDAB" || order === "DCBA";
}

/** Big-endian bytes -> register words in the given order. */
export function bytesToWords(bytes: Buffer, order: WordOrder = "ABCD", reverseWords = true): number[] {
  const n = bytes.length >> 1;
  const words: number[] = new Array<number>(n);
  const swap = byteSwap(order);
  const rev = reverseWords && wordReverse(order);
  for (let i = 0; i < n; i++) {
    const j = rev ? n - 1 - i : i;
    const hi = bytes[2 * j]!;
    const lo = bytes[2 * j + 1]!;
    words[i] = swap ? (lo << 8) | hi : (hi << 8) | lo;
  }
  return words;
}

/** Register words in the given order -> big-endian bytes (the inverse of bytesToWords). */
export function wordsToBytes(words: readonly number[], order: WordOrder = "ABCD", reverseWords = true): Buffer {
  const n = words.length;
  const out = Buffer.alloc(n * 2);
  const swap = byteSwap(order);
  const rev = reverseWords && wordReverse(order);
  for (let i = 0; i < n; i++) {
    const w = words[i]! & 0xffff;
    const j = rev ? n - 1 - i : i;
    const hi = w >> 8;
    const lo = w & 0xff;
    out[2 * j] = swap ? lo : hi;
    out[2 * j + 1] = swap ? hi : lo;
  }
  return out;
}

function scaled(def: RegisterDef, raw: number): number {
  const scale = def.scale ?? 1;
  const offset = def.offset ?? 0;
  if (scale === 1 && offset === 0) return raw;
  // 15 significant digits hide the binary noise of e.g. 1234 * 0.1
  return Number((raw * scale + offset).toPrecision(15));
}

/**
 * Decode one entry from its register words (for coil/discrete: [0|1] or [true|false]).
 * Returns a number, boolean or string; a float may decode to NaN/Infinity (the caller decides).
 */
export function decodeValue(def: RegisterDef, words: readonly (number | boolean)[]): TagValue {
  const need = registerCount(def);
  if (words.length < need) throw new ModbusCodecError(`"${def.name}" needs ${need} register(s), got ${words.length}`);
  if (isBitArea(def.area) || def.type === "bool") return Boolean(words[0]);
  const order = def.order ?? "ABCD";
  const w = words.slice(0, need).map((x) => Number(x));
  if (def.type === "string") {
    const b = wordsToBytes(w, order, false);
    let end = b.length;
    while (end > 0 && b[end - 1] === 0) end--;
    return b.subarray(0, end).toString("utf8");
  }
  const b = wordsToBytes(w, order);
  let raw: number;
  switch (def.type) {
    case "int16":
      raw = b.readInt16BE(0);
      break;
    case "uint16":
      raw = b.readUInt16BE(0);
      break;
    case "int32":
      raw = b.readInt32BE(0);
      break;
    case "uint32":
      raw = b.readUInt32BE(0);
      break;
    case "float32":
      raw = b.readFloatBE(0);
      break;
    case "float64":
      raw = b.readDoubleBE(0);
      break;
    default:
      throw new ModbusCodecError(`"${def.name}": unknown type ${String(def.type)}`);
  }
  return scaled(def, raw);
}

const INT_RANGE: Record<string, [number, number]> = {
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

/**
 * Encode a value into the register words of one entry (for coil/discrete: [0|1]). Scale/offset are
 * inverted (raw = (value - offset) / scale), integers rounded; out-of-range values throw.
 */
export function encodeValue(def: RegisterDef, value: TagValue): number[] {
  const need = registerCount(def);
  if (isBitArea(def.area) || def.type === "bool") {
    if (typeof value === "string") throw new ModbusCodecError(`"${def.name}": a bool cannot take a string`);
    return [value ? 1 : 0];
  }
  const order = def.order ?? "ABCD";
  if (def.type === "string") {
    const s = String(value);
    const bytes = Buffer.from(s, "utf8");
    if (bytes.length > need * 2)
      throw new ModbusCodecError(`"${def.name}": "${s}" needs ${bytes.length} bytes, the string holds ${need * 2}`);
    const b = Buffer.alloc(need * 2);
    bytes.copy(b);
    return bytesToWords(b, order, false);
  }
  const v = typeof value === "boolean" ? (value ? 1 : 0) : Number(value);
  if (typeof value === "string" && (value.trim() === "" || !Number.isFinite(v)))
    throw new ModbusCodecError(`"${def.name}": "${value}" is not a number`);
  const raw = (v - (def.offset ?? 0)) / (def.scale ?? 1);
  const b = Buffer.alloc(need * 2);
  if (def.type === "float32") b.writeFloatBE(raw, 0);
  else if (def.type === "float64") b.writeDoubleBE(raw, 0);
  else {
    if (!Number.isFinite(raw)) throw new ModbusCodecError(`"${def.name}": ${String(value)} is not a finite number`);
    const r = Math.round(raw);
    const [lo, hi] = INT_RANGE[def.type]!;
    if (r < lo || r > hi)
      throw new ModbusCodecError(`"${def.name}": ${String(value)} (raw ${r}) is out of range for ${def.type}`);
    if (def.type === "int16") b.writeInt16BE(r, 0);
    else if (def.type === "uint16") b.writeUInt16BE(r, 0);
    else if (def.type === "int32") b.writeInt32BE(r, 0);
    else b.writeUInt32BE(r, 0);
  }
  return bytesToWords(b, order);
}
