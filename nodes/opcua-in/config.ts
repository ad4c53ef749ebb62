/**
 * opcua-in: defaults, migrations and validation of the node's settings. No Node-RED import.
 */
import type { DeadbandMode } from "../../lib/opcua/connection";
import { parseNodeId, parseNodeIdList } from "../../lib/opcua/browse";
import { Migration, fillDefaults, migrate } from "../shared/migrate";
import type { OpcuaInConfig, OpcuaOutputMode, OpcuaSourceRule } from "./types";
import { intSetting } from "../shared/settings";

export const OPCUA_IN_VERSION = 1;

export const OPCUA_IN_DEFAULTS: Omit<OpcuaInConfig, "version" | "endpoint"> = {
  name: "",
  nodeIds: "",
  folder: "",
  maxDepth: 5,
  maxVariables: 1000,
  samplingInterval: 250,
  publishingInterval: 500,
  queueSize: 10,
  deadband: "none",
  deadbandValue: 0,
  output: "change",
  groupWindow: 100,
  sourceRule: "parent",
  source: "",
};

export const OPCUA_IN_MIGRATIONS: Record<number, Migration> = {
  // 0 -> 1: configs saved before versioning: missing settings take their defaults; a single
  // "nodeId" setting becomes the nodeIds list; a "topic" becomes a fixed source.
  0: (c) => {
    const out: Record<string, unknown> = { ...c };
    if ((out.nodeIds === undefined || out.nodeIds === "") && typeof out.nodeId === "string") {
      out.nodeIds = out.nodeId;
      delete out.nodeId;
    }
    if ((out.source === undefined || out.source === "") && typeof out.topic === "string" && out.topic !== "") {
      out.sourceRule = "fixed";
      out.source = out.topic;
      delete out.topic;
    }
    return fillDefaults(out, OPCUA_IN_DEFAULTS, { emptyIsMissing: true });
  },
};

export function opcuaInConfig(def: object): OpcuaInConfig {
  return migrate<OpcuaInConfig>(def, OPCUA_IN_VERSION, OPCUA_IN_MIGRATIONS);
}

export interface OpcuaInSettings {
  nodeIds: string[];
  folder: string | undefined;
  maxDepth: number;
  maxVariables: number;
  samplingInterval: number;
  publishingInterval: number;
  queueSize: number;
  deadband: DeadbandMode;
  deadbandValue: number;
  output: OpcuaOutputMode;
  groupWindow: number;
  sourceRule: OpcuaSourceRule;
  source: string;
}

/** Check a (migrated) config; throws an Error saying what is wrong. */
export function opcuaInSettings(cfg: OpcuaInConfig): OpcuaInSettings {
  const nodeIds = [...new Set(parseNodeIdList(cfg.nodeIds))];
  for (const n of nodeIds) parseNodeId(n);
  const folder = typeof cfg.folder === "string" && cfg.folder.trim() !== "" ? cfg.folder.trim() : undefined;
  if (folder) parseNodeId(folder);
  if (nodeIds.length === 0 && !folder) throw new Error("give node ids and/or a folder to subscribe to");
  if (!["none", "absolute", "percent"].includes(cfg.deadband))
    throw new Error("deadband must be none, absolute or percent");
  const deadbandValue = Number(cfg.deadbandValue);
  if (cfg.deadband !== "none") {
    if (!Number.isFinite(deadbandValue) || deadbandValue < 0) throw new Error("deadband value must be a number >= 0");
    if (cfg.deadband === "percent" && deadbandValue > 100) throw new Error("a percent deadband must be 0..100");
  }
  if (cfg.output !== "change" && cfg.output !== "group") throw new Error("output must be change or group");
  if (cfg.sourceRule !== "parent" && cfg.sourceRule !== "fixed") throw new Error("source rule must be parent or fixed");
  const source = typeof cfg.source === "string" ? cfg.source.trim() : "";
  if (cfg.sourceRule === "fixed" && source === "") throw new Error("a fixed source id is required");
  return {
    nodeIds,
    folder,
    maxDepth: intSetting(cfg.maxDepth, "browse depth", 1, 20),
    maxVariables: intSetting(cfg.maxVariables, "variable cap", 1, 50_000),
    samplingInterval: intSetting(cfg.samplingInterval, "sampling interval", 0, 3_600_000),
    publishingInterval: intSetting(cfg.publishingInterval, "publishing interval", 10, 3_600_000),
    queueSize: intSetting(cfg.queueSize, "queue size", 1, 10_000),
    deadband: cfg.deadband,
    deadbandValue: cfg.deadband === "none" ? 0 : deadbandValue,
    output: cfg.output,
    groupWindow: cfg.output === "group" ? intSetting(cfg.groupWindow, "group window", 1, 60_000) : 0,
    sourceRule: cfg.sourceRule,
    source,
  };
}

const NUMERIC_TYPES = new Set([
  "SByte",
  "Byte",
  "Int16",
  "UInt16",
  "Int32",
  "UInt32",
  "Int64",
  "UInt64",
  "Float",
  "Double",
]);

/** May a deadband apply to a variable of this data type? Unknown types: yes (the server decides). */
export function isNumericType(dataType: string | undefined): boolean {
  if (dataType === undefined) return true;
  if (NUMERIC_TYPES.has(dataType)) return true;
  return !/^(Boolean|String|DateTime|LocalizedText|ByteString|Guid|XmlElement|NodeId|QualifiedName)$/.test(dataType);
}
