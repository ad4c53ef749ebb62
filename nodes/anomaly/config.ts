/**
 * anomaly: defaults, migrations, validation and model-folder resolution. No Node-RED import.
 */
import fs from "node:fs";
import path from "node:path";
import type { CalibrationMethod } from "../../lib/inference/lstm-ae";
import { Migration, fillDefaults, migrate } from "../shared/migrate";
import type { AnomalyConfig } from "./types";
import { numberSetting } from "../shared/settings";

export const ANOMALY_VERSION = 1;

export const ANOMALY_DEFAULTS: Omit<AnomalyConfig, "version"> = {
  name: "",
  modelDir: "models/lstm-ae-cnc",
  threshold: "",
  maxBatch: 64,
  maxWaitMs: 5,
  calibrate: false,
  calibrationWindows: 500,
  calibrationMethod: "percentile",
  calibrationParam: 99.5,
};

export const ANOMALY_MIGRATIONS: Record<number, Migration> = {
  // 0 -> 1: configs saved before versioning: every missing setting takes its default.
  0: (c) => fillDefaults(c, ANOMALY_DEFAULTS),
};

export function anomalyConfig(def: object): AnomalyConfig {
  return migrate<AnomalyConfig>(def, ANOMALY_VERSION, ANOMALY_MIGRATIONS);
}

export interface AnomalySettings {
  modelDir: string;
  threshold: number | undefined;
  maxBatch: number;
  maxWaitMs: number;
  calibration: { windows: number; method: CalibrationMethod } | undefined;
}

/** Check a (migrated) config; throws an Error saying what is wrong. */
export function anomalySettings(cfg: AnomalyConfig): AnomalySettings {
  if (typeof cfg.modelDir !== "string" || cfg.modelDir.trim() === "") throw new Error("a model folder is required");
  const thr = String(cfg.threshold ?? "").trim();
  const method = cfg.calibrationMethod === "mean-std" ? "mean-std" : "percentile";
  const param = numberSetting(
    cfg.calibrationParam,
    method === "percentile" ? "percentile" : "k",
    0,
    method === "percentile" ? 100 : 100,
    false,
  );
  return {
    modelDir: cfg.modelDir.trim(),
    threshold: thr === "" ? undefined : numberSetting(thr, "threshold", 0, Number.MAX_VALUE, false),
    maxBatch: numberSetting(cfg.maxBatch, "max batch", 1, 4096, true),
    maxWaitMs: numberSetting(cfg.maxWaitMs, "max wait", 0, 10_000, true),
    calibration: cfg.calibrate
      ? {
          windows: numberSetting(cfg.calibrationWindows, "calibration windows", 2, 1_000_000, true),
          method: method === "percentile" ? { kind: "percentile", p: param } : { kind: "mean-std", k: param },
        }
      : undefined,
  };
}

/** The package root (dist/nodes/anomaly -> ../../..; nodes/anomaly in a source checkout -> ../..). */
export function packageRoot(from: string = __dirname): string {
  let dir = from;
  while (!fs.existsSync(path.join(dir, "package.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** An absolute folder as it is; a relative one in the user dir if it is there, else in the package. */
export function resolveModelDir(dir: string, userDir: string | undefined): string {
  if (path.isAbsolute(dir)) return dir;
  if (userDir) {
    const inUser = path.resolve(userDir, dir);
    if (fs.existsSync(inUser)) return inUser;
  }
  return path.resolve(packageRoot(), dir);
}
