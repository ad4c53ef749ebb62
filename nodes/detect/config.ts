/**
 * detect: defaults, migrations, validation and model resolution. No Node-RED import.
 */
import fs from "node:fs";
import path from "node:path";
import { packageRoot } from "../anomaly/config";
import { Migration, fillDefaults, migrate } from "../shared/migrate";
import type { DetectConfig } from "./types";
import { numberSetting } from "../shared/settings";

export const DETECT_VERSION = 1;

/** The model shipped in the package. */
export const SHIPPED_MODELS: Record<string, string> = {
  "lineguard:yolo-glass": "models/yolo-glass/model.onnx",
};

export const DETECT_DEFAULTS: Omit<DetectConfig, "version"> = {
  name: "",
  model: "lineguard:yolo-glass",
  conf: 0.25,
  iou: 0.45,
  maxDetections: 300,
  classNames: "",
  annotate: false,
  keepFrame: true,
  threads: 1,
  queue: 1,
};

export const DETECT_MIGRATIONS: Record<number, Migration> = {
  // 0 -> 1: configs saved before versioning: every missing setting takes its default.
  0: (c) => fillDefaults(c, DETECT_DEFAULTS, { skip: ["classNames", "name"] }),
};

export function detectConfig(def: object): DetectConfig {
  return migrate<DetectConfig>(def, DETECT_VERSION, DETECT_MIGRATIONS);
}

export interface DetectSettings {
  model: string;
  conf: number;
  iou: number;
  maxDetections: number;
  classNames: string[] | undefined;
  annotate: boolean;
  keepFrame: boolean;
  threads: number;
  queue: number;
}

/** Check a (migrated) config; throws an Error saying what is wrong. */
export function detectSettings(cfg: DetectConfig): DetectSettings {
  if (typeof cfg.model !== "string" || cfg.model.trim() === "") throw new Error("a model is required");
  const names = String(cfg.classNames ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return {
    model: cfg.model.trim(),
    conf: numberSetting(cfg.conf, "confidence", 0, 1, false),
    iou: numberSetting(cfg.iou, "IoU", 0, 1, false),
    maxDetections: numberSetting(cfg.maxDetections, "max detections", 1, 10_000, true),
    classNames: names.length > 0 ? names : undefined,
    annotate: cfg.annotate === true,
    keepFrame: cfg.keepFrame !== false,
    threads: numberSetting(cfg.threads, "threads", 1, 64, true),
    queue: numberSetting(cfg.queue, "queue", 0, 100, true),
  };
}

/**
 * The model file: a shipped name ("lineguard:yolo-glass") inside the package; an absolute path as it is;
 * a relative one in the user dir if it is there, else in the package.
 */
export function resolveModel(model: string, userDir: string | undefined, root: string = packageRoot()): string {
  const shipped = SHIPPED_MODELS[model];
  if (shipped) return path.join(root, shipped);
  if (model.startsWith("lineguard:")) {
    throw new Error(`unknown shipped model "${model}" (known: ${Object.keys(SHIPPED_MODELS).join(", ")})`);
  }
  if (path.isAbsolute(model)) return model;
  if (userDir) {
    const inUser = path.resolve(userDir, model);
    if (fs.existsSync(inUser)) return inUser;
  }
  return path.resolve(root, model);
}
