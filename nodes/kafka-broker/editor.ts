/* kafka-broker editor: a config node holding the broker list, TLS and SASL settings. */
import type { KafkaBrokerConfig, KafkaBrokerCredentials } from "./types";

declare const RED: import("@node-red/editor-client").RED;

const BROKER_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):\d{1,5}$/;

function validBrokers(v: string): boolean {
  const list = String(v ?? "")
    .split(/[\s,]+/)
    .filter((s) => s !== "");
  return list.length > 0 && list.every((b) => BROKER_RE.test(b) && Number(b.slice(b.lastIndexOf(":") + 1)) <= 65535);
}

function validInt(min: number, max: number): (v: string) => boolean {
  return (v: string) => {
    if (v === undefined || v === null || String(v).trim() === "") return true;
    const n = Number(v);
    return Number.isInteger(n) && n >= min && n <= max;
  };
}

RED.nodes.registerType<KafkaBrokerConfig, KafkaBrokerCredentials>("kafka-broker", {
  category: "config",
  color: "#7fb7df",
  defaults: {
    name: { value: "" },
    brokers: { value: "127.0.0.1:9092", required: true, validate: validBrokers },
    clientId: { value: "lineguard", validate: (v: string) => v === "" || /^[A-Za-z0-9._-]{1,249}$/.test(v) },
    tls: { value: false },
    tlsRejectUnauthorized: { value: true },
    saslMechanism: { value: "none" },
    connectionTimeout: { value: 3000, validate: validInt(100, 300000) },
    requestTimeout: { value: 30000, validate: validInt(1000, 600000) },
    allowAutoTopicCreation: { value: true },
    version: { value: 1 },
  },
  credentials: {
    username: { type: "text" },
    password: { type: "password" },
    tlsCa: { type: "text" },
    tlsCert: { type: "text" },
    tlsKey: { type: "password" },
    tlsPassphrase: { type: "password" },
  },
  icon: "lineguard.svg",
  label: function () {
    return this.name || this.brokers || "kafka-broker";
  },
  oneditprepare: function () {
    const toggle = (): void => {
      $("#kafka-broker-tls").toggle($("#node-config-input-tls").is(":checked"));
      $("#kafka-broker-sasl").toggle($("#node-config-input-saslMechanism").val() !== "none");
    };
    $("#node-config-input-tls").on("change", toggle);
    $("#node-config-input-saslMechanism").on("change", toggle);
    toggle();
  },
});
