/* anomaly editor: LSTM-autoencoder scoring of feature windows. */
import type { AnomalyConfig } from "./types";

declare const RED: import("@node-red/editor-client").RED;

function optionalNumber(min: number, max: number): (v: string) => boolean {
  return (v: string) => {
    if (v === undefined || v === null || String(v).trim() === "") return true;
    const n = Number(v);
    return Number.isFinite(n) && n >= min && n <= max;
  };
}

RED.nodes.registerType<AnomalyConfig>("anomaly", {
  category: "LineGuard",
  color: "#c0a3e5",
  defaults: {
    name: { value: "" },
    modelDir: { value: "models/lstm-ae-cnc", required: true },
    threshold: { value: "", validate: optionalNumber(0, Number.MAX_VALUE) },
    maxBatch: { value: 64, validate: optionalNumber(1, 4096) },
    maxWaitMs: { value: 5, validate: optionalNumber(0, 10000) },
    calibrate: { value: false },
    calibrationWindows: { value: 500, validate: optionalNumber(2, 1000000) },
    calibrationMethod: { value: "percentile" },
    calibrationParam: { value: 99.5, validate: optionalNumber(0, 100) },
    version: { value: 1 },
  },
  inputs: 1,
  outputs: 2,
  icon: "lineguard.svg",
  paletteLabel: "anomaly",
  outputLabels: ["scored", "not scored"],
  label: function () {
    return this.name || "anomaly";
  },
  oneditprepare: function () {
    const toggle = (): void => {
      $(".lineguard-anomaly-calibration").toggle($("#node-input-calibrate").is(":checked"));
    };
    $("#node-input-calibrate").on("change", toggle);
    toggle();
  },
});
