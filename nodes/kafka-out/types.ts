/** kafka-out: settings shared by the runtime and the editor (types only). */
import type { SpoolProps } from "../shared/spool-types";
export type KafkaTopicMode = "static" | "msg" | "template";
export type KafkaKeyMode = "source" | "msg" | "none";
export type KafkaValueMode = "record" | "raw";
export type KafkaCompression = "gzip" | "none";
export type KafkaBacklogPolicy = "drop-oldest" | "refuse-newest";

export interface KafkaOutConfig extends SpoolProps {
  name: string;
  /** id of the kafka-broker config node */
  broker: string;
  /** The topic (static) or the template (template, e.g. "lineguard.{{source}}"). */
  topic: string;
  topicMode: KafkaTopicMode;
  keyMode: KafkaKeyMode;
  valueMode: KafkaValueMode;
  /** Static headers: a JSON object of name -> string ("" for none). */
  headers: string;
  compression: KafkaCompression;
  batchSize: number | string;
  batchBytes: number | string;
  lingerMs: number | string;
  /** Bound of the memory backlog (spool "memory"), records. */
  maxBacklog: number | string;
  backlogPolicy: KafkaBacklogPolicy;
  maxMessageBytes: number | string;
  version: number;
}
