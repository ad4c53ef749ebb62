/**
 * kafka-broker: defaults, migrations and the runtime API other Kafka nodes use. No Node-RED import.
 */
import type { Kafka } from "kafkajs";
import type { SharedProducer } from "../../lib/sinks/kafka";
import type { StateListener } from "../shared/connection";
import { Migration, fillDefaults, migrate } from "../shared/migrate";
import type { KafkaBrokerConfig } from "./types";

export const KAFKA_BROKER_VERSION = 1;

export const KAFKA_BROKER_DEFAULTS: Omit<KafkaBrokerConfig, "version"> = {
  name: "",
  brokers: "127.0.0.1:9092",
  clientId: "lineguard",
  tls: false,
  tlsRejectUnauthorized: true,
  saslMechanism: "none",
  connectionTimeout: 3000,
  requestTimeout: 30000,
  allowAutoTopicCreation: true,
};

/** Fill what an older config lacks; every step is tested. */
export const KAFKA_BROKER_MIGRATIONS: Record<number, Migration> = {
  // 0 -> 1: configs saved before versioning: every setting missing takes its default
  // (an empty broker list stays empty: it is reported, not guessed).
  0: (c) => {
    const out = fillDefaults(c, KAFKA_BROKER_DEFAULTS, { emptyIsMissing: true, skip: ["brokers"] });
    if (out.brokers === undefined || out.brokers === null) out.brokers = "";
    return out;
  },
};

export function brokerConfig(def: object): KafkaBrokerConfig {
  return migrate<KafkaBrokerConfig>(def, KAFKA_BROKER_VERSION, KAFKA_BROKER_MIGRATIONS);
}

/** What a kafka-broker node offers to kafka-out and kafka-in nodes. */
export interface KafkaBrokerApi {
  /** Why the configuration cannot be used (redacted), or undefined. */
  readonly configError: string | undefined;
  readonly allowAutoTopicCreation: boolean;
  /** Credential values to redact from any text a user node shows or logs. */
  secrets(): string[];
  /** The shared producer (created on first use); throws when the configuration is bad. */
  registerProducer(userId: string, listener: StateListener): SharedProducer;
  deregisterProducer(userId: string): void;
  /** The Kafka client, for consumers; throws when the configuration is bad. */
  kafka(): Kafka;
}
