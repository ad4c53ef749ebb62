/**
 * camera in: defaults, migrations and validation. No Node-RED import.
 */
import { Migration, fillDefaults, migrate } from "../shared/migrate";
import type { CameraAfterRead, CameraInConfig, CameraMode } from "./types";
import { numberSetting } from "../shared/settings";

export const CAMERA_IN_VERSION = 1;

export const CAMERA_IN_DEFAULTS: Omit<CameraInConfig, "version"> = {
  name: "",
  mode: "mjpeg",
  url: "http://127.0.0.1:8091/stream.mjpg",
  interval: 1000,
  timeout: 10000,
  folder: "",
  afterRead: "keep",
  moveTo: "",
  sourceId: "",
  maxInFlight: 1,
  maxFrameMB: 32,
};

export const CAMERA_IN_MIGRATIONS: Record<number, Migration> = {
  // 0 -> 1: configs saved before versioning: every missing setting takes its default.
  0: (c) => fillDefaults(c, CAMERA_IN_DEFAULTS),
};

export function cameraInConfig(def: object): CameraInConfig {
  return migrate<CameraInConfig>(def, CAMERA_IN_VERSION, CAMERA_IN_MIGRATIONS);
}

export const CAMERA_MODES: readonly CameraMode[] = ["http-snapshot", "mjpeg", "folder", "input"];
const AFTER_READ: readonly CameraAfterRead[] = ["keep", "delete", "move"];

export interface CameraInSettings {
  mode: CameraMode;
  url: string;
  intervalMs: number;
  timeoutMs: number;
  folder: string;
  afterRead: CameraAfterRead;
  moveTo: string;
  source: string;
  maxInFlight: number;
  maxFrameBytes: number;
}

/** Check a (migrated) config; throws an Error saying what is wrong. */
export function cameraInSettings(cfg: CameraInConfig, nodeName = ""): CameraInSettings {
  const mode = cfg.mode;
  if (!CAMERA_MODES.includes(mode)) throw new Error(`unknown source "${String(mode)}"`);
  const url = String(cfg.url ?? "").trim();
  if (mode === "http-snapshot" || mode === "mjpeg") {
    if (url === "") throw new Error("a camera URL is required");
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new Error(`"${url}" is not a valid URL`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:")
      throw new Error("the camera URL must be http:// or https://");
  }
  const folder = String(cfg.folder ?? "").trim();
  const afterRead = AFTER_READ.includes(cfg.afterRead) ? cfg.afterRead : "keep";
  const moveTo = String(cfg.moveTo ?? "").trim();
  if (mode === "folder") {
    if (folder === "") throw new Error("a folder is required");
    if (afterRead === "move" && moveTo === "") throw new Error("a folder to move read files to is required");
  }
  const source = String(cfg.sourceId ?? "").trim() || String(nodeName ?? "").trim() || "camera";
  return {
    mode,
    url,
    intervalMs: numberSetting(cfg.interval, "interval", 0, 86_400_000, true),
    timeoutMs: numberSetting(cfg.timeout, "timeout", 100, 600_000, true),
    folder,
    afterRead,
    moveTo,
    source,
    maxInFlight: numberSetting(cfg.maxInFlight, "frames in flight", 1, 16, true),
    maxFrameBytes: Math.round(numberSetting(cfg.maxFrameMB, "max frame size", 0.01, 512, false) * 1024 * 1024),
  };
}
