/**
 * influxdb-out runtime helpers (no Node-RED import): defaults, migration and the typed settings the
 * node builds its mapper and writer from.
 */
import { LineGuardError } from "../../lib/errors";
import { DEFAULT_GZIP_THRESHOLD, intSetting, isPrecision } from "../../lib/sinks/influx";
import { MappingOptions, checkMeasurement, checkTags } from "../../lib/sinks/line-protocol";
import { Migration, fillDefaults, migrate } from "../shared/migrate";
import { SPOOL_DEFAULTS, SpoolSettings, spoolSettings } from "../shared/spool";
import type { InfluxBacklogPolicy, InfluxOutProps } from "./types";

export const OUT_VERSION = 2;

export const OUT_DEFAULTS: Omit<InfluxOutProps, "version"> = {
  name: "",
  influxdb: "",
  bucket: "",
  measurement: "lineguard",
  tags: "",
  precision: "ms",
  stringValues: "field",
  writeBadQuality: false,
  batchSize: 5000,
  lingerMs: 1000,
  gzipThreshold: DEFAULT_GZIP_THRESHOLD,
  maxBacklog: 100000,
  backlogPolicy: "drop-oldest",
  ...SPOOL_DEFAULTS,
};

const STEPS: Record<number, Migration> = {
  // 0 -> 1: configs without version (hand-written or imported flows): fill defaults; a tags object
  // (instead of JSON text) is turned into text.
  0: (c) => {
    const out = fillDefaults(c, OUT_DEFAULTS);
    if (out.tags !== null && typeof out.tags === "object") out.tags = JSON.stringify(out.tags);
    return out;
  },
  // 1 -> 2: store-and-forward: the disk spool and its settings (what a sink should do by default).
  1: (c) => fillDefaults(c, SPOOL_DEFAULTS),
};

export function migrateOut(raw: object): InfluxOutProps {
  return migrate<InfluxOutProps>(raw, OUT_VERSION, STEPS);
}

export interface OutSettings {
  mapping: MappingOptions & Required<Pick<MappingOptions, "precision">>;
  batchSize: number;
  lingerMs: number;
  gzipThreshold: number;
  maxBacklog: number;
  backlogPolicy: InfluxBacklogPolicy;
  spool: SpoolSettings;
}

function bad(message: string): LineGuardError {
  return new LineGuardError("config", message);
}

/** Parse the static tags setting: "" or a JSON object of name -> string/number/boolean. */
export function parseTags(text: unknown): Record<string, string> {
  if (text === undefined || text === null) return {};
  if (typeof text === "object") {
    const t = checkTags(text);
    if (!t.ok) throw bad(`tags: ${t.reason}`);
    return t.tags;
  }
  if (typeof text !== "string" || text.trim() === "") return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad('tags must be a JSON object, e.g. {"line":"A"}');
  }
  const t = checkTags(v);
  if (!t.ok) throw bad(`tags: ${t.reason}`);
  return t.tags;
}

/** Typed settings from the node's (migrated) properties; throws a "config" LineGuardError. */
export function outSettings(p: InfluxOutProps): OutSettings {
  const precision = p.precision ?? "ms";
  if (!isPrecision(precision)) throw bad(`precision must be s, ms, us or ns (got "${String(precision)}")`);
  const measurement = typeof p.measurement === "string" && p.measurement.trim() !== "" ? p.measurement : "lineguard";
  const m = checkMeasurement(measurement);
  if (!m.ok) throw bad(m.reason);
  if (p.stringValues !== undefined && p.stringValues !== "field" && p.stringValues !== "drop") {
    throw bad(`string values must be "field" or "drop"`);
  }
  const backlogPolicy = p.backlogPolicy ?? "drop-oldest";
  if (backlogPolicy !== "drop-oldest" && backlogPolicy !== "refuse-newest") {
    throw bad(`backlog policy must be "drop-oldest" or "refuse-newest"`);
  }
  return {
    mapping: {
      measurement,
      tags: parseTags(p.tags),
      precision,
      stringValues: p.stringValues ?? "field",
      writeBadQuality: p.writeBadQuality === true || (p.writeBadQuality as unknown) === "true",
    },
    batchSize: intSetting(p.batchSize, 5000, 1, 1_000_000),
    lingerMs: intSetting(p.lingerMs, 1000, 0, 3_600_000),
    gzipThreshold: intSetting(p.gzipThreshold, DEFAULT_GZIP_THRESHOLD, 0),
    maxBacklog: intSetting(p.maxBacklog, 100000, 1, 100_000_000),
    backlogPolicy,
    spool: spoolSettings(p),
  };
}
