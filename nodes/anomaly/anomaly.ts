/**
 * anomaly: scores the windows the features node emits (msg.window) with an LSTM autoencoder on
 * onnxruntime-node in a worker thread. Thin glue: scoring in lib/inference/anomaly.ts.
 *
 * Input:  msg.window = { source, tags, data: T x tags } or an array of them; msg.payload = the
 *         record(s) they belong to (as the features node sends them). msg.calibrate = true
 *         restarts calibration.
 * Output 1: the msg with msg.anomaly = [{ source, score, threshold, anomaly, contributions, model }]
 *         and each result also on the last record of its source in msg.payload (record.anomaly).
 * Output 2: windows that could not be scored: msg.rejected = [{ index, code, reason, source }].
 */
import fs from "node:fs";
import path from "node:path";
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { AnomalyScorer, Calibrator, WindowInput, readModelDir } from "../../lib/inference/anomaly";
import { LineGuardError, errorMessage } from "../../lib/errors";
import { AnomalyResult, isPlainObject } from "../../lib/record";
import { errorReason } from "../../lib/metrics";
import { Send, onInput } from "../shared/input";
import { metricsRoute, nodeMetrics } from "../shared/metrics";
import { StatusThrottle, statusBusy, statusError, statusOk } from "../shared/status";
import { anomalyConfig, anomalySettings, resolveModelDir } from "./config";
import type { AnomalyConfig } from "./types";

interface Scored extends AnomalyResult {
  source: string;
}

