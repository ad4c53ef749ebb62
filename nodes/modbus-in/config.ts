/**
 * modbus-in: defaults, migrations and validation of the node's settings (the register map included).
 * No Node-RED import.
 */
import { coalesceOptions } from "../../lib/modbus/coalesce";
import { ModbusMapError, type RegisterDef, validateMap } from "../../lib/modbus/map";
import { Migration, fillDefaults, migrate } from "../shared/migrate";
import type { ModbusInConfig } from "./types";
import { intSetting } from "../shared/settings";

export const MODBUS_IN_VERSION = 1;

export const MODBUS_IN_DEFAULTS: Omit<ModbusInConfig, "version" | "device"> = {
  name: "",
  map: "[]",
  interval: 1000,
  maxSpan: 120,
  maxGap: 10,
  unitId: "",
  topic: "",
};

export const MODBUS_IN_MIGRATIONS: Record<number, Migration> = {
  // 0 -> 1: configs saved before versioning: missing settings take their defaults; a map saved as
  // an array (hand-written flows) becomes its JSON text.
  0: (c) => {
    const out: Record<string, unknown> = { ...c };
    if (Array.isArray(out.map)) out.map = JSON.stringify(out.map);
    return fillDefaults(out, MODBUS_IN_DEFAULTS, { emptyIsMissing: true });
  },
};

export function modbusInConfig(def: object): ModbusInConfig {
  return migrate<ModbusInConfig>(def, MODBUS_IN_VERSION, MODBUS_IN_MIGRATIONS);
}

export interface ModbusInSettings {
  map: RegisterDef[];
  interval: number;
  maxSpan: number;
  maxGap: number;
  unitId: number | undefined;
  topic: string;
}

/** Check a (migrated) config; throws ModbusMapError for a bad map, an Error for other settings. */
export function modbusInSettings(cfg: ModbusInConfig): ModbusInSettings {
  let raw: unknown = cfg.map;
  if (typeof raw === "string") {
    try {
      raw = JSON.parse(raw.trim() === "" ? "[]" : raw);
    } catch (err) {
      throw new ModbusMapError([`the map is not valid JSON (${err instanceof Error ? err.message : String(err)})`]);
    }
  }
  const map = validateMap(raw);
  const interval = intSetting(cfg.interval, "poll interval (ms)", 0, 86_400_000);
  if (interval > 0 && interval < 10) throw new Error("poll interval must be 0 (on input only) or at least 10 ms");
  const o = coalesceOptions({
    maxSpan: intSetting(cfg.maxSpan, "max span", 1, 125),
    maxGap: intSetting(cfg.maxGap, "max gap", 0, 125),
  });
  const u = cfg.unitId;
  const unitId =
    u === undefined || u === null || String(u).trim() === "" ? undefined : intSetting(u, "unit id", 0, 255);
  return {
    map,
    interval,
    maxSpan: o.maxSpan,
    maxGap: o.maxGap,
    unitId,
    topic: typeof cfg.topic === "string" ? cfg.topic.trim() : "",
  };
}
