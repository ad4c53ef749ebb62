/**
 * kafka-broker: config node. Owns ONE kafkajs client and ONE producer shared by every kafka-out
 * node that uses it (SharedConnection); kafka-in nodes get the client to create their consumers.
 */
import type { Node, NodeAPI, NodeDef } from "node-red";
import { Kafka, Partitioners } from "kafkajs";
import { errorMessage } from "../../lib/errors";
import { redact } from "../../lib/redact";
import {
  KAFKAJS_RETRY,
  SharedProducer,
  brokerSecrets,
  buildKafkaConfig,
  parseBrokers,
  toBool,
} from "../../lib/sinks/kafka";
import { SharedConnection, StateListener } from "../shared/connection";
import { KafkaBrokerApi, brokerConfig } from "./config";
import type { KafkaBrokerConfig, KafkaBrokerCredentials } from "./types";

type BrokerNode = Node<KafkaBrokerCredentials> & KafkaBrokerApi;

export = function (RED: NodeAPI): void {
  function KafkaBrokerNode(this: Node<KafkaBrokerCredentials>, def: NodeDef & Partial<KafkaBrokerConfig>): void {
    RED.nodes.createNode(this, def);
    setup(this as BrokerNode, def);
  }

  function setup(node: BrokerNode, def: NodeDef & Partial<KafkaBrokerConfig>): void {
    const cfg = brokerConfig(def);
    const creds: KafkaBrokerCredentials = node.credentials ?? {};
    const secrets = (): string[] => brokerSecrets(creds);

    let configError: string | undefined;
    let kafkaConfig: ReturnType<typeof buildKafkaConfig> | undefined;
    try {
      kafkaConfig = buildKafkaConfig(cfg, creds, {
        log: (level, text) => (level === "error" || level === "warn" ? node.warn(text) : node.debug(text)),
      });
    } catch (err) {
      configError = redact(errorMessage(err), secrets());
      node.error(RED._("kafka-broker.errors.badConfig", { error: configError }));
    }
    const allowAutoTopicCreation = toBool(cfg.allowAutoTopicCreation, true);

    let client: Kafka | undefined;
    const kafka = (): Kafka => {
      if (configError || !kafkaConfig) throw new Error(configError ?? "no configuration");
      if (!client) client = new Kafka(kafkaConfig);
      return client;
    };

    const conn = new SharedConnection<SharedProducer>(
      () => {
        const producer = kafka().producer({
          allowAutoTopicCreation,
          createPartitioner: Partitioners.DefaultPartitioner,
          retry: KAFKAJS_RETRY,
        });
        const shared = new SharedProducer(producer, {
          allowAutoTopicCreation,
          brokers: parseBrokers(cfg.brokers),
        });
        shared.on("state", (s: SharedProducer["state"], detail?: string) =>
          conn.setState(s, detail === undefined ? undefined : redact(detail, secrets())),
        );
        return shared;
      },
      (shared) => shared.disconnect(),
    );

    const api: KafkaBrokerApi = {
      configError,
      allowAutoTopicCreation,
      secrets,
      registerProducer: (userId: string, listener: StateListener) => {
        if (configError) throw new Error(configError);
        return conn.register(userId, listener);
      },
      deregisterProducer: (userId: string) => conn.deregister(userId),
      kafka,
    };
    Object.assign(node, api);

    node.on("close", (_removed: boolean, done: () => void) => {
      conn.close(5000).then(
        () => done(),
        () => done(),
      );
    });
  }

  RED.nodes.registerType<
    Node<KafkaBrokerCredentials>,
    NodeDef & Partial<KafkaBrokerConfig>,
    unknown,
    KafkaBrokerCredentials
  >("kafka-broker", KafkaBrokerNode, {
    credentials: {
      username: { type: "text" },
      password: { type: "password" },
      tlsCa: { type: "text" },
      tlsCert: { type: "text" },
      tlsKey: { type: "password" },
      tlsPassphrase: { type: "password" },
    },
  });
};
