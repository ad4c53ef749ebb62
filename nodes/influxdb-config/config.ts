/**
 * influxdb-config runtime helpers (no Node-RED import): config migration and the shape the sink
 * nodes see of a config node.
 */
import type { Node } from "node-red";
import { Reachability, InfluxClient, ResolvedConnection, normaliseVersion } from "../../lib/sinks/influx";
import { Migration, fillDefaults, migrate } from "../shared/migrate";
import type { SharedConnection } from "../shared/connection";
import type { InfluxConfigCredentials, InfluxConfigProps } from "./types";

/** Current schema version of the config node (stored as `cfgVersion`: `version` is the InfluxDB API). */
export const CONFIG_VERSION = 1;

export const CONFIG_DEFAULTS: Omit<InfluxConfigProps, "cfgVersion"> = {
  name: "",
  url: "http://127.0.0.1:8086",
  version: "2",
  org: "",
  database: "",
  retentionPolicy: "",
  tlsRejectUnauthorized: true,
  timeout: 10000,
};

const STEPS: Record<number, Migration> = {
  // 0 -> 1: configs without cfgVersion (hand-written or imported flows): fill defaults, accept
  // "1", "1.x", "v2", "2.7" ... for the API version.
  0: (c) => {
    // `version` is the schema version here (see migrateConfig); the API version is `apiVersion`.
    const { version: apiDefault, ...defaults } = CONFIG_DEFAULTS;
    const out = fillDefaults(c, defaults);
    out.apiVersion = normaliseVersion(c.apiVersion) ?? apiDefault;
    return out;
  },
};

/**
 * Upgrade a stored config to CONFIG_VERSION with the shared migrate(): it counts on `version`, so
 * the API version is parked in `apiVersion` and `cfgVersion` stands in for `version` meanwhile.
 */
export function migrateConfig(raw: object): InfluxConfigProps {
  const { version: apiVersion, cfgVersion, ...rest } = raw as Record<string, unknown>;
  const up = migrate<Record<string, unknown>>({ ...rest, apiVersion, version: cfgVersion }, CONFIG_VERSION, STEPS);
  const { version, apiVersion: api, ...out } = up;
  return { ...out, version: api, cfgVersion: version } as unknown as InfluxConfigProps;
}

/** What influxdb-out nodes use of their config node. */
export interface InfluxConfigRuntime extends Node<InfluxConfigCredentials> {
  settings: InfluxConfigProps;
  /** Resolved connection, unless the settings are invalid (then configError says why). */
  conn?: ResolvedConnection;
  configError?: Error;
  /** Owns the one client; users register/deregister and hear the reachability. */
  connection: SharedConnection<InfluxClient>;
  /** Sinks report up/down here; it probes while down and broadcasts through `connection`. */
  reachability: Reachability;
  /** Values to redact from texts. */
  secrets(): readonly string[];
}
