/**
 * detect: YOLO defect/object detection on camera frames (onnxruntime-node in a worker thread, sharp for
 * decoding). Thin glue: detection in lib/inference/yolo.ts.
 *
 * Input:  msg.payload = a frame { source, ts, image: Buffer, width, height, format, ticket? } (camera in)
 *         or an encoded image Buffer (source = msg.topic).
 * Output: msg.payload = record { source, ts, values: { defects, <class>: count... }, detections: [...] },
 *         msg.topic = source, msg.frame = the input frame (optional), msg.annotated = JPEG with the boxes
 *         (optional).
 * Back-pressure: a frame's ticket is claimed on receipt and released when done (lib/camera/gate.ts);
 * while one frame is detected at most `queue` wait, the oldest is dropped (latest wins, counted).
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { claimFrame, releaseFrame } from "../../lib/camera/gate";
import { LineGuardError, errorMessage } from "../../lib/errors";
import type { FrameRecord } from "../../lib/record";
import { YoloDetector } from "../../lib/inference/yolo";
import { annotateImage } from "../../lib/inference/yolo/annotate";
import { errorReason } from "../../lib/metrics";
import { Send, onInput } from "../shared/input";
import { metricsRoute, nodeMetrics } from "../shared/metrics";
import { StatusThrottle, statusBusy, statusError, statusOk } from "../shared/status";
import { DetectSettings, detectConfig, detectSettings, resolveModel } from "./config";
import { detectionRecord, frameOf } from "./frame";
import type { DetectConfig } from "./types";

interface Job {
  msg: NodeMessageInFlow;
  send: Send;
  frame: FrameRecord;
  ticket: string | undefined;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export = function (RED: NodeAPI): void {
  metricsRoute(RED);

  function DetectNode(this: Node, def: NodeDef & Partial<DetectConfig>): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: NodeDef & Partial<DetectConfig>): void {
    let settings: DetectSettings;
    let modelPath: string;
    try {
      settings = detectSettings(detectConfig(def));
      modelPath = resolveModel(settings.model, (RED.settings as { userDir?: string }).userDir);
    } catch (err) {
      const text = `${RED._("detect.errors.setup")}: ${errorMessage(err)}`;
      node.status(statusError(text));
      node.error(text);
      onInput(node, () => {
        throw new Error(text);
      });
      return;
    }

    const status = new StatusThrottle(node, 500);
    const metrics = nodeMetrics(RED, node, "detect");
    let detector: YoloDetector | undefined;
    let loadError: string | undefined;
    let closed = false;
    let frames = 0;
    let drops = 0;
    let lastMs = 0;
    let lastCount = 0;
    const render = (): void => {
      if (loadError) status.set(statusError(loadError));
      else if (!detector) status.set(statusBusy(RED._("detect.status.loading")));
      else if (frames === 0) status.set(statusOk(RED._("detect.status.ready", { layout: detector.layout })));
      else {
        const text = RED._("detect.status.done", { n: lastCount, ms: lastMs.toFixed(0) });
        status.set(statusOk(drops > 0 ? `${text} · ${RED._("detect.status.drops", { drops })}` : text));
      }
    };
    node.status(statusBusy(RED._("detect.status.loading")));
    const loaded = YoloDetector.load(modelPath, {
      conf: settings.conf,
      iou: settings.iou,
      maxDetections: settings.maxDetections,
      intraOpThreads: settings.threads,
      ...(settings.classNames ? { classNames: settings.classNames } : {}),
    }).then(
      async (d) => {
        if (closed) {
          await d.close();
          return;
        }
        detector = d;
        render();
      },
      (err: unknown) => {
        loadError = `${RED._("detect.errors.load")}: ${errorMessage(err)}`;
        node.error(loadError);
        render();
      },
    );

    /** Claim a frame's ticket on receipt (camera in holds its next frame until we release it). */
    const claim = (ticket: unknown): string | undefined =>
      typeof ticket === "string" && claimFrame(ticket) ? ticket : undefined;
    const release = (ticket: string | undefined): void => {
      if (ticket !== undefined) releaseFrame(ticket);
    };

    const queue: Job[] = [];
    let running = false;

    const handle = async (job: Job): Promise<void> => {
      await loaded;
      if (loadError) throw new LineGuardError("model-load", loadError);
      if (!detector) throw new LineGuardError("closed", RED._("detect.errors.closed"));
      const res = await detector.detect(job.frame.image);
      const frame: FrameRecord = { ...job.frame, width: res.width, height: res.height };
      const out = job.msg as NodeMessage & Record<string, unknown>;
      out.topic = frame.source;
      out.payload = detectionRecord(frame, res.detections, detector.classNames);
      if (settings.keepFrame) out.frame = frame;
      if (settings.annotate) out.annotated = await annotateImage(frame.image, res.detections, res.width, res.height);
      frames++;
      lastMs = res.ms;
      lastCount = res.detections.length;
      metrics.inferenceLatency(res.ms / 1000);
      job.send(out);
      metrics.recordsOut(1);
      render();
    };

    const pump = (): void => {
      if (running) return;
      const job = queue.shift();
      if (!job) return;
      running = true;
      handle(job)
        .then(job.resolve, (err: unknown) => {
          metrics.rejected(1, errorReason(err));
          job.reject(err);
        })
        .finally(() => {
          release(job.ticket);
          running = false;
          pump();
        });
    };

    onInput(node, (msg: NodeMessageInFlow, send: Send) => {
      const ticket = claim((msg.payload as { ticket?: unknown } | null | undefined)?.ticket);
      metrics.recordsIn(1);
      let frame: FrameRecord;
      try {
        frame = frameOf(msg);
      } catch (err) {
        release(ticket);
        metrics.rejected(1, errorReason(err));
        throw err;
      }
      return new Promise<void>((resolve, reject) => {
        queue.push({ msg, send, frame, ticket, resolve, reject });
        // Latest wins: the oldest waiting frames go (their messages end without error, counted).
        while (queue.length > settings.queue + (running ? 0 : 1)) {
          const old = queue.shift()!;
          drops++;
          metrics.rejected(1, "queue-full");
          release(old.ticket);
          old.resolve();
        }
        pump();
        if (drops > 0) render();
      });
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      closed = true;
      status.stop();
      for (const job of queue.splice(0)) {
        release(job.ticket);
        job.resolve();
      }
      const d = detector;
      detector = undefined;
      (d ? d.close() : Promise.resolve()).then(done, done);
    });
  }

  RED.nodes.registerType("detect", DetectNode);
};
