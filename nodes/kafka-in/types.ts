/** kafka-in: settings shared by the runtime and the editor (types only). */
export type KafkaDecode = "json" | "string" | "buffer";
export type KafkaInOutput = "message" | "batch";

export interface KafkaInConfig {
  name: string;
  /** id of the kafka-broker config node */
  broker: string;
  /** Comma/space separated topic names. */
  topics: string;
  groupId: string;
  fromBeginning: boolean;
  decode: KafkaDecode;
  output: KafkaInOutput;
  version: number;
}
