/* kafka-out editor: records -> Kafka through a kafka-broker config node. */
import type { KafkaOutConfig } from "./types";

declare const RED: import("@node-red/editor-client").RED;

const TOPIC_RE = /^[a-zA-Z0-9._-]{1,249}$/;
const PLACEHOLDER_RE = /\{\{\s*([^}]*?)\s*\}\}/g;

function validTopic(this: { topicMode?: string }, v: string): boolean {
  const mode = this.topicMode ?? "static";
  if (mode === "msg") return true;
  const t = String(v ?? "").trim();
  if (mode === "template") {
    for (const m of t.matchAll(PLACEHOLDER_RE)) if (m[1] !== "source" && m[1] !== "msg.topic") return false;
    const probe = t.replace(PLACEHOLDER_RE, "x");
    return TOPIC_RE.test(probe) && probe !== "." && probe !== "..";
  }
  return TOPIC_RE.test(t) && t !== "." && t !== "..";
}

function validHeaders(v: string): boolean {
  if (v === undefined || v === null || String(v).trim() === "") return true;
  try {
    const o = JSON.parse(v) as unknown;
    if (o === null || typeof o !== "object" || Array.isArray(o)) return false;
    return Object.values(o as Record<string, unknown>).every((x) => typeof x === "string");
  } catch {
    return false;
  }
}

function validInt(min: number, max: number): (v: string) => boolean {
  return (v: string) => {
    if (v === undefined || v === null || String(v).trim() === "") return true;
    const n = Number(v);
    return Number.isInteger(n) && n >= min && n <= max;
  };
}

function validSpoolInt(min: number, max: number): (v: string) => boolean {
  return (v: string) => {
    const n = Number(v);
    return String(v ?? "").trim() !== "" && Number.isInteger(n) && n >= min && n <= max;
  };
}

function toggleSpoolRows(): void {
  const disk = $("#node-input-spool").val() !== "memory";
  $(".lg-spool-disk").toggle(disk);
  $(".lg-spool-memory").toggle(!disk);
}

RED.nodes.registerType<KafkaOutConfig>("kafka-out", {
  category: "LineGuard",
  color: "#7fb7df",
  defaults: {
    name: { value: "" },
    broker: { value: "", type: "kafka-broker", required: true },
    topic: { value: "lineguard.records", validate: validTopic },
    topicMode: { value: "static" },
    keyMode: { value: "source" },
    valueMode: { value: "record" },
    headers: { value: "", validate: validHeaders },
    compression: { value: "gzip" },
    batchSize: { value: 500, validate: validInt(1, 100000) },
    batchBytes: { value: 1048576, validate: validInt(1024, 268435456) },
    lingerMs: { value: 20, validate: validInt(0, 60000) },
    maxBacklog: { value: 100000, validate: validInt(1, 10000000) },
    backlogPolicy: { value: "drop-oldest" },
    maxMessageBytes: { value: 1000000, validate: validInt(128, 104857600) },
    spool: { value: "disk" },
    spoolMaxMB: { value: 1024, validate: validSpoolInt(1, 1048576) },
    spoolFsync: { value: "interval" },
    replayRate: { value: 5000, validate: validSpoolInt(0, 10000000) },
    replayOrder: { value: "live-first" },
    version: { value: 2 },
  },
  inputs: 1,
  outputs: 2,
  icon: "lineguard.svg",
  align: "right",
  label: function () {
    if (this.name) return this.name;
    if (this.topicMode === "msg") return "kafka: msg.topic";
    return this.topic ? `kafka: ${this.topic}` : "kafka-out";
  },
  labelStyle: function () {
    return this.name ? "node_label_italic" : "";
  },
  outputLabels: function (i: number) {
    return this._(i === 0 ? "kafka-out.outputs.sent" : "kafka-out.outputs.rejected");
  },
  oneditprepare: function () {
    $("#node-input-spool").on("change", toggleSpoolRows);
    toggleSpoolRows();
    const toggle = (): void => {
      $("#kafka-out-topic-row").toggle($("#node-input-topicMode").val() !== "msg");
    };
    $("#node-input-topicMode").on("change", toggle);
    toggle();
  },
});
