/**
 * kafka-out: defaults, migrations and validation of the node's settings. No Node-RED import.
 */
import {
  Compression,
  DEFAULT_MAX_MESSAGE_BYTES,
  KEY_MODES,
  KeyMode,
  TOPIC_MODES,
  TopicMode,
  VALUE_MODES,
  ValueMode,
  checkTopicName,
  checkTopicTemplate,
  parseStaticHeaders,
  toInt,
} from "../../lib/sinks/kafka";
import type { FullPolicy } from "../../lib/sinks/backlog";
import { Migration, fillDefaults, migrate } from "../shared/migrate";
import { SPOOL_DEFAULTS, SpoolSettings, spoolSettings } from "../shared/spool";
import type { KafkaOutConfig } from "./types";

export const KAFKA_OUT_VERSION = 2;

export const KAFKA_OUT_DEFAULTS: Omit<KafkaOutConfig, "version" | "broker"> = {
  name: "",
  topic: "lineguard.records",
  topicMode: "static",
  keyMode: "source",
  valueMode: "record",
  headers: "",
  compression: "gzip",
  batchSize: 500,
  batchBytes: 1048576,
  lingerMs: 20,
  maxBacklog: 100000,
  backlogPolicy: "drop-oldest",
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  ...SPOOL_DEFAULTS,
};

export const KAFKA_OUT_MIGRATIONS: Record<number, Migration> = {
  // 0 -> 1: configs saved before versioning: every missing setting takes its default.
  0: (c) => fillDefaults(c, KAFKA_OUT_DEFAULTS),
  // 1 -> 2: store-and-forward: the disk spool and its settings (what a sink should do by default).
  1: (c) => fillDefaults(c, SPOOL_DEFAULTS),
};

export function kafkaOutConfig(def: object): KafkaOutConfig {
  return migrate<KafkaOutConfig>(def, KAFKA_OUT_VERSION, KAFKA_OUT_MIGRATIONS);
}

/** Validated, typed settings the runtime uses. */
export interface KafkaOutSettings {
  topic: string;
  topicMode: TopicMode;
  keyMode: KeyMode;
  valueMode: ValueMode;
  headers: Record<string, string>;
  compression: Compression;
  batchSize: number;
  batchBytes: number;
  lingerMs: number;
  maxBacklog: number;
  backlogPolicy: FullPolicy;
  maxMessageBytes: number;
  spool: SpoolSettings;
}

function oneOf<T extends string>(v: unknown, list: readonly T[], name: string): T {
  if (typeof v === "string" && (list as readonly string[]).includes(v)) return v as T;
  throw new Error(`${name} must be one of ${list.join(", ")}, got "${String(v)}"`);
}

/** Check a (migrated) config; throws an Error saying what is wrong. */
export function kafkaOutSettings(cfg: KafkaOutConfig): KafkaOutSettings {
  const topicMode = oneOf(cfg.topicMode, TOPIC_MODES, "topic mode");
  const topic = typeof cfg.topic === "string" ? cfg.topic.trim() : "";
  if (topicMode === "static") {
    const bad = checkTopicName(topic);
    if (bad) throw new Error(bad);
  } else if (topicMode === "template") {
    const bad = checkTopicTemplate(topic);
    if (bad) throw new Error(bad);
  }
  return {
    topic,
    topicMode,
    keyMode: oneOf(cfg.keyMode, KEY_MODES, "key mode"),
    valueMode: oneOf(cfg.valueMode, VALUE_MODES, "value mode"),
    headers: parseStaticHeaders(cfg.headers),
    compression: oneOf(cfg.compression, ["gzip", "none"] as const, "compression"),
    batchSize: toInt(cfg.batchSize, "batch size", 500, 1, 100_000),
    batchBytes: toInt(cfg.batchBytes, "batch bytes", 1_048_576, 1024, 256 * 1024 * 1024),
    lingerMs: toInt(cfg.lingerMs, "linger", 20, 0, 60_000),
    maxBacklog: toInt(cfg.maxBacklog, "max backlog", 100_000, 1, 10_000_000),
    backlogPolicy: oneOf(cfg.backlogPolicy, ["drop-oldest", "refuse-newest"] as const, "backlog policy"),
    maxMessageBytes: toInt(cfg.maxMessageBytes, "max message bytes", DEFAULT_MAX_MESSAGE_BYTES, 128, 100 * 1024 * 1024),
    spool: spoolSettings(cfg),
  };
}
