/* camera in editor: frames from an HTTP snapshot URL, an MJPEG stream, a watched folder or input messages. */
import type { CameraInConfig, CameraInCredentials } from "./types";

declare const RED: import("@node-red/editor-client").RED;

function intIn(min: number, max: number): (v: string) => boolean {
  return (v: string) => {
    const n = Number(v);
    return String(v ?? "").trim() !== "" && Number.isInteger(n) && n >= min && n <= max;
  };
}

const HTTP_MODES = ["http-snapshot", "mjpeg"];

RED.nodes.registerType<CameraInConfig, CameraInCredentials>("camera-in", {
  category: "LineGuard",
  color: "#a6bbcf",
  defaults: {
    name: { value: "" },
    mode: { value: "mjpeg" },
    url: {
      value: "http://127.0.0.1:8091/stream.mjpg",
      validate: function (this: CameraInConfig, v: string) {
        const mode = $("#node-input-mode").length ? String($("#node-input-mode").val()) : this.mode;
        if (!HTTP_MODES.includes(mode)) return true;
        return /^https?:\/\/\S+$/i.test(String(v ?? "").trim());
      },
    },
    interval: { value: 1000, validate: intIn(0, 86400000) },
    timeout: { value: 10000, validate: intIn(100, 600000) },
    folder: {
      value: "",
      validate: function (this: CameraInConfig, v: string) {
        const mode = $("#node-input-mode").length ? String($("#node-input-mode").val()) : this.mode;
        return mode !== "folder" || String(v ?? "").trim() !== "";
      },
    },
    afterRead: { value: "keep" },
    moveTo: { value: "" },
    sourceId: { value: "" },
    maxInFlight: { value: 1, validate: intIn(1, 16) },
    maxFrameMB: {
      value: 32,
      validate: (v: string) => {
        const n = Number(v);
        return Number.isFinite(n) && n >= 0.01 && n <= 512;
      },
    },
    version: { value: 1 },
  },
  credentials: {
    user: { type: "text" },
    password: { type: "password" },
  },
  inputs: 1,
  outputs: 2,
  icon: "lineguard.svg",
  paletteLabel: "camera in",
  outputLabels: ["frames", "problems"],
  label: function () {
    return this.name || this.sourceId || "camera in";
  },
  oneditprepare: function () {
    const toggle = (): void => {
      const mode = String($("#node-input-mode").val());
      $(".lineguard-camera-http").toggle(HTTP_MODES.includes(mode));
      $(".lineguard-camera-snapshot").toggle(mode === "http-snapshot");
      $(".lineguard-camera-folder").toggle(mode === "folder");
      $(".lineguard-camera-move").toggle(mode === "folder" && $("#node-input-afterRead").val() === "move");
    };
    $("#node-input-mode").on("change", toggle);
    $("#node-input-afterRead").on("change", toggle);
    toggle();
  },
});
