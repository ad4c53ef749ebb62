/**
 * AnomalyScorer: an LSTM autoencoder (model.onnx + manifest.json in one folder) scoring windows
 * of many sources in shared worker-thread runs.
 *
 * A window comes from the features node (msg.window): { source, tags: [...], data: T x tags }.
 * Its columns are picked in the manifest's feature order; extra tags are ignored, a missing one
 * is an error that names it.
 */
import fs from "node:fs";
import path from "node:path";
import { LineGuardError } from "../errors";
import type { AnomalyResult } from "../record";
import { MicroBatcher } from "./batcher";
import { AeManifest, CalibrationMethod, calibrateThreshold, checkModel, parseManifest, scoreWindows } from "./lstm-ae";
import { WorkerSession } from "./worker-session";

export interface WindowInput {
  source: string;
  tags: string[];
  /** T rows (oldest first) of one value per tag. */
  data: number[][];
}

export interface ModelDir {
  dir: string;
  modelPath: string;
  manifest: AeManifest;
}

/** Read <dir>/manifest.json and find <dir>/model.onnx (or the manifest's "model" file name). */
export function readModelDir(dir: string): ModelDir {
  const mf = path.join(dir, "manifest.json");
  if (!fs.existsSync(mf)) throw new LineGuardError("model-missing", `no manifest.json in ${dir}`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(mf, "utf8"));
  } catch (err) {
    throw new LineGuardError("bad-manifest", `manifest.json is not valid JSON: ${(err as Error).message}`);
  }
  const manifest = parseManifest(raw);
  const file =
    raw && typeof (raw as { model?: unknown }).model === "string" ? (raw as { model: string }).model : "model.onnx";
  const modelPath = path.resolve(dir, file);
  if (!fs.existsSync(modelPath)) throw new LineGuardError("model-missing", `model file not found: ${modelPath}`);
  return { dir, modelPath, manifest };
}

/** The window's columns in the manifest's order, the last T rows; throws with the reason. */
export function alignWindow(w: WindowInput, m: AeManifest): number[][] {
  if (!w || !Array.isArray(w.tags) || !Array.isArray(w.data)) {
    throw new LineGuardError("bad-window", "a window needs tags (list) and data (rows of values)");
  }
  const cols = m.features.map((f) => w.tags.indexOf(f));
  const missing = m.features.filter((_, i) => cols[i]! < 0);
  if (missing.length > 0) {
    throw new LineGuardError(
      "bad-window",
      `window of ${w.source} lacks feature(s) the model needs: ${missing.join(", ")}`,
    );
  }
  if (w.data.length < m.window) {
    throw new LineGuardError(
      "bad-window",
      `window of ${w.source} has ${w.data.length} samples, the model needs ${m.window}`,
    );
  }
  const rows = w.data.slice(w.data.length - m.window);
  return rows.map((row, t) => {
    if (!Array.isArray(row)) throw new LineGuardError("bad-window", `window of ${w.source}: sample ${t} is not a list`);
    return cols.map((c) => row[c] as number);
  });
}

/**
 * alignWindow + packWindow in one pass, without intermediate arrays: the window's last T rows, the
 * manifest's features in order, standardised, as [T x F] float32. Throws with the reason.
 */
export function packAligned(w: WindowInput, m: AeManifest): Float32Array {
  if (!w || !Array.isArray(w.tags) || !Array.isArray(w.data)) {
    throw new LineGuardError("bad-window", "a window needs tags (list) and data (rows of values)");
  }
  const T = m.window;
  const F = m.features.length;
  const cols = m.features.map((f) => w.tags.indexOf(f));
  if (cols.some((c) => c < 0)) alignWindow(w, m); // throws naming the missing features
  if (w.data.length < T) {
    throw new LineGuardError("bad-window", `window of ${w.source} has ${w.data.length} samples, the model needs ${T}`);
  }
  const { mean, std } = m.scaler;
  const out = new Float32Array(T * F);
  const first = w.data.length - T;
  for (let t = 0; t < T; t++) {
    const row = w.data[first + t];
    if (!Array.isArray(row)) throw new LineGuardError("bad-window", `window of ${w.source}: sample ${t} is not a list`);
    for (let f = 0; f < F; f++) {
      const v = row[cols[f]!] as number;
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new LineGuardError("bad-window", `window ${w.source} sample ${t} feature ${m.features[f]} is not finite`);
      }
      out[t * F + f] = (v - mean[f]!) / std[f]!;
    }
  }
  return out;
}

