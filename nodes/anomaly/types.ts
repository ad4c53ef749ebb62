/** anomaly: settings shared by the runtime and the editor (types only). */
export type CalibrationMethodName = "percentile" | "mean-std";

export interface AnomalyConfig {
  name: string;
  /**
   * Folder with model.onnx + manifest.json. Relative paths are looked up in the Node-RED user dir,
   * then in the package (the shipped models, e.g. "models/lstm-ae-cnc").
   */
  modelDir: string;
  /** Threshold override; "" uses the manifest's (or the calibrated) threshold. */
  threshold: string;
  /** Windows per inference run at most, and how long the first one waits for company (ms). */
  maxBatch: number | string;
  maxWaitMs: number | string;
  /** Calibrate the threshold on the first N windows after deploy (taken as normal), then persist it. */
  calibrate: boolean;
  calibrationWindows: number | string;
  calibrationMethod: CalibrationMethodName;
  /** Percentile (e.g. 99.5) or k of mean + k * std. */
  calibrationParam: number | string;
  version: number;
}
