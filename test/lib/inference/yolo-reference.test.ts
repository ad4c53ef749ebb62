// Our YOLO pipeline (sharp decode + letterbox, onnxruntime-node in a worker, our decoder and NMS) against the
// reference tool (Ultralytics predict with the same ONNX file) on holdout frames of the shipped model.
// Fixtures: test/fixtures/yolo-glass/ (JPEGs, ground-truth.json, reference.json), written by
// models/yolo-glass/reference.py; rerun it whenever models/yolo-glass/model.onnx changes.
//
// Tolerances: the same detections by class, each pair with IoU >= 0.9 and |score difference| <= 0.02.
// Not exact because the pixels fed to the network differ slightly: Ultralytics decodes the JPEG with OpenCV's
// libjpeg and resizes with cv2.INTER_LINEAR, we decode with sharp (libvips/libjpeg-turbo, different IDCT and
// chroma upsampling) and resize with libvips' kernel. Same geometry (letterbox, pad 114), so boxes agree to a
// fraction of a pixel and scores to about 0.01; a real bug (wrong channel order, scale, padding offset, box
// mapping or NMS) moves boxes by pixels and scores by far more. Frames with a score within 0.05 of the
// threshold are not used as fixtures (reference.py), so a box cannot exist on one side only by rounding.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { YoloDetector, type YoloDetection } from "../../../lib/inference/yolo";

const MIN_IOU = 0.9;
const MAX_SCORE_DIFF = 0.02;

interface RefDetection {
  class: string;
  classId: number;
  score: number;
  xyxy: [number, number, number, number];
  xywh: [number, number, number, number];
}
interface RefImage {
  file: string;
  width: number;
  height: number;
  detections: RefDetection[];
}
interface Reference {
  tool: string;
  modelSha256: string;
  imgsz: number;
  conf: number;
  iou: number;
  maxDetections: number;
  classNames: string[];
  images: RefImage[];
}

function root(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
  return dir;
}

type Xyxy = [number, number, number, number];

function iou(a: Xyxy, b: Xyxy): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

const xyxy = (d: YoloDetection): Xyxy => [d.box.x, d.box.y, d.box.x + d.box.w, d.box.y + d.box.h];

interface Pair {
  ref: RefDetection;
  ours: YoloDetection;
  iou: number;
}

/** Greedy per-class matching, highest reference score first, each of ours used once. */
function match(
  ref: RefDetection[],
  ours: YoloDetection[],
): { pairs: Pair[]; refOnly: RefDetection[]; oursOnly: YoloDetection[] } {
  const used = new Set<number>();
  const pairs: Pair[] = [];
  const refOnly: RefDetection[] = [];
  for (const r of [...ref].sort((a, b) => b.score - a.score)) {
    let best = -1;
    let bestIou = 0;
    ours.forEach((o, i) => {
      if (used.has(i) || o.class !== r.class) return;
      const v = iou(r.xyxy, xyxy(o));
      if (v > bestIou) {
        bestIou = v;
        best = i;
      }
    });
    if (best >= 0 && bestIou > 0.3) {
      used.add(best);
      pairs.push({ ref: r, ours: ours[best], iou: bestIou });
    } else refOnly.push(r);
  }
  return { pairs, refOnly, oursOnly: ours.filter((_, i) => !used.has(i)) };
}

const fmt = (d: { class: string; score: number }, box: number[]) =>
  `${d.class} ${d.score.toFixed(3)} [${box.map((v) => v.toFixed(1)).join(", ")}]`;

describe("lib/inference/yolo vs Ultralytics on the shipped model (models/yolo-glass)", function () {
  this.timeout(120_000);
  const dir = path.join(root(), "test", "fixtures", "yolo-glass");
  const modelPath = path.join(root(), "models", "yolo-glass", "model.onnx");
  const ref = JSON.parse(fs.readFileSync(path.join(dir, "reference.json"), "utf8")) as Reference;
  let det: YoloDetector;

  before(async () => {
    det = await YoloDetector.load(modelPath, {
      conf: ref.conf,
      iou: ref.iou,
      maxDetections: ref.maxDetections,
      intraOpThreads: 1,
    });
  });
  after(async () => {
    await det?.close();
  });

  it("the fixtures were made with this model file", () => {
    const sha = crypto.createHash("sha256").update(fs.readFileSync(modelPath)).digest("hex");
    assert.equal(sha, ref.modelSha256, "model.onnx changed: rerun models/yolo-glass/reference.py");
    assert.ok(ref.images.length >= 8, "at least 8 reference frames");
    const total = ref.images.reduce((n, i) => n + i.detections.length, 0);
    assert.ok(total >= 8, `the reference frames hold detections (${total})`);
    const classes = new Set(ref.images.flatMap((i) => i.detections.map((d) => d.class)));
    assert.deepEqual([...classes].sort(), [...ref.classNames].sort(), "every defect class appears");
  });

  it("reads layout, input size and class names from the export", () => {
    assert.equal(det.layout, "v8");
    assert.deepEqual(det.inputSize, { width: ref.imgsz, height: ref.imgsz });
    assert.deepEqual(det.classNames, ref.classNames);
  });

  it(`finds the same detections (IoU >= ${MIN_IOU}, |score diff| <= ${MAX_SCORE_DIFF}) on every frame`, async () => {
    const problems: string[] = [];
    let worstIou = 1;
    let worstScore = 0;
    for (const img of ref.images) {
      const out = await det.detect(fs.readFileSync(path.join(dir, img.file)));
      assert.equal(out.width, img.width, `${img.file} width`);
      assert.equal(out.height, img.height, `${img.file} height`);
      const { pairs, refOnly, oursOnly } = match(img.detections, out.detections);
      for (const r of refOnly) problems.push(`${img.file}: only Ultralytics has ${fmt(r, r.xyxy)}`);
      for (const o of oursOnly) problems.push(`${img.file}: only we have ${fmt(o, xyxy(o))}`);
      for (const p of pairs) {
        const ds = Math.abs(p.ref.score - p.ours.score);
        worstIou = Math.min(worstIou, p.iou);
        worstScore = Math.max(worstScore, ds);
        if (p.iou < MIN_IOU || ds > MAX_SCORE_DIFF || p.ours.classId !== p.ref.classId)
          problems.push(
            `${img.file}: ${fmt(p.ref, p.ref.xyxy)} vs ours ${fmt(p.ours, xyxy(p.ours))}: IoU ${p.iou.toFixed(3)}, ` +
              `score diff ${ds.toFixed(3)}`,
          );
      }
    }
    assert.deepEqual(
      problems,
      [],
      `differences from the reference (worst IoU ${worstIou.toFixed(3)}, worst score diff ${worstScore.toFixed(3)})`,
    );
  });
});
