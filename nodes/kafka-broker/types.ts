/** kafka-broker config node: settings and credentials, shared by the runtime and the editor (types only). */
export type KafkaSaslMechanism = "none" | "plain" | "scram-sha-256" | "scram-sha-512";

export interface KafkaBrokerConfig {
  name: string;
  /** Comma/space separated host:port list. */
  brokers: string;
  clientId: string;
  tls: boolean;
  tlsRejectUnauthorized: boolean;
  saslMechanism: KafkaSaslMechanism;
  /** ms; the editor stores numbers as entered. */
  connectionTimeout: number | string;
  requestTimeout: number | string;
  allowAutoTopicCreation: boolean;
  version: number;
}

export interface KafkaBrokerCredentials {
  username?: string;
  password?: string;
  /** PEM text. */
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsPassphrase?: string;
}
