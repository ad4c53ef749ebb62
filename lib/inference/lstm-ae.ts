/**
 * LSTM-autoencoder anomaly scoring, the parts that are plain math: the model manifest, the check
 * that a model fits it, packing windows into one batch tensor, reconstruction error with
 * per-feature contributions, and threshold calibration. No Node-RED and no onnxruntime here.
 *
 * manifest.json (next to model.onnx):
 *   { "name": "lstm-ae-cnc", "version": "1.0.0",
 *     "features": ["spindle_load", "vibration_rms", ...],   // input order
 *     "window": 32,                                        // T samples per window
 *     "scaler": { "mean": [...], "std": [...] },           // per feature, applied before the model
 *     "threshold": 0.42,                                   // on the window score (mean squared error)
 *     "input": "input", "output": "output" }               // tensor names (optional: first ones)
 */
import { LineGuardError } from "../errors";
import type { IoMeta, ModelInfo } from "./protocol";

export interface AeManifest {
  name: string;
  version: string;
  features: string[];
  window: number;
  scaler: { mean: number[]; std: number[] };
  threshold: number;
  input?: string;
  output?: string;
}

function bad(msg: string): LineGuardError {
  return new LineGuardError("bad-manifest", `manifest: ${msg}`);
}

const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Validate a parsed manifest.json; throws LineGuardError("bad-manifest") saying what is wrong. */
export function parseManifest(raw: unknown): AeManifest {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw bad("must be a JSON object");
  const m = raw as Record<string, unknown>;
  const features = m.features;
  if (!Array.isArray(features) || features.length === 0 || !features.every((f) => typeof f === "string" && f !== "")) {
    throw bad("features must be a non-empty list of tag names");
  }
  if (new Set(features).size !== features.length) throw bad("features must not repeat");
  if (!Number.isInteger(m.window) || (m.window as number) < 1) throw bad("window must be a positive integer");
  const scaler = m.scaler as Record<string, unknown> | undefined;
  const mean = scaler?.mean;
  const std = scaler?.std;
  if (
    !Array.isArray(mean) ||
    !Array.isArray(std) ||
    mean.length !== features.length ||
    std.length !== features.length
  ) {
    throw bad(`scaler.mean and scaler.std must have one number per feature (${features.length})`);
  }
  if (!mean.every(finite) || !std.every((s) => finite(s) && s > 0)) {
    throw bad("scaler.mean must be finite numbers and scaler.std positive numbers");
  }
  if (!finite(m.threshold) || m.threshold < 0) throw bad("threshold must be a number >= 0");
  const out: AeManifest = {
    name: typeof m.name === "string" ? m.name : "model",
    version: typeof m.version === "string" ? m.version : "0",
    features: features as string[],
    window: m.window as number,
    scaler: { mean: mean as number[], std: std as number[] },
    threshold: m.threshold,
  };
  if (typeof m.input === "string") out.input = m.input;
  if (typeof m.output === "string") out.output = m.output;
  return out;
}

function dimOk(d: number | string | undefined, want: number): boolean {
  return d === undefined || typeof d === "string" || d < 0 || d === want;
}

/**
 * Check that the model's input and output fit the manifest: rank 3, [batch, window, features].
 * Returns the tensor names to use; throws LineGuardError("model-shape") on a mismatch.
 */
export function checkModel(info: ModelInfo, m: AeManifest): { input: string; output: string } {
  const pick = (list: IoMeta[], name: string | undefined, what: string): IoMeta => {
    const io = name ? list.find((x) => x.name === name) : list[0];
    if (!io) {
      throw new LineGuardError(
        "model-shape",
        `the model has no ${what} ${name ? `named "${name}"` : ""} (it has: ${list.map((x) => x.name).join(", ") || "none"})`,
      );
    }
    return io;
  };
  const input = pick(info.inputs, m.input, "input");
  const output = pick(info.outputs, m.output, "output");
  for (const [io, what] of [
    [input, "input"],
    [output, "output"],
  ] as const) {
    const s = io.shape;
    if (!s) continue;
    if (s.length !== 3 || !dimOk(s[1], m.window) || !dimOk(s[2], m.features.length)) {
      throw new LineGuardError(
        "model-shape",
        `model ${what} "${io.name}" has shape [${s.join(", ")}], the manifest needs [batch, ${m.window}, ${m.features.length}]`,
      );
    }
    if (io.type && io.type !== "float32" && io.type !== "tensor(float)") {
      throw new LineGuardError("model-shape", `model ${what} "${io.name}" is ${io.type}, float32 is needed`);
    }
  }
  return { input: input.name, output: output.name };
}

