/* kafka-in editor: a consumer-group member reading Kafka topics. */
import type { KafkaInConfig } from "./types";

declare const RED: import("@node-red/editor-client").RED;

const TOPIC_RE = /^[a-zA-Z0-9._-]{1,249}$/;

function validTopics(v: string): boolean {
  const list = String(v ?? "")
    .split(/[\s,]+/)
    .filter((s) => s !== "");
  return list.length > 0 && list.every((t) => TOPIC_RE.test(t) && t !== "." && t !== "..");
}

RED.nodes.registerType<KafkaInConfig>("kafka-in", {
  category: "LineGuard",
  color: "#7fb7df",
  defaults: {
    name: { value: "" },
    broker: { value: "", type: "kafka-broker", required: true },
    topics: { value: "lineguard.records", required: true, validate: validTopics },
    groupId: {
      value: "lineguard",
      required: true,
      validate: (v: string) => String(v ?? "").trim().length > 0 && String(v).length <= 255,
    },
    fromBeginning: { value: false },
    decode: { value: "json" },
    output: { value: "message" },
    version: { value: 1 },
  },
  inputs: 0,
  outputs: 2,
  icon: "lineguard.svg",
  label: function () {
    return this.name || (this.topics ? `kafka: ${this.topics}` : "kafka-in");
  },
  labelStyle: function () {
    return this.name ? "node_label_italic" : "";
  },
  outputLabels: function (i: number) {
    return this._(i === 0 ? "kafka-in.outputs.messages" : "kafka-in.outputs.decodeErrors");
  },
});
