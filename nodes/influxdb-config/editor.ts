/**
 * Editor definition of influxdb-config (bundled into the generated .html by scripts/build.mjs).
 * Secrets are credentials: they never appear in the flow JSON.
 */
import type { InfluxConfigCredentials, InfluxConfigProps } from "./types";

declare const RED: import("node-red__editor-client").RED;

RED.nodes.registerType<InfluxConfigProps, InfluxConfigCredentials>("influxdb-config", {
  category: "config",
  defaults: {
    name: { value: "" },
    url: {
      value: "http://127.0.0.1:8086",
      required: true,
      validate: RED.validators.regex(/^https?:\/\/[^\s/@]+(\/[^\s?#@]*)?$/),
    },
    version: { value: "2", required: true },
    org: {
      value: "",
      validate: function (v) {
        const version = ($("#node-config-input-version").val() as string | undefined) ?? this.version;
        return version === "1.8" || (typeof v === "string" && v.trim() !== "");
      },
    },
    database: {
      value: "",
      validate: function (v) {
        const version = ($("#node-config-input-version").val() as string | undefined) ?? this.version;
        return version !== "1.8" || (typeof v === "string" && v.trim() !== "");
      },
    },
    retentionPolicy: { value: "" },
    tlsRejectUnauthorized: { value: true },
    timeout: { value: 10000, validate: RED.validators.number() },
    cfgVersion: { value: 1 },
  },
  credentials: {
    token: { type: "password" },
    username: { type: "text" },
    password: { type: "password" },
    tlsCa: { type: "text" },
  },
  label: function () {
    return this.name || `${this.url || "influxdb"} (${this.version === "1.8" ? "1.8" : "2.x"})`;
  },
  oneditprepare: function () {
    const version = $("#node-config-input-version");
    const url = $("#node-config-input-url");
    const update = (): void => {
      const v18 = version.val() === "1.8";
      $(".lg-influx-v2").toggle(!v18);
      $(".lg-influx-v18").toggle(v18);
      const https = String(url.val() ?? "").startsWith("https:");
      $(".lg-influx-tls").toggle(https);
    };
    version.on("change", update);
    url.on("change keyup", update);
    update();
  },
});
