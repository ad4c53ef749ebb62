/**
 * Modbus register maps: the entry format shared by the modbus in node, the codec and the glass
 * simulator, and the validation that rejects a bad map at deploy with every problem named.
 */
import { LineGuardError } from "../errors";

export type ModbusArea = "coil" | "discrete" | "input" | "holding";
export type ModbusType = "bool" | "int16" | "uint16" | "int32" | "uint32" | "float32" | "float64" | "string";
export type WordOrder = "ABCD" | "DCBA" | "BADC" | "CDAB";

export interface RegisterDef {
  /** Tag name in the record's values. */
  name: string;
  area: ModbusArea;
  /** 0-based protocol address 0..65535. */
  address: number;
  /** coil/discrete areas: only "bool"; registers: any type ("bool" = register != 0). */
  type: ModbusType;
  /** Default "ABCD" (big-endian, high word first). */
  order?: WordOrder;
  /** For "string": number of registers (2 characters per register). */
  length?: number;
  /** value = raw * scale + offset (default 1, 0). */
  scale?: number;
  offset?: number;
  unit?: string;
}

export const MODBUS_AREAS: readonly ModbusArea[] = ["coil", "discrete", "input", "holding"];
export const MODBUS_TYPES: readonly ModbusType[] = [
  "bool",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "float32",
  "float64",
  "string",
];
export const WORD_ORDERS: readonly WordOrder[] = ["ABCD", "DCBA", "BADC", "CDAB"];

/** Longest string in registers (a single FC3/FC4 read carries at most 125 registers). */
export const MAX_STRING_REGISTERS = 125;
/** Most entries one map may hold. */
export const MAX_MAP_ENTRIES = 10_000;

const TYPE_WORDS: Record<Exclude<ModbusType, "string">, number> = {
  bool: 1,
  int16: 1,
  uint16: 1,
  int32: 2,
  uint32: 2,
  float32: 2,
  float64: 4,
};

export function isBitArea(area: ModbusArea): boolean {
  return area === "coil" || area === "discrete";
}

/** Addresses one entry occupies: bits for coil/discrete, registers otherwise. */
export function registerCount(def: Pick<RegisterDef, "area" | "type" | "length">): number {
  if (isBitArea(def.area)) return 1;
  if (def.type === "string") return def.length ?? 1;
  return TYPE_WORDS[def.type];
}

/** A map that cannot be used; `issues` lists every problem, one line each. */
export class ModbusMapError extends LineGuardError {
  readonly issues: string[];
  constructor(issues: string[]) {
    const shown = issues.slice(0, 10).join("; ");
    const more = issues.length > 10 ? `; and ${issues.length - 10} more` : "";
    super("bad-map", `bad register map: ${shown}${more}`);
    this.name = "ModbusMapError";
    this.issues = issues;
  }
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && !(typeof v === "string" && v.trim() === "");
}

function num(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "") return Number(v);
  return NaN;
}

function label(i: number, name: unknown): string {
  return typeof name === "string" && name.trim() !== "" ? `entry ${i + 1} "${name.trim()}"` : `entry ${i + 1}`;
}

/**
 * Check a map (an array of entries, e.g. from JSON or the editor table, numbers possibly as
 * strings) and return it normalised: trimmed names, numbers as numbers, empty optional fields
 * removed, `order` only where it matters. Throws ModbusMapError naming every problem: unknown
 * areas/types/orders, addresses outside 0..65535 (including the end of multi-register values),
 * non-bool types in bit areas, missing or too long string lengths, duplicate names, overlaps.
 */
