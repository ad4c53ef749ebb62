/**
 * Shared evaluation tooling for the LSTM-autoencoder models (models/lstm-ae-cnc, models/lstm-ae-glass):
 * command-line helpers, ROC AUC and percentiles, window scoring through the same code the anomaly node
 * runs (lib/inference/anomaly.ts, onnxruntime-node in a worker thread) and the holdout evaluation with
 * its report (report.json / report.md), parameterised by the simulator of each line.
 */
import fs from "node:fs";
import path from "node:path";
import { AnomalyScorer, readModelDir } from "../../lib/inference/anomaly";
import { calibrateThreshold } from "../../lib/inference/lstm-ae";
import type { FailureLabels } from "../../lib/sim/common/model";

// ---------------------------------------------------------------------------------------------
// Command line

export interface Cli {
  /** The raw arguments (after the script name). */
  readonly args: string[];
  /** The model folder: the first argument unless it is an option, else models/<model> of the repo. */
  readonly modelDir: string;
  /** Value of `--name`, or `d` when absent (or last without a value). */
  opt(name: string, d: string): string;
  /** True when `--name` is among the arguments. */
  has(name: string): boolean;
}

/**
 * Parse `[modelDir] [--name value ...]`. `scriptDir` is the compiled script's __dirname
 * (dist/models/<model>), from which the repo's models/<model> is found.
 */
export function parseCli(argv: string[], scriptDir: string, model: string): Cli {
  const args = [...argv];
  const opt = (name: string, d: string): string => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] ? args[i + 1]! : d;
  };
  const modelDir = path.resolve(
    args[0] && !args[0].startsWith("--") ? args[0] : path.join(scriptDir, "..", "..", "..", "models", model),
  );
  return { args, modelDir, opt, has: (name) => args.includes(`--${name}`) };
}

/** Run an async main; on failure print "<label> failed: <stack>" and exit 1. */
export function runMain(label: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${label} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}

/** Write `value` as 2-space indented JSON with a final newline. */
export function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + "\n");
}

// ---------------------------------------------------------------------------------------------
// Statistics

/** ROC AUC by the rank statistic (ties get half credit). */
export function rocAuc(pos: number[], neg: number[]): number {
  if (pos.length === 0 || neg.length === 0) return NaN;
  const all = [...pos.map((s) => ({ s, p: 1 })), ...neg.map((s) => ({ s, p: 0 }))].sort((a, b) => a.s - b.s);
  let rankSum = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j]!.s === all[i]!.s) j++;
    const avgRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k]!.p === 1) rankSum += avgRank;
    i = j;
  }
  return (rankSum - (pos.length * (pos.length + 1)) / 2) / (pos.length * neg.length);
}

/** The p-th percentile by the nearest lower rank (NaN for no values). */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * (s.length - 1)))]!;
}

// ---------------------------------------------------------------------------------------------
// Window scoring

/** The sample's values of `features`, in that order, as numbers. */
export function featureRow(values: object, features: readonly string[]): number[] {
  return features.map((f) => Number((values as Record<string, unknown>)[f]));
}

/** Score one window (rows copied) through the anomaly node's scorer. */
export async function scoreWindow(scorer: AnomalyScorer, source: string, rows: readonly number[][]): Promise<number> {
  const r = await scorer.score({ source, tags: scorer.manifest.features, data: rows.map((x) => [...x]) });
  return r.score;
}

/**
 * Scoring requests in flight, awaited in batches of `limit` (keeps memory flat on long runs while the
 * scorer's micro-batcher stays full). Results keep the order the requests were added.
 */
export class InFlight<T> {
  private pending: Array<Promise<T>> = [];
  private readonly done: T[] = [];

  constructor(private readonly limit = 2048) {}

  add(p: Promise<T>): void {
    this.pending.push(p);
  }

  /** Await the requests in flight once there are `limit` of them. */
  async drainIfFull(): Promise<void> {
    if (this.pending.length >= this.limit) this.done.push(...(await Promise.all(this.pending.splice(0))));
  }

  /** Await everything and return all results (and start empty again). */
  async all(): Promise<T[]> {
    this.done.push(...(await Promise.all(this.pending.splice(0))));
    return this.done.splice(0);
  }
}

// ---------------------------------------------------------------------------------------------
// Holdout evaluation

/** One sample of a simulator unit (a CNC machine, a glass line). */
export interface SimSample<F extends string, V extends object> {
  id: string;
  values: V;
  labels?: FailureLabels<F>;
}

/** A simulated fleet or plant, stepped at 1 Hz. */
export interface SimGroup<F extends string, V extends object> {
  step(dtMs: number): SimSample<F, V>[];
  get(id: string): { inject(type: F, rampSeconds: number): void };
}

export interface Validation<F extends string, V extends object> {
  hours: number;
  /** A window every `stride` samples. */
  stride: number;
  /** A normal-operation simulator for this seed. */
  group(seed: number): SimGroup<F, V>;
  /** The manifest's thresholdSource for percentile p of n scores. */
  source(p: number, n: number, seed: number): string;
}

