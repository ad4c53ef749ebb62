/**
 * Evaluate a glass-line LSTM-autoencoder model folder on a generated holdout, through the same code
 * the anomaly node runs (lib/inference/anomaly.ts, onnxruntime-node in a worker thread), with the
 * glass simulator (lib/sim/glass); the evaluation itself is shared with the CNC model
 * (models/common/evaluate-lib.ts).
 *
 *   node dist/models/lstm-ae-glass/evaluate.js [modelDir] [--hours 3] [--seed 1000] [--calibrate 99.999]
 *        [--val-lines 48] [--val-hours 3] [--val-stride 1] [--val-seed 500]
 *
 * For each failure pattern: a plant of 3 lines (seeds unlike training's), the failure injected on
 * glass-01 after 1 h with a 30 min ramp, 1 Hz, windows every 4 samples. Reported:
 * - ROC AUC: positives = windows whose last sample has the failure at severity >= 0.3, negatives =
 *   windows with no failure (all lines); windows in the early onset (0 < severity < 0.3) count in
 *   neither (they are reported separately as AUC incl. onset);
 * - detection delay: seconds from the injection to the first of 3 consecutive windows above the
 *   threshold on that line, and the severity then;
 * - false alarm rate: share of negative windows above the threshold.
 * Windows that touch a maintenance stop or the restart after it (line_state tag != 1 running) count
 * as neither: the state is known to the flow, which does not alarm on a line that is not running.
 * Writes <modelDir>/report.json and report.md.
 *
 * --calibrate P first sets the manifest's threshold to the P-th percentile of window scores on a
 * separate validation run (normal operation only, --val-lines lines (default 3), --val-hours h
 * (default 6), a window every --val-stride s (default 4), seed --val-seed, default 500), never on the
 * holdout: training-window scores are in-sample and too low for a threshold. build.sh uses p99.999 of
 * 48 lines x 3 h, every window: 48 furnaces the model has not seen (each has its own character) and
 * 432 firing reversals.
 */
import {
  GLASS_FAILURE_TYPES,
  GlassFailureType,
  GlassPlant,
  GlassValues,
  LINE_STATE_CODES,
} from "../../lib/sim/glass/model";
import { EvaluateSpec, evaluateModel, parseCli, runMain } from "../common/evaluate-lib";

const STRIDE = 4;

const spec: EvaluateSpec<GlassFailureType, GlassValues> = {
  model: "lstm-ae-glass",
  units: "lines",
  target: "glass-01",
  failureTypes: GLASS_FAILURE_TYPES,
  holdout: (seed) => new GlassPlant({ lines: 3, seed, labels: true }),
  excluded: (values) => values.line_state !== LINE_STATE_CODES.running,
  validation: ({ opt }) => {
    const hours = Number(opt("val-hours", "6"));
    const lines = Number(opt("val-lines", "3"));
    const stride = Number(opt("val-stride", String(STRIDE)));
    return {
      hours,
      stride,
      group: (seed) => new GlassPlant({ lines, seed }),
      source: (p, n, seed) =>
        `p${p} of ${n} window scores on a validation run (normal operation, ${lines} lines, ` +
        `${hours} h, windows every ${stride} s, ${lines * Math.floor((hours * 60) / 20)} firing reversals, seed ${seed})`,
    };
  },
  excludedText: `Windows touching a maintenance stop or the restart after it (line_state != 1) are left out of AUC and false alarms.`,
};

runMain("evaluate", () => evaluateModel(spec, parseCli(process.argv.slice(2), __dirname, spec.model)));
