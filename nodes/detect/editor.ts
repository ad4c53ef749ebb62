/* detect editor: YOLO detection on camera frames. */
import type { DetectConfig } from "./types";

declare const RED: import("@node-red/editor-client").RED;

function optionalNumber(min: number, max: number, integer = false): (v: string) => boolean {
  return (v: string) => {
    if (v === undefined || v === null || String(v).trim() === "") return true;
    const n = Number(v);
    return Number.isFinite(n) && n >= min && n <= max && (!integer || Number.isInteger(n));
  };
}

RED.nodes.registerType<DetectConfig>("detect", {
  category: "LineGuard",
  color: "#c0a3e5",
  defaults: {
    name: { value: "" },
    model: { value: "lineguard:yolo-glass", required: true },
    conf: { value: 0.25, validate: optionalNumber(0, 1) },
    iou: { value: 0.45, validate: optionalNumber(0, 1) },
    maxDetections: { value: 300, validate: optionalNumber(1, 10000, true) },
    classNames: { value: "" },
    annotate: { value: false },
    keepFrame: { value: true },
    threads: { value: 1, validate: optionalNumber(1, 64, true) },
    queue: { value: 1, validate: optionalNumber(0, 100, true) },
    version: { value: 1 },
  },
  inputs: 1,
  outputs: 1,
  icon: "lineguard.svg",
  paletteLabel: "detect",
  outputLabels: ["detections"],
  label: function () {
    return this.name || "detect";
  },
});