export interface EvaluateSpec<F extends string, V extends object> {
  /** Model folder name: the default model dir and the `node dist/models/<model>/evaluate.js` line. */
  model: string;
  /** Plural of the simulator unit in the report ("machines", "lines"); also the holdout's key. */
  units: string;
  /** The unit the failure is injected on. */
  target: string;
  failureTypes: readonly F[];
  /** The holdout simulator (3 units, labels on) for a seed. */
  holdout(seed: number): SimGroup<F, V>;
  /** The sample is outside normal operation as the flow knows it (maintenance...): windows touching it are left out. */
  excluded(values: V): boolean;
  /** The validation run of --calibrate (the options are read here). */
  validation(cli: Cli): Validation<F, V>;
  /** report.md's sentence on the left-out windows. */
  excludedText: string;
}

const STRIDE = 4;
const SEV_MIN = 0.3;
const INJECT_S = 3600;
const RAMP_S = 1800;

interface Win {
  unit: string;
  /** Some sample of the window was excluded (maintenance, restart: the state tag says so). */
  excluded: boolean;
  t: number;
  severity: number;
  failing: boolean;
  score: number;
}

async function runPattern<F extends string, V extends object>(
  spec: EvaluateSpec<F, V>,
  scorer: AnomalyScorer,
  type: F,
  seed: number,
  hours: number,
): Promise<Win[]> {
  const m = scorer.manifest;
  const group = spec.holdout(seed);
  const T = m.window;
  const hist = new Map<string, { rows: number[][]; sev: number[]; fail: boolean[]; excl: boolean[] }>();
  const inFlight = new InFlight<Win>();
  const steps = hours * 3600;
  for (let i = 0; i < steps; i++) {
    if (i === INJECT_S) group.get(spec.target).inject(type, RAMP_S);
    for (const s of group.step(1000)) {
      let h = hist.get(s.id);
      if (!h) hist.set(s.id, (h = { rows: [], sev: [], fail: [], excl: [] }));
      h.excl.push(spec.excluded(s.values));
      h.rows.push(featureRow(s.values, m.features));
      const failing = s.labels?.failure_type === type && (s.labels?.severity ?? 0) > 0;
      h.sev.push(failing ? (s.labels?.severity ?? 0) : 0);
      h.fail.push(failing);
      if (h.rows.length > T) {
        h.rows.shift();
        h.sev.shift();
        h.fail.shift();
        h.excl.shift();
      }
      if (h.rows.length === T && i % STRIDE === 0) {
        const w = {
          unit: s.id,
          excluded: h.excl.some(Boolean),
          t: i,
          severity: h.sev[T - 1]!,
          failing: h.fail[T - 1]!,
        };
        inFlight.add(scoreWindow(scorer, s.id, h.rows).then((score) => ({ ...w, score })));
      }
    }
    await inFlight.drainIfFull();
  }
  return inFlight.all();
}

/** Scores of every `stride`-th window of a normal-only run (validation data for the threshold). */
async function normalScores<F extends string, V extends object>(
  scorer: AnomalyScorer,
  group: SimGroup<F, V>,
  hours: number,
  stride: number,
): Promise<number[]> {
  const m = scorer.manifest;
  const hist = new Map<string, number[][]>();
  const inFlight = new InFlight<number>();
  for (let i = 0; i < hours * 3600; i++) {
    for (const s of group.step(1000)) {
      let h = hist.get(s.id);
      if (!h) hist.set(s.id, (h = []));
      h.push(featureRow(s.values, m.features));
      if (h.length > m.window) h.shift();
      if (h.length === m.window && i % stride === 0) inFlight.add(scoreWindow(scorer, s.id, h));
    }
    await inFlight.drainIfFull();
  }
  return inFlight.all();
}

/**
 * Evaluate a model folder on a generated holdout (options --hours 3, --seed 1000; --calibrate P with
 * --val-seed 500 first sets the manifest's threshold from a validation run) and write report.json and
 * report.md into it. For each failure pattern: 3 units (seeds unlike training's), the failure injected
 * on the target after 1 h with a 30 min ramp, 1 Hz, windows every 4 samples. Reported: ROC AUC
 * (positives = windows at severity >= 0.3, negatives = windows without a failure; "incl. onset" counts
 * every failing window), detection delay (injection to the first of 3 consecutive windows above the
 * threshold, and the severity then), false alarm rate (negative windows above the threshold). Windows
 * touching an excluded sample count as neither.
 */
