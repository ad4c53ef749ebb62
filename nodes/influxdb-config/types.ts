/**
 * influxdb-config: settings and credentials, shared by the runtime and the editor (types only).
 *
 * `version` is the InfluxDB API version ("2" or "1.8"), as users know it; the version of this
 * config's own schema (for migrations) is therefore `cfgVersion`, not `version`.
 */
export type InfluxApiVersion = "2" | "1.8";

export interface InfluxConfigProps {
  name: string;
  /** Base URL, http:// or https://, without credentials. */
  url: string;
  version: InfluxApiVersion;
  /** Organisation (InfluxDB 2). */
  org: string;
  /** Database (InfluxDB 1.8). */
  database: string;
  /** Retention policy (InfluxDB 1.8); empty = the database's default. */
  retentionPolicy: string;
  tlsRejectUnauthorized: boolean;
  /** Request timeout in ms (the editor may store it as a string). */
  timeout: number | string;
  /** Schema version of this config node. */
  cfgVersion: number;
}

export interface InfluxConfigCredentials {
  /** API token (InfluxDB 2), or "username:password" for 1.8 when no username is set. */
  token?: string;
  /** InfluxDB 1.8 user. */
  username?: string;
  /** InfluxDB 1.8 password. */
  password?: string;
  /** CA certificate(s), PEM, to verify the server. */
  tlsCa?: string;
}
