/**
 * YoloDetector: any Ultralytics ONNX detection export (YOLOv5 / v8 / v11 / end-to-end v10 / YOLO26 or
 * nms=True) on onnxruntime-node in a worker thread (WorkerSession).
 *
 *   detect(jpeg): sharp decodes (libuv pool) -> the worker letterboxes (Ultralytics LetterBox, cv2
 *   INTER_LINEAR arithmetic, pad 114, RGB, /255, NCHW float32) and runs the model -> here: decode by
 *   layout, confidence threshold, class-aware NMS, max detections, boxes back to original pixels.
 *
 * load() checks the model: one float32 image input [1, 3, H, W] (dynamic H/W take metadata `imgsz` or
 * the `imgsz` option), an output of a known layout whose class count matches the class names (options >
 * ONNX metadata `names` > manifest.json next to the model). Anything else is a LineGuardError at load.
 */
import fs from "node:fs";
import path from "node:path";
import { LineGuardError } from "../errors";
import type { IoMeta, ModelInfo } from "./protocol";
import { WorkerSession } from "./worker-session";
import { YoloLayout, decode, detectLayout } from "./yolo/decode";
import { decodeImage } from "./yolo/image";
import { Letterbox, letterbox, unletterbox } from "./yolo/letterbox";
import { parseClassNames, parseFlag, parseImgsz } from "./yolo/metadata";
import { nms } from "./yolo/nms";

export interface YoloOptions {
  /** Confidence threshold (default 0.25): candidates with score > conf are kept. */
  conf?: number;
  /** IoU threshold of the NMS (default 0.45). */
  iou?: number;
  /** At most this many detections per image (default 300). */
  maxDetections?: number;
  /** Class names by class id; overrides the model's metadata and manifest. */
  classNames?: string[];
  /** onnxruntime intra-op threads in the worker (default 1). */
  intraOpThreads?: number;
  /** Input size for models with dynamic height/width and no `imgsz` metadata. */
  imgsz?: number | { width: number; height: number };
}

export interface YoloDetection {
  class: string;
  classId: number;
  score: number;
  /** Original image pixels: top-left corner and size. */
  box: { x: number; y: number; w: number; h: number };
}

export interface YoloResult {
  detections: YoloDetection[];
  /** Size of the original image. */
  width: number;
  height: number;
  /** Wall time of detect() (decode, letterbox, inference, post-processing), ms. */
  ms: number;
}

const isPosInt = (x: unknown): x is number => typeof x === "number" && Number.isInteger(x) && x > 0;
const shapeText = (io: IoMeta): string => `[${(io.shape ?? []).join(", ")}]`;

function num(v: number | undefined, def: number, name: string, min: number, max: number): number {
  const n = v ?? def;
  if (typeof n !== "number" || !Number.isFinite(n) || n < min || n > max) {
    throw new LineGuardError("bad-option", `${name} must be a number from ${min} to ${max}, got ${String(v)}`);
  }
  return n;
}

/** Class names from manifest.json next to the model (`classNames` or `names`), when there is one. */
function manifestNames(modelPath: string): string[] | undefined {
  const file = path.join(path.dirname(modelPath), "manifest.json");
  if (!fs.existsSync(file)) return undefined;
  try {
    const m = JSON.parse(fs.readFileSync(file, "utf8")) as { classNames?: unknown; names?: unknown };
    const names = m.classNames ?? m.names;
    if (Array.isArray(names) && names.every((n) => typeof n === "string")) return names as string[];
  } catch {
    return undefined;
  }
  return undefined;
}

/** The model input size [1, 3, H, W] from the model, its metadata or the option; throws when it does not fit. */
function inputSize(info: ModelInfo, opts: YoloOptions): { width: number; height: number } {
  if (info.inputs.length !== 1) {
    throw new LineGuardError(
      "model-input",
      `a YOLO model has one image input, this one has ${info.inputs.length}: ${info.inputs.map((i) => i.name).join(", ")}`,
    );
  }
  const input = info.inputs[0]!;
  if (input.type !== undefined && input.type !== "float32") {
    throw new LineGuardError(
      "model-input",
      `input "${input.name}" is ${input.type}; only float32 models are supported (export with half=False)`,
    );
  }
  const shape = input.shape;
  if (shape) {
    const [b, c, h, w] = shape;
    const ok = shape.length === 4 && (!isPosInt(b) || b === 1) && (!isPosInt(c) || c === 3);
    if (!ok || (typeof c === "number" && c !== 3)) {
      throw new LineGuardError(
        "model-input",
        `input "${input.name}" has shape ${shapeText(input)}; a YOLO model takes an RGB image [1, 3, height, width]`,
      );
    }
    if (isPosInt(h) && isPosInt(w)) return { width: w, height: h };
    const fromMeta = parseImgsz(info.metadata.imgsz);
    const fromOpt =
      typeof opts.imgsz === "number" ? { width: opts.imgsz, height: opts.imgsz } : (opts.imgsz ?? undefined);
    const size = fromOpt ?? fromMeta;
    if (!size || !isPosInt(size.width) || !isPosInt(size.height)) {
      throw new LineGuardError(
        "model-input",
        `input "${input.name}" has dynamic size ${shapeText(input)} and the model has no imgsz metadata: set the input size`,
      );
    }
    return {
      width: isPosInt(w) ? w : size.width,
      height: isPosInt(h) ? h : size.height,
    };
  }
  const size = parseImgsz(info.metadata.imgsz);
  if (!size) throw new LineGuardError("model-input", "the model does not say its input size: set the input size");
  return size;
}