export = function (RED: NodeAPI): void {
  metricsRoute(RED);

  function AnomalyNode(this: Node, def: NodeDef & Partial<AnomalyConfig>): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: NodeDef & Partial<AnomalyConfig>): void {
    const fail = (text: string): void => {
      node.status(statusError(text));
      node.error(text);
      onInput(node, () => {
        throw new Error(text);
      });
    };

    let settings: ReturnType<typeof anomalySettings>;
    let scorer: AnomalyScorer;
    const userDir = (RED.settings as { userDir?: string }).userDir;
    try {
      settings = anomalySettings(anomalyConfig(def));
      scorer = new AnomalyScorer(readModelDir(resolveModelDir(settings.modelDir, userDir)), {
        maxBatch: settings.maxBatch,
        maxWaitMs: settings.maxWaitMs,
        ...(settings.threshold !== undefined ? { threshold: settings.threshold } : {}),
      });
    } catch (err) {
      fail(`${RED._("anomaly.errors.setup")}: ${errorMessage(err)}`);
      return;
    }

    // A calibrated threshold survives restarts: <userDir>/lineguard/anomaly-<node id>.json.
    const thresholdFile = userDir ? path.join(userDir, "lineguard", `anomaly-${node.id}.json`) : undefined;
    let calibrator: Calibrator | undefined;
    const startCalibration = (): void => {
      calibrator = settings.calibration
        ? new Calibrator(settings.calibration.windows, settings.calibration.method)
        : undefined;
    };
    if (settings.calibration) {
      const saved = readThreshold(thresholdFile);
      if (saved !== undefined && settings.threshold === undefined) scorer.threshold = saved;
      else startCalibration();
    }

    const status = new StatusThrottle(node, 500);
    let loadError: string | undefined;
    let scored = 0;
    let anomalies = 0;
    const render = (): void => {
      if (loadError) status.set(statusError(loadError));
      else if (calibrator)
        status.set(statusBusy(RED._("anomaly.status.calibrating", { n: calibrator.count, of: calibrator.target })));
      else
        status.set(
          statusOk(RED._("anomaly.status.ready", { threshold: scorer.threshold.toPrecision(3), anomalies, scored })),
        );
    };
    node.status(statusBusy(RED._("anomaly.status.loading")));
    const loaded = scorer.load().then(
      () => render(),
      (err: unknown) => {
        loadError = errorMessage(err);
        node.error(`${RED._("anomaly.errors.load")}: ${loadError}`);
        render();
      },
    );

    const metrics = nodeMetrics(RED, node, "anomaly");
    onInput(node, async (msg: NodeMessageInFlow, send: Send) => {
      await loaded;
      const raw = msg.window;
      const windows: unknown[] = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
      // Metrics count windows; a message without any counts as one rejected input.
      metrics.recordsIn(Math.max(windows.length, 1));
      if (loadError) {
        metrics.rejected(Math.max(windows.length, 1), "model-load");
        throw new LineGuardError("model-load", loadError);
      }
      if (msg.calibrate === true && settings.calibration) startCalibration();
      if (windows.length === 0) {
        metrics.rejected(1, "no-window");
        throw new Error(RED._("anomaly.errors.noWindow"));
      }

      const t0 = performance.now();
      const settled = await Promise.allSettled(
        windows.map((w) => {
          if (!isPlainObject(w)) return Promise.reject(new LineGuardError("bad-window", "a window must be an object"));
          return scorer.score(w as unknown as WindowInput);
        }),
      );
      const results: Scored[] = [];
      const rejected: Array<{ index: number; code: string; reason: string; source?: string }> = [];
      settled.forEach((r, i) => {
        const source = String((windows[i] as { source?: unknown } | null)?.source ?? msg.topic ?? "");
        if (r.status === "fulfilled") results.push({ source, ...r.value });
        else {
          const e = r.reason as { code?: string; message?: string };
          rejected.push({ index: i, code: e.code ?? "error", reason: e.message ?? String(r.reason), source });
          metrics.rejected(1, errorReason(r.reason));
        }
      });
      if (results.length > 0) metrics.inferenceLatency((performance.now() - t0) / 1000);
      metrics.recordsOut(results.length);

      for (const r of results) {
        scored++;
        if (calibrator) {
          const thr = calibrator.add(r.score);
          if (thr !== undefined) {
            scorer.threshold = thr;
            calibrator = undefined;
            writeThreshold(thresholdFile, thr);
            node.log(RED._("anomaly.log.calibrated", { threshold: thr }));
          }
          r.anomaly = false;
          r.threshold = scorer.threshold;
        } else if (r.anomaly) anomalies++;
      }
      attachToRecords(msg.payload, results);
      const outs: Array<NodeMessage | null> = [null, null];
      if (results.length > 0) outs[0] = Object.assign(msg, { anomaly: results });
      if (rejected.length > 0) {
        outs[1] = { topic: msg.topic, payload: rejected.map((r) => windows[r.index]), rejected } as NodeMessage;
      }
      send(outs);
      render();
      if (rejected.length > 0) {
        const first = rejected[0]!;
        throw new LineGuardError(
          "bad-window",
          `${rejected.length}/${windows.length} window(s) not scored: [${first.index}] ${first.reason}`,
        );
      }
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      status.stop();
      scorer.close().then(done, done);
    });
  }

  RED.nodes.registerType("anomaly", AnomalyNode);
};

/** Put each result on the last record of its source in msg.payload (a record or a batch). */
function attachToRecords(payload: unknown, results: Scored[]): void {
  const records = Array.isArray(payload) ? payload : [payload];
  for (const r of results) {
    for (let i = records.length - 1; i >= 0; i--) {
      const rec = records[i];
      if (isPlainObject(rec) && (rec.source === r.source || (rec.source === undefined && records.length === 1))) {
        const { source: _s, ...result } = r;
        rec.anomaly = result;
        break;
      }
    }
  }
}

function readThreshold(file: string | undefined): number | undefined {
  if (!file || !fs.existsSync(file)) return undefined;
  try {
    const t = (JSON.parse(fs.readFileSync(file, "utf8")) as { threshold?: unknown }).threshold;
    return typeof t === "number" && Number.isFinite(t) ? t : undefined;
  } catch {
    return undefined;
  }
}

function writeThreshold(file: string | undefined, threshold: number): void {
  if (!file) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ threshold, calibratedAt: new Date().toISOString() }, null, 2));
}