export async function evaluateModel<F extends string, V extends object>(
  spec: EvaluateSpec<F, V>,
  cli: Cli,
): Promise<void> {
  const { modelDir, opt } = cli;
  const HOURS = Number(opt("hours", "3"));
  const SEED = Number(opt("seed", "1000"));
  const model = readModelDir(modelDir);
  const scorer = new AnomalyScorer(model, { maxBatch: 256, maxWaitMs: 2 });
  await scorer.load();
  const calibrate = opt("calibrate", "");
  if (calibrate !== "") {
    const p = Number(calibrate);
    const valSeed = Number(opt("val-seed", "500"));
    const val = spec.validation(cli);
    const scores = await normalScores(scorer, val.group(valSeed), val.hours, val.stride);
    const threshold = calibrateThreshold(scores, { kind: "percentile", p });
    const file = path.join(modelDir, "manifest.json");
    const manifest = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    manifest.threshold = threshold;
    manifest.thresholdSource = val.source(p, scores.length, valSeed);
    writeJson(file, manifest);
    scorer.threshold = threshold;
    process.stdout.write(`threshold set to ${threshold.toFixed(4)} (p${p} of validation scores)\n`);
  }
  const thr = scorer.threshold;
  const report: Record<string, unknown> = {
    model: `${model.manifest.name}@${model.manifest.version}`,
    threshold: thr,
    holdout: {
      hours: HOURS,
      [spec.units]: 3,
      rateHz: 1,
      injectAtS: INJECT_S,
      rampS: RAMP_S,
      stride: STRIDE,
      severityMin: SEV_MIN,
    },
    patterns: {} as Record<string, unknown>,
  };
  const allPos: number[] = [];
  const allNeg: number[] = [];
  const lines: string[] = [];
  let k = 0;
  for (const type of spec.failureTypes) {
    const all = await runPattern(spec, scorer, type, SEED + k++, HOURS);
    // Windows that touch an excluded sample are neither normal operation nor the failure.
    const ws = all.filter((w) => !w.excluded);
    const pos = ws.filter((w) => w.failing && w.severity >= SEV_MIN).map((w) => w.score);
    const onset = ws.filter((w) => w.failing).map((w) => w.score);
    const neg = ws.filter((w) => !w.failing).map((w) => w.score);
    const failing = ws.filter((w) => w.unit === spec.target && w.t >= INJECT_S).sort((a, b) => a.t - b.t);
    let delay: number | undefined;
    let sevAt: number | undefined;
    for (let i = 0; i + 2 < failing.length; i++) {
      if (failing.slice(i, i + 3).every((w) => w.score > thr)) {
        delay = failing[i]!.t - INJECT_S;
        sevAt = failing[i]!.severity;
        break;
      }
    }
    const far = neg.filter((s) => s > thr).length / Math.max(1, neg.length);
    const r = {
      auc: rocAuc(pos, neg),
      aucInclOnset: rocAuc(onset, neg),
      positives: pos.length,
      negatives: neg.length,
      detectionDelayS: delay ?? null,
      severityAtDetection: sevAt ?? null,
      falseAlarmRate: far,
      maintenanceWindowsExcluded: all.length - ws.length,
    };
    (report.patterns as Record<string, unknown>)[type] = r;
    allPos.push(...pos);
    allNeg.push(...neg);
    lines.push(
      `| ${type} | ${r.auc.toFixed(3)} | ${r.aucInclOnset.toFixed(3)} | ${delay === undefined ? "not detected" : `${delay} s`} | ${sevAt === undefined ? "-" : sevAt.toFixed(2)} | ${(far * 100).toFixed(2)} % |`,
    );
    process.stdout.write(
      `${type}: AUC ${r.auc.toFixed(3)}, delay ${delay ?? "-"} s, false alarms ${(far * 100).toFixed(2)} %\n`,
    );
  }
  const overall = rocAuc(allPos, allNeg);
  report.overallAuc = overall;
  process.stdout.write(`overall AUC ${overall.toFixed(3)} (target >= 0.95)\n`);
  await scorer.close();
  writeJson(path.join(modelDir, "report.json"), report);
  const source = (
    JSON.parse(fs.readFileSync(path.join(modelDir, "manifest.json"), "utf8")) as { thresholdSource?: string }
  ).thresholdSource;
  const md = [
    `# ${report.model as string}: evaluation on a generated holdout`,
    "",
    `Produced by \`node dist/models/${spec.model}/evaluate.js\` (seed ${SEED}); threshold ${thr.toFixed(4)} from the manifest` +
      ` (${String(source ?? "set at training")}).`,
    `Holdout: 3 ${spec.units}, ${HOURS} h at 1 Hz per failure pattern, failure on ${spec.target} after ${INJECT_S / 60} min with a ${RAMP_S / 60} min ramp; windows every ${STRIDE} samples.`,
    `AUC: positives are windows at severity >= ${SEV_MIN}, negatives windows without a failure; "incl. onset" counts every failing window.`,
    `Delay: from the injection to the first of 3 consecutive windows above the threshold.`,
    spec.excludedText,
    "",
    "| failure | ROC AUC | AUC incl. onset | detection delay | severity then | false alarms |",
    "| --- | --- | --- | --- | --- | --- |",
    ...lines,
    "",
    `**Overall ROC AUC: ${overall.toFixed(3)}** (target >= 0.95)`,
    "",
  ].join("\n");
  fs.writeFileSync(path.join(modelDir, "report.md"), md);
}
