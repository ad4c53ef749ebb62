/**
 * Evaluate a CNC LSTM-autoencoder model folder on a generated holdout, through the same code the
 * anomaly node runs (lib/inference/anomaly.ts, onnxruntime-node in a worker thread).
 *
 *   node dist/models/lstm-ae-cnc/evaluate.js [modelDir] [--hours 3] [--seed 1000] [--calibrate 99.9] [--val-seed 500]
 *
 * For each failure pattern: a fleet of 3 machines (seeds unlike training's), the failure injected on
 * cnc-01 after 1 h with a 30 min ramp, 1 Hz, windows every 4 samples. Reported:
 * - ROC AUC: positives = windows whose last sample has the failure at severity >= 0.3, negatives =
 *   windows with no failure (all machines); windows in the early onset (0 < severity < 0.3) count in
 *   neither (they are reported separately as AUC incl. onset);
 * - detection delay: seconds from the injection to the first of 3 consecutive windows above the
 *   threshold on that machine, and the severity then;
 * - false alarm rate: share of negative windows above the threshold.
 * Windows that touch a maintenance stop (state tag = maintenance) count as neither: the state is
 * known to the flow, which does not alarm on a machine under maintenance.
 * Writes <modelDir>/report.json and report.md.
 *
 * --calibrate P first sets the manifest's threshold to the P-th percentile of window scores on a
 * separate validation run (normal operation only, 3 machines, 6 h, seed --val-seed, default 500),
 * never on the holdout: training-window scores are in-sample and too low for a threshold.
 *
 * The evaluation itself is shared with the glass model: models/common/evaluate-lib.ts.
 */
import { CncFleet, CncValues, FAILURE_TYPES, FailureType } from "../../lib/sim/cnc/model";
import { EvaluateSpec, evaluateModel, parseCli, runMain } from "../common/evaluate-lib";

const STRIDE = 4;

const spec: EvaluateSpec<FailureType, CncValues> = {
  model: "lstm-ae-cnc",
  units: "machines",
  target: "cnc-01",
  failureTypes: FAILURE_TYPES,
  holdout: (seed) => new CncFleet({ machines: 3, seed, labels: true, maintenanceSeconds: 600 }),
  excluded: (values) => values.state === "maintenance",
  validation: () => ({
    hours: 6,
    stride: STRIDE,
    group: (seed) => new CncFleet({ machines: 3, seed }),
    source: (p, n, seed) =>
      `p${p} of ${n} window scores on a validation run (normal operation, 3 machines, 6 h, seed ${seed})`,
  }),
  excludedText: `Windows touching a maintenance stop (state = maintenance) are left out of AUC and false alarms.`,
};

runMain("evaluate", () => evaluateModel(spec, parseCli(process.argv.slice(2), __dirname, spec.model)));