export function validateMap(input: unknown): RegisterDef[] {
  if (!Array.isArray(input)) throw new ModbusMapError(["the map must be an array of register entries"]);
  if (input.length === 0) throw new ModbusMapError(["the map is empty: add at least one register"]);
  if (input.length > MAX_MAP_ENTRIES)
    throw new ModbusMapError([`the map has ${input.length} entries, at most ${MAX_MAP_ENTRIES} are allowed`]);
  const issues: string[] = [];
  const out: RegisterDef[] = [];
  const names = new Map<string, number>();
  input.forEach((raw, i) => {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      issues.push(`entry ${i + 1} is not an object`);
      return;
    }
    const e = raw as Record<string, unknown>;
    const at = label(i, e.name);
    const before = issues.length;
    const name = typeof e.name === "string" ? e.name.trim() : "";
    if (name === "") issues.push(`${at}: name is required`);
    else if (names.has(name)) issues.push(`${at}: duplicate name (also entry ${names.get(name)! + 1})`);
    else names.set(name, i);

    const area = e.area as ModbusArea;
    if (!MODBUS_AREAS.includes(area))
      issues.push(`${at}: unknown area "${String(e.area)}" (use ${MODBUS_AREAS.join(", ")})`);
    const type = (present(e.type) ? e.type : isBitArea(area) ? "bool" : e.type) as ModbusType;
    if (!MODBUS_TYPES.includes(type))
      issues.push(`${at}: unknown type "${String(e.type)}" (use ${MODBUS_TYPES.join(", ")})`);
    else if (isBitArea(area) && type !== "bool")
      issues.push(`${at}: a ${area} is a single bit, its type must be bool (not ${type})`);

    const address = num(e.address);
    if (!present(e.address)) issues.push(`${at}: address is required`);
    else if (!Number.isInteger(address) || address < 0 || address > 65535)
      issues.push(`${at}: address ${String(e.address)} is out of range (0..65535)`);

    let order: WordOrder | undefined;
    if (present(e.order)) {
      const o = String(e.order).trim().toUpperCase() as WordOrder;
      if (!WORD_ORDERS.includes(o))
        issues.push(`${at}: unknown byte/word order "${String(e.order)}" (use ${WORD_ORDERS.join(", ")})`);
      else order = o;
    }

    let length: number | undefined;
    if (type === "string") {
      length = num(e.length);
      if (!present(e.length)) issues.push(`${at}: a string needs a length (registers, 2 characters each)`);
      else if (!Number.isInteger(length) || length < 1 || length > MAX_STRING_REGISTERS)
        issues.push(`${at}: string length ${String(e.length)} must be 1..${MAX_STRING_REGISTERS} registers`);
    } else if (present(e.length) && MODBUS_TYPES.includes(type) && MODBUS_AREAS.includes(area)) {
      // a length equal to the type's own size is harmless (tables often fill every column)
      if (num(e.length) !== registerCount({ area, type }))
        issues.push(`${at}: length applies to strings only (${type} has a fixed size)`);
    }

    const numeric = type !== "bool" && type !== "string";
    let scale: number | undefined;
    let offset: number | undefined;
    if (present(e.scale)) {
      scale = num(e.scale);
      if (!numeric) issues.push(`${at}: scale applies to numeric types only, not ${type}`);
      else if (!Number.isFinite(scale) || scale === 0)
        issues.push(`${at}: scale ${String(e.scale)} must be a finite number other than 0`);
    }
    if (present(e.offset)) {
      offset = num(e.offset);
      if (!numeric) issues.push(`${at}: offset applies to numeric types only, not ${type}`);
      else if (!Number.isFinite(offset)) issues.push(`${at}: offset ${String(e.offset)} must be a finite number`);
    }
    if (present(e.unit) && typeof e.unit !== "string") issues.push(`${at}: unit must be a string`);

    if (issues.length === before) {
      const def: RegisterDef = { name, area, address, type };
      if (order && !isBitArea(area) && type !== "bool") def.order = order;
      if (type === "string") def.length = length;
      if (scale !== undefined && scale !== 1) def.scale = scale;
      if (offset !== undefined && offset !== 0) def.offset = offset;
      if (typeof e.unit === "string" && e.unit.trim() !== "") def.unit = e.unit.trim();
      const end = address + registerCount(def) - 1;
      if (end > 65535)
        issues.push(`${at}: ${type} at ${address} needs ${registerCount(def)} registers and runs past 65535`);
      else out.push(def);
    }
  });
  issues.push(...findOverlaps(out));
  if (issues.length > 0) throw new ModbusMapError(issues);
  return out;
}

function span(d: RegisterDef): string {
  const n = registerCount(d);
  return n === 1 ? `${d.area} ${d.address}` : `${d.area} ${d.address}..${d.address + n - 1}`;
}

/** Overlapping entries in the same area (valid entries only). */
export function findOverlaps(defs: readonly RegisterDef[]): string[] {
  const issues: string[] = [];
  for (const area of MODBUS_AREAS) {
    const list = defs.filter((d) => d.area === area).sort((a, b) => a.address - b.address);
    let prev: RegisterDef | undefined;
    for (const d of list) {
      if (prev && d.address <= prev.address + registerCount(prev) - 1) {
        issues.push(`"${d.name}" (${span(d)}) overlaps "${prev.name}" (${span(prev)})`);
      }
      if (!prev || d.address + registerCount(d) > prev.address + registerCount(prev)) prev = d;
    }
  }
  return issues;
}

/** Parse and check a map given as JSON text (the editor's import); throws ModbusMapError. */
export function parseMap(json: string): RegisterDef[] {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (err) {
    throw new ModbusMapError([`the map is not valid JSON (${err instanceof Error ? err.message : String(err)})`]);
  }
  return validateMap(v);
}