export interface ScorerOptions {
  maxBatch?: number;
  maxWaitMs?: number;
  intraOpThreads?: number;
  /** Overrides the manifest's threshold. */
  threshold?: number;
}

export class AnomalyScorer {
  readonly manifest: AeManifest;
  private readonly session: WorkerSession;
  /** Windows travel packed: [T x F] float32, standardised, in the manifest's feature order. */
  private readonly batcher: MicroBatcher<Float32Array, { score: number; contributions: Record<string, number> }>;
  private names: { input: string; output: string } | undefined;
  threshold: number;
  /** Inference time of the last run (ms, inside the worker). */
  lastRunMs = 0;
  runs = 0;

  constructor(
    readonly model: ModelDir,
    opts: ScorerOptions = {},
  ) {
    this.manifest = model.manifest;
    this.threshold = opts.threshold ?? model.manifest.threshold;
    this.session = new WorkerSession(model.modelPath, { intraOpThreads: opts.intraOpThreads ?? 1 });
    // Two batches in flight: the next one is packed while the worker computes the current one.
    this.batcher = new MicroBatcher((ws) => this.runBatch(ws), opts.maxBatch ?? 64, opts.maxWaitMs ?? 5, 2);
  }

  /** Load the model in its worker and check it against the manifest (throws on a mismatch). */
  async load(): Promise<void> {
    const info = await this.session.load();
    this.names = checkModel(info, this.manifest);
  }

  private async runBatch(
    windows: Float32Array[],
  ): Promise<Array<{ score: number; contributions: Record<string, number> }>> {
    if (!this.names) await this.load();
    const names = this.names!;
    const T = this.manifest.window;
    const F = this.manifest.features.length;
    const x = new Float32Array(windows.length * T * F);
    windows.forEach((w, i) => x.set(w, i * T * F));
    // The input is copied to the worker (not transferred): it is needed here for the scores.
    const { outputs, ms } = await this.session.run(
      { [names.input]: { type: "float32", data: x, dims: [windows.length, T, F] } },
      undefined,
      true,
    );
    this.lastRunMs = ms;
    this.runs++;
    const out = outputs[names.output];
    if (!out) throw new LineGuardError("model-shape", `the model returned no output "${names.output}"`);
    return scoreWindows(x, out.data as Float32Array, windows.length, this.manifest);
  }

  /** Score one window (shares a run with the windows of other callers). */
  async score(w: WindowInput): Promise<AnomalyResult> {
    // Align, standardise and check this window alone, so a bad one fails only its own caller.
    const packed = packAligned(w, this.manifest);
    const r = await this.batcher.add(packed);
    return {
      score: r.score,
      threshold: this.threshold,
      anomaly: r.score > this.threshold,
      contributions: r.contributions,
      model: `${this.manifest.name}@${this.manifest.version}`,
    };
  }

  async close(): Promise<void> {
    this.batcher.close();
    await this.session.close();
  }
}

/** Collects scores of normal windows and yields a threshold once it has `target` of them. */
export class Calibrator {
  private scores: number[] = [];
  constructor(
    readonly target: number,
    readonly method: CalibrationMethod,
  ) {}

  get count(): number {
    return this.scores.length;
  }

  /** Add a score; returns the threshold when the target is reached, else undefined. */
  add(score: number): number | undefined {
    if (this.scores.length >= this.target) return undefined;
    this.scores.push(score);
    return this.scores.length === this.target ? calibrateThreshold(this.scores, this.method) : undefined;
  }
}
