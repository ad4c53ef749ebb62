/** Editor definition of influxdb-out (bundled into the generated .html by scripts/build.mjs). */
import type { InfluxOutProps } from "./types";

declare const RED: import("node-red__editor-client").RED;

function isTagsJson(v: unknown): boolean {
  if (typeof v !== "string" || v.trim() === "") return true;
  try {
    const o = JSON.parse(v) as unknown;
    return o !== null && typeof o === "object" && !Array.isArray(o);
  } catch {
    return false;
  }
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

RED.nodes.registerType<InfluxOutProps>("influxdb-out", {
  category: "LineGuard",
  color: "#7fb7df",
  defaults: {
    name: { value: "" },
    influxdb: { value: "", type: "influxdb-config", required: true },
    bucket: {
      value: "",
      validate: function (v) {
        const cfg = RED.nodes.node(($("#node-input-influxdb").val() as string | undefined) ?? this.influxdb) as {
          version?: string;
        } | null;
        return cfg?.version === "1.8" || (typeof v === "string" && v.trim() !== "");
      },
    },
    measurement: { value: "lineguard", required: true, validate: RED.validators.regex(/^[^#\s][^\n]*$/) },
    tags: { value: "", validate: isTagsJson },
    precision: { value: "ms" },
    stringValues: { value: "field" },
    writeBadQuality: { value: false },
    batchSize: { value: 5000, validate: RED.validators.number() },
    lingerMs: { value: 1000, validate: RED.validators.number() },
    gzipThreshold: { value: 1000, validate: RED.validators.number() },
    maxBacklog: { value: 100000, validate: RED.validators.number() },
    backlogPolicy: { value: "drop-oldest" },
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
  paletteLabel: function () {
    return this._("influxdb-out.paletteLabel");
  },
  label: function () {
    return this.name || `influxdb ${this.measurement || ""}`.trim();
  },
  outputLabels: function (i) {
    return i === 0 ? this._("influxdb-out.outputs.written") : this._("influxdb-out.outputs.rejected");
  },
  oneditprepare: function () {
    $("#node-input-spool").on("change", toggleSpoolRows);
    toggleSpoolRows();
    $("#node-input-tags").typedInput({ default: "json", types: ["json"] });
    const server = $("#node-input-influxdb");
    const update = (): void => {
      const cfg = RED.nodes.node(String(server.val() ?? "")) as { version?: string } | null;
      const v18 = cfg?.version === "1.8";
      $(".lg-influx-bucket").toggle(!v18);
      $(".lg-influx-bucket18").toggle(v18);
    };
    server.on("change", update);
    update();
  },
});
