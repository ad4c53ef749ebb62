/**
 * kafka-in: defaults, migrations and validation of the node's settings. No Node-RED import.
 */
import { DECODE_MODES, DecodeMode, OUTPUT_MODES, OutputMode, parseTopicList, toBool } from "../../lib/sinks/kafka";
import { Migration, fillDefaults, migrate } from "../shared/migrate";
import type { KafkaInConfig } from "./types";

export const KAFKA_IN_VERSION = 1;

export const KAFKA_IN_DEFAULTS: Omit<KafkaInConfig, "version" | "broker" | "topics" | "groupId"> = {
  name: "",
  fromBeginning: false,
  decode: "json",
  output: "message",
};

export const KAFKA_IN_MIGRATIONS: Record<number, Migration> = {
  // 0 -> 1: configs saved before versioning: missing settings take their defaults; topics and
  // groupId have none (they are required and reported when missing).
  0: (c) => fillDefaults(c, KAFKA_IN_DEFAULTS, { emptyIsMissing: true }),
};

export function kafkaInConfig(def: object): KafkaInConfig {
  return migrate<KafkaInConfig>(def, KAFKA_IN_VERSION, KAFKA_IN_MIGRATIONS);
}

export interface KafkaInSettings {
  topics: string[];
  groupId: string;
  fromBeginning: boolean;
  decode: DecodeMode;
  output: OutputMode;
}

/** Check a (migrated) config; throws an Error saying what is wrong. */
export function kafkaInSettings(cfg: KafkaInConfig): KafkaInSettings {
  const topics = parseTopicList(cfg.topics);
  const groupId = typeof cfg.groupId === "string" ? cfg.groupId.trim() : "";
  if (groupId === "") throw new Error("a consumer group id is required");
  if (groupId.length > 255) throw new Error("the consumer group id is longer than 255 characters");
  if (!(DECODE_MODES as readonly string[]).includes(cfg.decode)) {
    throw new Error(`decode must be one of ${DECODE_MODES.join(", ")}, got "${String(cfg.decode)}"`);
  }
  if (!(OUTPUT_MODES as readonly string[]).includes(cfg.output)) {
    throw new Error(`output must be one of ${OUTPUT_MODES.join(", ")}, got "${String(cfg.output)}"`);
  }
  return { topics, groupId, fromBeginning: toBool(cfg.fromBeginning, false), decode: cfg.decode, output: cfg.output };
}