export class YoloDetector {
  readonly layout: YoloLayout;
  readonly inputSize: { width: number; height: number };
  readonly classNames: string[];
  private readonly conf: number;
  private readonly iou: number;
  private readonly maxDetections: number;
  private readonly inputName: string;
  private readonly outputName: string;

  private constructor(
    private readonly session: WorkerSession,
    info: ModelInfo,
    opts: YoloOptions,
  ) {
    this.conf = num(opts.conf, 0.25, "conf", 0, 1);
    this.iou = num(opts.iou, 0.45, "iou", 0, 1);
    this.maxDetections = Math.floor(num(opts.maxDetections, 300, "maxDetections", 1, 100_000));
    this.inputSize = inputSize(info, opts);
    this.inputName = info.inputs[0]!.name;
    const output = info.outputs[0];
    if (!output) throw new LineGuardError("model-layout", "the model has no output");
    this.outputName = output.name;
    let names = opts.classNames && opts.classNames.length > 0 ? opts.classNames : undefined;
    if (!names && info.metadata.names !== undefined) {
      try {
        names = parseClassNames(info.metadata.names);
      } catch (err) {
        throw new LineGuardError(
          "model-classes",
          `cannot read the class names in the model's metadata: ${String(err)}`,
        );
      }
    }
    names ??= manifestNames(session.modelPath);
    if (info.metadata.task !== undefined && info.metadata.task !== "detect") {
      throw new LineGuardError("model-layout", `the model is a "${info.metadata.task}" model, not a detection model`);
    }
    const shape = output.shape ?? [];
    const lay = detectLayout(shape, this.inputSize, names?.length, parseFlag(info.metadata.end2end));
    this.layout = lay.layout;
    this.classNames = names ?? Array.from({ length: lay.nc ?? 0 }, (_, k) => `class${k}`);
  }

  /** Load a model (worker thread) and check it; throws a LineGuardError when it is not a usable YOLO model. */
  static async load(modelPath: string, opts: YoloOptions = {}): Promise<YoloDetector> {
    const session = new WorkerSession(modelPath, { intraOpThreads: opts.intraOpThreads ?? 1 });
    try {
      const info = await session.load();
      return new YoloDetector(session, info, opts);
    } catch (err) {
      await session.close();
      throw err;
    }
  }

  /** Inference runs in flight (queued in the worker). */
  get busy(): number {
    return this.session.busy;
  }

  /** Detect objects in an encoded image (JPEG, PNG, ...). Bad images: LineGuardError("bad-image"). */
  async detect(image: Buffer): Promise<YoloResult> {
    const t0 = performance.now();
    const img = await decodeImage(image);
    const lb = letterbox(img.width, img.height, this.inputSize.width, this.inputSize.height);
    // A fresh ArrayBuffer of its own, transferred to the worker (sharp's may not be transferable).
    const pixels = new Uint8Array(img.data.length);
    pixels.set(img.data);
    const { outputs } = await this.session.run(
      { [this.inputName]: { type: "uint8", data: pixels, dims: [img.height, img.width, img.channels] } },
      [this.outputName],
      false,
      { kind: "letterbox", input: this.inputName, channels: img.channels, lb },
    );
    const out = outputs[this.outputName];
    if (!out) throw new LineGuardError("inference", `the model returned no "${this.outputName}"`);
    const detections = this.postprocess(out.data as Float32Array, out.dims, lb);
    return { detections, width: img.width, height: img.height, ms: performance.now() - t0 };
  }

  /** Output tensor -> detections in original pixels (public for the benchmark's raw side and tests). */
  postprocess(data: ArrayLike<number>, dims: readonly number[], lb: Letterbox): YoloDetection[] {
    const candidates = decode(this.layout, data, dims, this.conf);
    if (this.layout === "v5" || this.layout === "v8") {
      const nc = this.layout === "v8" ? dims[1]! - 4 : dims[2]! - 5;
      if (this.classNames.length !== nc) {
        throw new LineGuardError("model-classes", `output has ${nc} classes, ${this.classNames.length} names`);
      }
    }
    const kept =
      this.layout === "e2e"
        ? candidates.slice(0, this.maxDetections)
        : nms(candidates, { iou: this.iou, maxDetections: this.maxDetections });
    return kept.map((c) => {
      const [x1, y1, x2, y2] = unletterbox([c.x1, c.y1, c.x2, c.y2], lb);
      return {
        class: this.classNames[c.classId] ?? `class${c.classId}`,
        classId: c.classId,
        score: c.score,
        box: { x: x1, y: y1, w: x2 - x1, h: y2 - y1 },
      };
    });
  }

  close(): Promise<void> {
    return this.session.close();
  }
}