/** One window: T rows of F values, oldest first, in the manifest's feature order. */
export type Window = ArrayLike<ArrayLike<number>>;

/**
 * Pack one window (T rows of F values in the manifest's order) into `out` at `offset`, standardised
 * with the manifest's scaler; throws LineGuardError("bad-window") on a wrong size or a non-finite
 * value. Returns `out`.
 */
export function packWindow(
  w: Window,
  m: AeManifest,
  out = new Float32Array(m.window * m.features.length),
  offset = 0,
  n = 0,
): Float32Array {
  const T = m.window;
  const F = m.features.length;
  const { mean, std } = m.scaler;
  if (w.length !== T)
    throw new LineGuardError("bad-window", `window ${n} has ${w.length} samples, the model needs ${T}`);
  for (let t = 0; t < T; t++) {
    const row = w[t]!;
    if (row.length !== F) {
      throw new LineGuardError(
        "bad-window",
        `window ${n} sample ${t} has ${row.length} features, the model needs ${F}`,
      );
    }
    const base = offset + t * F;
    for (let f = 0; f < F; f++) {
      const v = row[f]!;
      if (!Number.isFinite(v)) {
        throw new LineGuardError("bad-window", `window ${n} sample ${t} feature ${m.features[f]} is not finite`);
      }
      out[base + f] = (v - mean[f]!) / std[f]!;
    }
  }
  return out;
}

/**
 * Pack N windows into one [N, T, F] float32 tensor, standardised with the manifest's scaler.
 * Throws LineGuardError("bad-window") when a window's size differs or holds a non-finite value.
 */
export function packWindows(windows: readonly Window[], m: AeManifest): Float32Array {
  const T = m.window;
  const F = m.features.length;
  const out = new Float32Array(windows.length * T * F);
  windows.forEach((w, n) => packWindow(w, m, out, n * T * F, n));
  return out;
}

export interface WindowScore {
  /** Mean squared reconstruction error over the window (standardised units). */
  score: number;
  /** Share of the squared error per feature (sums to 1 when score > 0), by feature name. */
  contributions: Record<string, number>;
}

/** Reconstruction error per window, from the packed input and the model's output (same layout). */
export function scoreWindows(input: Float32Array, output: ArrayLike<number>, n: number, m: AeManifest): WindowScore[] {
  const T = m.window;
  const F = m.features.length;
  if (output.length !== n * T * F) {
    throw new LineGuardError(
      "model-shape",
      `model output has ${output.length} values, expected ${n * T * F} (${n} x ${T} x ${F})`,
    );
  }
  const res: WindowScore[] = [];
  const perF = new Float64Array(F);
  for (let k = 0; k < n; k++) {
    perF.fill(0);
    let total = 0;
    for (let t = 0; t < T; t++) {
      const base = (k * T + t) * F;
      for (let f = 0; f < F; f++) {
        const d = input[base + f]! - Number(output[base + f]);
        perF[f] += d * d;
        total += d * d;
      }
    }
    const contributions: Record<string, number> = {};
    m.features.forEach((name, f) => {
      contributions[name] = total > 0 ? perF[f]! / total : 0;
    });
    res.push({ score: total / (T * F), contributions });
  }
  return res;
}

export type CalibrationMethod = { kind: "percentile"; p: number } | { kind: "mean-std"; k: number };

/** A threshold from scores of normal windows: a percentile (0..100) or mean + k * std. */
export function calibrateThreshold(scores: readonly number[], method: CalibrationMethod): number {
  const xs = scores.filter((s) => Number.isFinite(s));
  if (xs.length === 0) throw new LineGuardError("calibration", "no finite scores to calibrate on");
  if (method.kind === "percentile") {
    if (!(method.p >= 0 && method.p <= 100))
      throw new LineGuardError("calibration", "percentile must be within 0..100");
    const s = [...xs].sort((a, b) => a - b);
    const pos = (method.p / 100) * (s.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
  }
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) * (b - mean), 0) / xs.length;
  return mean + method.k * Math.sqrt(variance);
}
