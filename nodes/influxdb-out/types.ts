/** influxdb-out: settings shared by the runtime and the editor (types only). */
import type { SpoolProps } from "../shared/spool-types";
export type InfluxPrecision = "s" | "ms" | "us" | "ns";
export type InfluxStringValues = "field" | "drop";
export type InfluxBacklogPolicy = "drop-oldest" | "refuse-newest";

export interface InfluxOutProps extends SpoolProps {
  name: string;
  /** id of the influxdb-config node. */
  influxdb: string;
  /** Bucket (InfluxDB 2); for 1.8 the config's database/retention policy is used. */
  bucket: string;
  /** Default measurement; msg.measurement overrides it. */
  measurement: string;
  /** Static tags as a JSON object text, e.g. {"line":"A"}; msg.tags adds to / overrides them. */
  tags: string;
  precision: InfluxPrecision;
  stringValues: InfluxStringValues;
  writeBadQuality: boolean;
  /** Lines per write request. Numbers may arrive as strings from the editor. */
  batchSize: number | string;
  /** Flush interval: how long a part batch waits for more lines, ms. */
  lingerMs: number | string;
  /** Gzip request bodies larger than this many bytes. */
  gzipThreshold: number | string;
  /** Bound of the memory backlog (spool "memory"), lines. */
  maxBacklog: number | string;
  backlogPolicy: InfluxBacklogPolicy;
  version: number;
}
